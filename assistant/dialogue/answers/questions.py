"""Questions beside an answer: about the service, without a question mark, split off."""

from __future__ import annotations

import re

from ._text import _fold
from .commands import _INSULT

_ABOUT_SERVICE = re.compile(
    r"\b(mitbringen|mitnehmen|brauch\w* ich|benötige ich|benoetige ich|foto\w*|passbild\w*|photo\w*"
    r"|picture|kost\w*|gebühr\w*|gebuehr\w*|preis|cost\w*|fee|price|how much|wie ?viel"
    r"|dauer\w*|how long|unterlagen|dokumente?n?|documents?|papers|bring|zugeschickt|per post"
    r"|by post|sent to me|right away|gleich mit)\b")


_ONLY_POLITE = re.compile(r"^\W*(?:(?:danke(?: schön| sehr)?|vielen dank|ok(?:ay)?|gut|alles klar"
                          r"|super|prima|schön|hallo|guten tag|hi|hello|thanks|thank you|great"
                          r"|fine|perfect|perfekt|na gut|achso|ach so)\W*)+$")
_QUESTION_START = re.compile(r"^\W*(?:was|wie|wo|wann|warum|wieso|muss|brauch\w*|kann|können"
                             r"|gibt|habt|haben|hat|ist|sind|what|how|where|when|why|do|does"
                             r"|can|is|are|must)\b", re.I)


_AND_ASKED = re.compile(r"[,\s]+(?:und|and)\s+(?=(?:brauch\w* ich|muss ich|was kostet|wie ?viel"
                       r"|kostet|was muss|gibt es|do i|does it|how much|what does|what do i"
                       r"|is there|do you)\b)", re.I)


_ASKING = re.compile(
    r"^\W*(?:(?:und|and|also|so|ok|okay|achso|ach so|noch was|übrigens|uebrigens|by the way)\W+)?"
    r"(?:(?:was|wie(?!\s+(?:ich\s+)?(?:schon|bereits|gesagt|besprochen|gesagt))|wo|wann|warum"
    r"|wieso|weshalb|welche[nrsm]?|wer|what|how(?! i said)|where|when|why|which|who)\b"
    r"|(?:muss|müsste|kann|könnte|koennte|brauch\w*|gibt|habt|haben|hat|ist|sind|darf"
    r"|soll|geht)\s+(?:ich|man|es|das|ihr|sie|der|die|mein\w*|mer|wir)\b|(?:do|does|did|can"
    r"|could|is|are|must|should|will|would)\s+(?:i|you|we|it|they|she|he|the|my|this|that)\b)",
    re.I)


def looks_like_question(text: str) -> bool:
    """A question typed or spoken without a question mark ("was muss ich alles mitbringen",
    "do i need a photo")."""
    return "?" not in text and len(text.split()) >= 3 and bool(_ASKING.match(text))


def side_question_in(text: str) -> str | None:
    """A question about the service (what to bring, the fee) in a later sentence of a request
    ("… Can we come on Thursday? Also, does she really need a photo"); None."""
    sentences = [s.strip() for s in re.findall(r"[^.!?;]+[.!?;]*", text) if s.strip()]
    for sentence in sentences[1:]:
        asked = sentence if sentence.endswith("?") else sentence.rstrip(".!;") + "?"
        plain = re.sub(r"^\W*(?:also|and|und|außerdem|ausserdem|noch was|by the way|übrigens"
                       r"|uebrigens)\W+", "", asked, flags=re.I)
        if (sentence.endswith("?") or _QUESTION_START.match(plain)) and asks_about_service(asked):
            return plain
    return None


def split_question(text: str) -> tuple[str, str] | None:
    """An answer with a question after it ("08:15, muss ich ein Foto mitbringen?", "Ja, buchen
    Sie bitte. Kann man mit Karte bezahlen?"): (answer, question); None when the message is
    only one of them, or the answer part is only thanks or a greeting."""
    if "?" not in text:
        asked = _AND_ASKED.search(text)  # spoken or typed without "?"
        if asked is None or not text[:asked.start()].strip():
            return None
        return text[:asked.start()].strip(" ,"), text[asked.end():].strip() + "?"
    parts = re.findall(r"[^.!?;]+[.!?;]*", text)
    asked = next((i for i, p in enumerate(parts) if p.rstrip().endswith("?")), None)
    if asked is None:
        return None
    answer, question = "".join(parts[:asked]).strip(), "".join(parts[asked:]).strip()
    if not answer:  # "number 2, and how much does it cost?": a short answer before a comma
        head, comma, tail = question.partition(",")
        if not comma or len(head.split()) > 5 or _QUESTION_START.match(head):
            return None
        answer, question = head.strip(), tail.strip()
    if not answer or not question or _ONLY_POLITE.match(_fold(answer)):
        return None
    return answer, question


def asks_about_service(text: str) -> bool:
    """"Für einen Reisepass. Brauche ich ein neues Foto?": a question about what to bring,
    the fee or how long it takes, asked beside an answer."""
    return "?" in text and bool(_ABOUT_SERVICE.search(_fold(text)))


_CONFUSED = re.compile(
    r"\b(versteh\w* (?:ich )?(?:nicht|nix|kein wort)|ich versteh\w* nicht|was (?:soll|muss) ich"
    r" (?:denn )?(?:da |hier |jetzt )*(?:machen|tun|schreiben|eintippen|eingeben)|keine ahnung"
    r"|zu kompliziert|so kompliziert|ist das kompliziert|i don'?t understand|i do not understand"
    r"|what do you want|what should i (?:do|write|type)|so frustrating|confus\w*"
    r"|too complicated)\b")


def follows_up(text: str) -> bool:
    """"Und Großenhain?", "Und am Samstag danach?", "What about Riesa?": a short question that
    continues the one before."""
    return ("?" in text or not re.search(r"[.!?]", text)) and len(text.split()) <= 12 and bool(
        re.match(r"\W*(?:(?:ok(?:ay)?|gut|alright|all right|na gut|hm+|so|ach so|achso|danke"
                 r"|thanks|thank you)\W+)?"
                 r"(?:und|and|what about|how about|und wie (?:ist es )?mit|und was ist mit"
                 r"|wie sieht'?s (?:mit|in))\b", _fold(text)))


def is_confused(text: str) -> bool:
    """"Hä? Ich versteh nicht, was Sie von mir wollen": a lost citizen, to be offered a way out
    at once (a person, the phone number) rather than the same question again."""
    return bool(_CONFUSED.search(_fold(text)))


def is_insult(text: str) -> bool:
    """An angry or insulting message, to be answered calmly with a way to a person."""
    return bool(_INSULT.search(_fold(text)))
