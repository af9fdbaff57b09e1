"""Reading the answer to the question just asked, before any intent is consulted.

People answer a question inside a sentence ("Die Nummer 3 nehme ich, vielen Dank", "Ich heiße
Anna Berger", "ja gern, 0151 1234 5678"), so each pending question has a reader here that
takes what fits out of the text. Pure functions on text, without NLU, so they also work when
Rasa is down and cost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from assistant.booking import references
from assistant.booking.appointments import EMAIL, normalize_phone
from assistant.nlu.spoken import normalize_spoken


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold().replace("ß", "ss")).strip()


# -- commands inside a sentence ---------------------------------------------------------------

_ABORT = re.compile(
    r"\b(abbrechen|abbruch|lass(?:en)? (?:wir|mer|mal|sie|es) (?:das|es)(?: (?:sein|bleiben))?"
    r"|vergiss es|vergessen sie(?:'s| es| das)|kein(?:en)? termin mehr|will keinen termin"
    r"|möchte keinen termin|doch keinen termin|never ?mind|forget (?:it|about it)|stop it"
    r"|i don'?t want (?:it|this|the appointment|an appointment) any ?more|cancel (?:that|this)"
    r"|nicht mehr buchen|nicht buchen|abort|don'?t book(?: it| that| this)?|do not book|quit"
    r"|cancel (?:it|everything|the booking)|stop (?:it|this|that|here)"
    r"|brech\w* (?:sie |wir |mer )?(?:das|es|den termin|die buchung|alles)(?: \w+){0,2} ab"
    r"|brech\w* ab)\b"
)
_ABORT_WEAK = re.compile(r"^(?:ach )?(?:nee|nein|no)?,? ?(?:doch nicht|lieber nicht|stop|stopp"
                         r"|lass ma|lass mal)[.! ]*$")
_RESTART = re.compile(r"\b(neu starten|neustart|von vorn(?:e)?|nochmal von vorn|start over"
                      r"|start again|from the beginning)\b")
_HUMAN = re.compile(
    r"\b(mensch(?:en)?|mitarbeiter(?:in|innen)?|sachbearbeiter(?:in)?|jemand(?:em)? (?:vom amt|"
    r"echtes?)|echte[nm]? person|human|real person|a person|someone real|an agent"
    r"|speak to (?:someone|somebody|a person)|verbinden sie mich|connect me"
    r"|ruf\w* (?:ich |sie )?(?:lieber|doch|einfach|direkt|mal|selbst) an"
    r"|(?:lieber|doch|einfach|direkt|selbst) anrufen|call (?:me )?back"
    r"|callback|rückruf|rueckruf|zurückrufen|zurueckrufen"
    r"|ruf\w* (?:sie )?mich (?:zurück|zurueck|an)|call (?:the office|you) instead"
    r"|i'?ll (?:just )?call)\b")
_REPEAT = re.compile(
    r"^\W*(?:(?:entschuldigung|sorry|pardon|bitte|please)\W+)*(?:wie bitte|was haben sie gesagt"
    r"|(?:bitte )?(?:nochmal|noch einmal)(?: bitte)?|können sie das wiederholen|koennen sie das"
    r" wiederholen|wiederholen sie|(?:could|can) you (?:please )?(?:repeat|say) (?:that|it)"
    r"(?: again)?|(?:please )?repeat(?: that| it)?|say (?:that|it) again|what did you say"
    r"|pardon|sorry\?|hä|häh)(?:\W+(?:bitte|please))?\W*$")


def asks_to_repeat(text: str) -> bool:
    """"Wie bitte?", "sorry could you repeat that please": say the question again."""
    return bool(_REPEAT.match(_fold(text)))


_OPENING = re.compile(r"\b(geöffnet|geoeffnet|offen|open|opening|öffnungszeit\w*"
                      r"|oeffnungszeit\w*|geschlossen|closed|schließt|schliesst|close"
                      r"|which offices?|welche[sn]? (?:bürgerbüro|buergerbuero|büro|amt))\b"
                      r"|\bauf\W*$")


def asks_opening_hours(text: str) -> bool:
    """"How long is Riesa open on Tuesday?", "Hat Meißen am Mittwoch auf?"."""
    return "?" in text and bool(_OPENING.search(_fold(text)))


def aborts_strongly(text: str) -> bool:
    """"ach nee, lass ma, ich will doch keinen Termin mehr": the whole task is off, not only
    the question just asked ("nein, lieber nicht" to an optional question is a skip)."""
    return bool(_ABORT.search(_fold(text)))


def command_in_sentence(text: str) -> str | None:
    """`abort`, `restart` or `human` when a sentence asks for it, else None."""
    folded = _fold(text)
    if _RESTART.search(folded):
        return "restart"
    if _ABORT.search(folded) or _ABORT_WEAK.match(folded):
        return "abort"
    if _HUMAN.search(folded):
        return "human"
    return None


_INSULT = re.compile(
    r"\b(blöd\w*|bloed\w*|dumm\w*|doof\w*|scheiß\w*|scheiss\w*|mist\w*|idiot\w*|depp\w*"
    r"|stupid|useless|dumb|idiot|crap|rubbish|verstehst? (?:ja )?(?:gar )?(?:nix|nichts)"
    r"|verstehen mich nicht|versteht mich nicht|you don'?t understand|nutzlos)\b")


_WHERE = re.compile(r"(?:^|\b)(wo\b|wohin|adresse|anschrift|where|address|how do i get|wie komme"
                    r"|parkplatz|parkplätze|parkplaetze|parken|parking|haltestelle)")


def asks_where(text: str) -> bool:
    """A question where something is ("Wo ist das genau?", "Where can I do that?")."""
    return "?" in text and bool(_WHERE.search(_fold(text)))


_ANY_OFFICE = re.compile(
    r"\b(egal wo|egal in welche\w*|egal welche\w* (?:büro|bürgerbüro|amt|ort|stadt)|überall"
    r"|ueberall|irgendwo(?! (?:an|ab|um)?melden| beantragen| hin)|any office|anywhere"
    r"|any location|doesn'?t matter where|wherever"
    r"|no matter where)\b")


_CORRECTION = re.compile(r"\b(oder nee|oder nein|nee doch|nein doch|doch lieber|doch eher"
                         r"|lieber doch|actually|make it|rather|i mean|i meant|ich meine?"
                         r"|ich meinte|meinte ich|ne,? doch|(?:nee|nein|ne),? moment"
                         r"|no,? sorry|nein,? sorry|nee,? sorry|no,? wait|nein,? warte"
                         r"|nee,? doch)\b")


def corrects_itself(text: str) -> bool:
    """"Personalausweis, oder nee, doch Reisepass": the later mention is meant."""
    return bool(_CORRECTION.search(_fold(text)))


def after_correction(text: str) -> str:
    """The part of `text` after its last self-correction ("…, doch lieber den Reisepass, der
    Ausweis ist ja noch gültig" -> "den Reisepass, der Ausweis …"); the text if none."""
    found = list(_CORRECTION.finditer(text.casefold().replace("ß", "ss")))
    return text[found[-1].end():] if found else text


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


_BESIDE_CHOICE = re.compile(r"^\W*(?:\d{1,2}(?:[.:]\d{2})?|die \w+|den \w+|nummer \d|number \d)"
                            r"\W+(?:auf|für|fuer|for|unter|name:?)\s+(?:den namen\s+)?"
                            r"(?P<n>[^\W\d_][\w'’-]+\s+[^\W\d_][\w'’-]+)", re.I)


def name_beside_choice(text: str) -> str | None:
    """"2, auf Herbert Lange bitte", "die erste, für Anna Berger": the name the slot is for."""
    m = _BESIDE_CHOICE.search(text)
    return plausible_name(m.group("n")) if m else None


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


_COUNT = {"ein": 1, "eine": 1, "einen": 1, "einem": 1, "1": 1, "a": 1, "one": 1, "zwei": 2,
          "2": 2, "two": 2, "drei": 3, "3": 3, "three": 3, "vier": 4, "4": 4, "four": 4}
_SHIFT = re.compile(
    r"\b(?:um |by )?(ein|eine|einen|einem|1|a|one|zwei|2|two|drei|3|three|vier|4|four)\s+"
    r"(tag|tage|tagen|day|days|woche|wochen|week|weeks)\s+(?:später|spaeter|nach hinten|weiter"
    r"|danach|later|on|back|verschieben|schieben|verlegen)|\b(?:push|move|put)\b.{0,60}?\bback\s+"
    r"(?:by\s+)?(a|one|two|2|three|3)\s+(day|days|week|weeks)\b")


_RELATIVE_DAY = re.compile(
    r"\b(?:(?:am|den) tag (?P<bef>davor|vorher)"
    r"|(?:einen|1) tag (?P<bef2>vorher|früher|frueher|eher|vorziehen|vorverlegen|zurück)"
    r"|the day before(?! yesterday)|a day (?P<bef3>earlier|before)"
    r"|(?:am|den) tag (?P<aft>danach|darauf)|(?:einen|1) tag (?P<aft2>später|spaeter|danach"
    r"|nach hinten|weiter)"
    r"|the (?:next|following) day|the day after(?! tomorrow)|a day later)\b")


def relative_day(text: str) -> int | None:
    """"am Tag davor" -> -1, "the day after" -> +1 (of the day under discussion); None."""
    m = _RELATIVE_DAY.search(_fold(text))
    if not m:
        return None
    before = m.group("bef") or m.group("bef2") or m.group("bef3") or "day before" in m.group(0)
    return -1 if before else 1


_WEEKDAYS = {"montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4,
             "samstag": 5, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
             "friday": 4, "saturday": 5}
_WEEKDAY_AFTER = re.compile(
    r"\b(?:(?:den|dem|am|auf den) (?P<de>montag|dienstag|mittwoch|donnerstag|freitag|samstag)"
    r" (?:danach|darauf|drauf|dernach|drnach)"
    r"|the (?P<en>monday|tuesday|wednesday|thursday|friday|saturday) (?:after|afterwards|following)"
    r"|the following (?P<en2>monday|tuesday|wednesday|thursday|friday|saturday))\b")


def weekday_after(text: str) -> int | None:
    """"auf den Dienstag danach", "the Tuesday after": that weekday (0 = Monday) after the
    day under discussion; None."""
    m = _WEEKDAY_AFTER.search(_fold(text))
    return _WEEKDAYS[m.group("de") or m.group("en") or m.group("en2")] if m else None


_SAME_AS_BEFORE = {
    "day": re.compile(r"\b(?:am |den )?(?:gleichen|selben|selbigen) tag|\bsame day\b"),
    "office": re.compile(r"\b(?:gleiche[ns]?|selbe[ns]?|same) (?:bürgerbüro|buergerbuero|büro|buero"
                         r"|office|amt|ort|place|location)\b|\bda auch\b|\bthere too\b"),
}


def same_as_before(text: str) -> set[str]:
    """What a second booking takes from the one before: "am gleichen Tag" (day), "same office"
    (office)."""
    folded = _fold(text)
    return {what for what, rx in _SAME_AS_BEFORE.items() if rx.search(folded)}


_CANCELS_IT = re.compile(r"\b(absag\w*|abzusagen|stornier\w*|streich\w*|cancel (?:it"
                         r"|the appointment|my appointment|that appointment|the whole thing))\b")


def cancels_appointment(text: str) -> bool:
    """"lieber ganz absagen", "just cancel it": the appointment itself is to go (not only the
    question under way)."""
    return bool(_CANCELS_IT.search(_fold(text)))


_SHIFT_HOURS = re.compile(
    r"\b(?P<n>eine|einer|ein|1|zwei|2|drei|3|an|one|two|three|a|half an|eine halbe|ne halbe)\s+"
    r"(?P<unit>stunden?|hours?|std\.?)\s+(?P<dir>später|spaeter|früher|frueher|eher|later|earlier"
    r"|sooner|nach hinten|nach vorn)\b")


def shift_minutes(text: str) -> int | None:
    """Minutes to move an appointment on its day: "eine Stunde später" -> 60, "an hour earlier"
    -> -60, "eine halbe Stunde früher" -> -30; None."""
    m = _SHIFT_HOURS.search(_fold(text))
    if not m:
        return None
    n = m.group("n")
    minutes = 30 if "halb" in n or n.startswith("half") else 60 * _COUNT.get(n, 1)
    later = m.group("dir") in {"später", "spaeter", "later", "nach hinten"}
    return minutes if later else -minutes


def shift_in(text: str) -> int | None:
    """Days to move an appointment by: "um eine Woche nach hinten schieben" -> 7, "two days
    later" -> 2; None when the text names no such shift."""
    m = _SHIFT.search(_fold(text))
    if not m:
        return None
    count, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    days = _COUNT.get(count, 1)
    return days * 7 if unit.startswith(("woche", "week")) else days


_MOVE = re.compile(r"\b(verschieb\w*|verleg\w*|umleg\w*|umbuch\w*|reschedul\w*|move it|move the"
                   r"|postpone|push it|change (?:it|the date|the time) to|lieber (?:am|auf)"
                   r"|rather (?:on|to)|instead)\b")


def asks_to_move(text: str) -> bool:
    """"lieber verschieben auf Donnerstag", "can we move it to Friday": a wish to move the
    appointment (at the question whether to cancel it)."""
    return bool(_MOVE.search(_fold(text)))


def any_office(text: str) -> bool:
    """"egal wo", "any office is fine": the office does not matter, the time does."""
    return bool(_ANY_OFFICE.search(_fold(text)))


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


# -- yes / no ---------------------------------------------------------------------------------

_YES = {"ja", "jo", "jop", "jep", "jawohl", "yes", "yeah", "yep", "yup", "ok", "okay", "gern",
        "gerne", "genau", "richtig", "stimmt", "passt", "korrekt", "sicher", "klar", "na klar",
        "freilich", "nu", "sure", "correct", "right", "please", "bitte", "einverstanden",
        "alles richtig", "das passt", "buchen", "bitte buchen", "book it", "perfekt", "prima",
        "super", "gut", "fine", "great", "perfect", "go ahead", "do it", "machen sie", "mach"}
_NO = {"nein", "nee", "ne", "nö", "noe", "no", "nope", "nicht", "falsch", "wrong", "not quite"}


def yes_no(text: str) -> bool | None:
    """True for a yes ("ja, passt so", "yes please"), False for a no, None otherwise."""
    words = re.findall(r"[\wäöüß']+", _fold(text))
    if not words:
        return None
    head = words[0]
    two = " ".join(words[:2])
    if head in _NO or two in _NO:
        return False
    if head in _YES or two in _YES:
        return True
    return None


# -- choosing from a numbered list ------------------------------------------------------------

_ORDINAL_WORDS = {
    1: r"erste[nmrs]?|first|1st", 2: r"zweite[nmrs]?|second|2nd", 3: r"dritte[nmrs]?|third|3rd",
    4: r"vierte[nmrs]?|fourth|4th", 5: r"fünfte[nmrs]?|fuenfte[nmrs]?|fifth|5th",
    6: r"sechste[nmrs]?|sixth|6th",
}
_CARDINAL_WORDS = {1: "eins|(?<!the )one", 2: "zwei|zwo|two", 3: "drei|three", 4: "vier|four",
                   5: "fünf|fuenf|five", 6: "sechs|six"}
_LEAD = (r"(?:nummer|nr\.?|number|no\.?|option|termin|slot|variante|die|den|das|der|dem"
         r"|the|#)")
_MONTHS = (r"\s*(?:januar|februar|märz|april|mai|juni|juli|august|september|oktober|november"
           r"|dezember|january|february|march|may|june|july|october|december|\d)")


def ordinal_choice(text: str, count: int) -> int | None:
    """Which option of `count` a sentence picks: "die Nummer 3 nehme ich", "den dritten",
    "the second one", "2." — None when it names none or several."""
    folded = _fold(text)
    found: set[int] = set()
    for n, words in _ORDINAL_WORDS.items():
        if re.search(rf"\b(?:{words})\b(?!{_MONTHS})", folded):
            found.add(n)
    for n, words in _CARDINAL_WORDS.items():
        if re.search(rf"^(?:{words})[.! ]*$|{_LEAD}\s*(?:{words})\b(?!\s*(?:uhr|o'?clock))",
                     folded):
            found.add(n)
    for m in re.finditer(rf"(?:^|{_LEAD}\s*)([1-9])\b(?:\s*[.)])?", folded):
        if not re.match(r"\s*(?:uhr\b|[:.]\d|h\b|am\b|pm\b|o'?clock)", folded[m.end():]):
            found.add(int(m.group(1)))
    short = re.fullmatch(r"(?:[^\W\d]+[,.!]?\s+){0,3}([1-9])[.!]?", folded)
    if short and not re.search(r"\b(um|at|ab|bis|nach|vor|gegen|after|before)\s+\d", folded):
        found.add(int(short.group(1)))  # "ok dann 2", "nehm ich die 3"
    if re.search(r"\b(letzte[nmrs]?|last one|the last)\b", folded):
        found.add(count)
    if re.search(r"\b(frühere[nmrs]?|fruehere[nmrs]?|früheste[nmrs]?|frueheste[nmrs]?"
                 r"|fruheste[nmrs]?|earlier one|the earlier"
                 r"|earliest|erstbeste[nmrs]?)\b", folded):
        found.add(1)
    if re.search(r"\b(spätere[nmrs]?|spaetere[nmrs]?|later one|the later)\b", folded):
        found.add(count)
    found = {n for n in found if 1 <= n <= count}
    return found.pop() if len(found) == 1 else None


_DAY_WORDS = re.compile(
    r"\b(?:mo|di|mi|fr|sa|sat|sun)(?=\.|\s*\d)"  # "so much", "do you", "let's do 9": no days
    r"|\b(?:do|so)(?=\.|\s*\d{1,2}\.|\s*\d{1,2}\s*uhr)"
    r"|\bam\s+(?:mo|di|mi|do|fr|sa|so)\b|\b(?:mo|di|mi|do|fr|sa)\W*$"
    r"|\b(montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag"
    r"|montags?|dienstags?|mittwochs?|donnerstags?|freitags?|samstags?|sonntags?"
    r"|mon(?:day)?|tue(?:sday)?|wed(?:nesday)?|thu(?:rsday)?|fri(?:day)?|saturday"
    r"|sunday|heute|morgen|übermorgen|today|tomorrow|woche|week|januar|februar|märz"
    r"|april|mai|juni|juli|august|september|oktober|november|dezember|january|february|march"
    r"|may|june|july|october|december)\b|\d{1,2}\.\s*\d{1,2}\.|\b\d{1,2}\.\s+[a-zä]"
    # ordinal days: "am zweiundzwanzigsten", "am 22.", "on the 3rd", "the twenty-second"
    r"|\b(?:am|den|dem)\s+(?!(?:besten|liebsten|meisten|schnellsten|frühesten|fruehesten"
    r"|spätesten|spaetesten|wenigsten|nächsten|naechsten)\b)\w+(?:ten|sten)\b"
    r"|\b(?:am|den)\s+\d{1,2}\.(?!\d)|\b\d{1,2}(?:st|nd|rd|th)\b"
)


def names_a_day(text: str) -> bool:
    """Whether the text names a day ("Freitag", "morgen", "am 3.12."), not only a clock time.
    "Guten Morgen" does not count."""
    folded = re.sub(r"guten morgen|good morning|morgens", "", _fold(text))
    return bool(_DAY_WORDS.search(folded))


# -- names ------------------------------------------------------------------------------------

_NAME_LEADS = re.compile(
    r"(?<!\w)(?:ich hei(?:ss|ß)e|mein (?:nach)?name (?:ist|lautet|wäre|waere)"
    r"|name(?:\s*ist)?\s*:|name ist|auf den namen|für|fuer|es ist|richtig ist"
    r"|(?:schreiben|notieren|tragen)\s+sie(?:\s+bitte)?(?:\s+ein)?"
    r"|put (?:it |me )?(?:down )?(?:under|as)"
    r"|(?:erst )?(?:der|den) vorname(?:n)?(?: ist)?|also(?=\s+(?-i:[A-ZÄÖÜ])\w+\s+(?-i:[A-ZÄÖÜ]))"
    r"|richtige name ist|my name is|name is"
    r"|i am|i'm|this is|it'?s|it is|call me|under the name|should be|richtig wäre|korrekt ist"
    r"|correct is|richtig heißt|richtig heisst|wie (?:ich )?(?:schon|bereits)"
    r" (?:sagte|gesagt)|as i (?:said|told you)|hier (?:ist|is|spricht)(?: der| die)?|sondern"
    r"|(?:ich )?bin(?: die| der| de)?(?:\s+(?:frau|herr))?(?=\s+(?-i:[A-ZÄÖÜ]))"
    r"|name(?=\s+(?-i:[A-ZÄÖÜ])))(?!\w)\s*:?\s*",
    re.I,
)
_NOT_NAME = {
    "ja", "jo", "jep", "nein", "nee", "ne", "yes", "yeah", "yep", "no", "nope", "ok", "okay",
    "bitte", "danke", "gern", "gerne", "termin", "appointment", "hallo", "hi", "hello", "hey",
    "guten", "tag", "morgen", "abend", "ich", "sie", "du", "wir", "mein", "meine", "meinen",
    "my", "the", "a", "an", "und", "and", "oder", "or", "nicht", "not", "kein", "keine", "was",
    "wie", "wo", "wann", "warum", "wieso", "what", "how", "where", "when", "why", "muss",
    "kann", "soll", "habe", "hab", "bin", "ist", "sind", "brauche", "need", "want", "möchte",
    "will", "would", "like", "mit", "with", "für", "for", "ein", "eine", "einen", "das", "der",
    "die", "den", "dem", "zu", "to", "um", "at", "in", "am", "on", "noch", "auch", "so", "da",
    "hier", "foto", "passfoto", "photo", "abbrechen", "zurück", "stop", "cancel", "back",
    "skip", "ohne", "falsch", "richtig", "wrong", "right", "name", "namen", "vorname",
    "nachname", "is", "it", "this", "that", "of", "uhr", "bürgerbüro", "amt", "please",
    "thanks", "thank", "you", "mir", "mich", "dich", "uns", "es", "sorry", "entschuldigung",
    "know", "dont", "don't", "do", "does", "can", "could", "should", "may",
    "bring", "mitbringen", "kostet", "cost", "costs", "fee", "geld", "euro", "dauert", "schon",
    "sagte", "gesagt", "said", "hä", "häh", "hm", "hmm", "äh", "ähm", "nu", "gugge", "genau",
    "sure", "fine", "good", "gut", "alles", "passt", "buchen", "book", "ändern", "change",
    "telefon", "phone", "handy", "nummer", "number", "email", "mail", "adresse", "address",
    "frau", "herr", "mr", "mrs", "ms", "dr", "von", "lieber", "doch", "aber", "but",
    "absagen", "absage", "stornieren", "storno", "verschieben", "verlegen", "prüfen",
    "überprüfen", "ueberpruefen", "pruefen", "nachschauen", "nachsehen", "reschedule",
    "check", "move", "termine", "wahrnehmen", "leider", "nehmen", "mehr", "servus",
    "moin", "vorgangsnummer", "reference", "code", "surname", "kommen", "können",
    "konnte", "gehen", "geht", "mine", "booking",
    "buchung", "status", "still", "wirklich", "really", "jetzt", "now", "bitte.",
    "heute", "today", "tomorrow", "sagen", "ihn", "ab", "weg", "lassen",
    "montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "januar", "februar",
    "märz", "april", "mai", "juni", "juli", "august", "september", "oktober", "november",
    "dezember", "january", "february", "march", "june", "july", "october", "december", "woche",
    "week", "nächste", "naechste", "next", "übermorgen", "vormittag", "nachmittag", "früh",
    "uhrzeit", "zeit", "time", "gleiche", "gleichen", "same",
    # prepositions, particles and verbs that stand beside a code ("termin mmmrz7 auf mittwoch
    # schieben? haase"): never taken for the last name
    "auf", "aus", "bei", "nach", "vor", "über", "ueber", "unter", "durch", "gegen", "statt",
    "bis", "seit", "vom", "zum", "zur", "beim", "im", "ins", "aufs", "schieben", "legen",
    "umlegen", "umbuchen", "machen", "tun", "sein", "haben", "werden", "wäre", "waere",
    "würde", "wuerde", "hätte", "haette", "mal", "ma", "nochmal", "eben", "halt", "denn",
    "dann", "also", "nur", "vielleicht", "eigentlich", "wieder", "einfach", "off", "from",
    "by", "about", "into", "instead", "just", "then", "there", "here", "push", "shift",
    "cancelled", "abgesagt", "storniert", "gebucht", "booked", "verzeihung", "vertippt", "pardon",
    "oops", "hoppla", "korrektur", "übrigens", "uebrigens", "by the way", "btw", "moment",
    "tochter", "sohn", "mutter", "vater", "oma", "opa", "mann", "ehemann", "ehefrau", "schwester",
    "bruder", "enkel", "enkelin", "wife", "husband", "son", "daughter", "mother", "father",
    "steht", "stehen", "gilt", "wegen", "because", "she", "he", "her", "his", "him", "they",
    "we", "er", "ihm",
    "ihr", "come", "comes", "needs", "braucht", "geboren", "geb", "born", "wollte",
    "wissen", "fragen", "frage", "ask", "asking", "wanted", "wollen", "vielen", "dank",
    "herzlichen", "grüße", "gruesse", "liebe", "lieben", "freundliche", "freundlichen",
    "gruss", "gruß", "mfg", "lg",
    "tschüss", "tschuess", "ciao", "oh", "ah", "ach", "löschen", "loeschen", "streichen",
    "delete", "remove", "klar", "natürlich", "natuerlich", "selbstverständlich", "logisch",
    "jawohl", "okidoki",
}
_STRICT_NOT_NAME = {"ja", "nein", "yes", "no", "ok", "okay", "bitte", "danke", "hallo", "hello",
                    "termin", "appointment", "name", "please", "thanks", "ich", "the", "und",
                    "and", "mein", "my", "is", "ist", "sie", "you", "wie", "was", "what", "die",
                    "der", "das", "den", "nummer", "number", "option", "bürgerbüro",
                    "buergerbuero", "landratsamt", "rathaus", "amt", "office", "citizens"}
_HONORIFICS = {"frau", "herr", "mr", "mrs", "ms", "miss", "dr", "dr."}
# Short parts of names that are also everyday words: "Nguyen Van An", "Anna de la Cruz"
_NAME_PARTICLES = {"an", "le", "la", "de", "da", "do", "di", "du", "el", "al", "bin", "ben",
                   "van", "von", "ter", "ten", "mai", "ha", "thi"}
# "Sara Miller without the h", "Hoffmann mit zwei f": how it is spelled, not part of it
_SPELLING_NOTE = re.compile(r"\s+(?:with|without|mit|ohne)\s+(?:(?:the|a|an|dem|einem|einer|zwei"
                            r"|two|double|doppel|doppeltem|nur einem|only one)\s+)?"
                            r"[^\W\d_]{1,2}(?:[\s-]+[^\W\d_]{1,2})*(?:\s+(?:am ende|at the end"
                            r"|hinten|vorne))?\W*$", re.I)
_WORD = re.compile(r"^[^\W\d_][\w'’.-]*$")


def _without_honorific(text: str) -> str:
    words = text.split()
    while words and words[0].casefold().rstrip(".") in _HONORIFICS:
        words = words[1:]
    return " ".join(words)


# Everyday words of messages, kept in lower case when a message written all in lower case is
# read for a name ("ich bin die frau krause, erika"); every other word is taken as a possible
# name there, the way it would have been capitalised.
_COMMON_WORDS = frozenset(re.split(r"\s+", """
    ach also am an auf aus bei beim bis bitte brauch brauche brauchen bräuchte dann darf das dass
    dem den denn der des dich die dies diese diesen doch dort du durch eigentlich ein eine einem
    einen einer eben er erst es etwa euch euer fuer für ganz gar geben gehe gerade gestern gibt
    habe haben hast hat hatte hätte heißt heisst heiße heisse ihr ihre im immer ins ist jemand
    jetzt kann kannst keine keinen kind kindes klar leider lieber liebe machen mache
    man mal meine meinem meinen meiner meines mich mir mit moment muss müsste nach nächste
    nächsten natürlich neu neue neuen nicht nichts noch nun nur ob oder ohne paar sagen sage schon
    sehr sein seine sich sie sind so soll sollte sondern später statt tochter sohn mutter vater
    mann frau oma opa enkel enkelin schwester bruder eltern kinder über um und uns unser unter
    vom von vor wäre war waren was weil weiß wenn wer werde werden wie wieder wir wird wirklich
    wo wohl wollen wollte würde zu zum zur zusammen geschrieben schreibt schreibe buchstaben
    richtig falsch stimmt korrekt termine tschüss tschüs ciao bye danke dank vielen schön prima
    super toll gut okay ok ja nein nee jo hallo hi hey guten morgen tag abend
    a about after all also am an and any are as at be because been but by can could did do does
    for from get got had has have he her here him his how i if in into is it its just me more
    my no not now of on one only or our out please same she should so some than that the their
    them then there they this to too up us was we well were what when where which who will with
    would yes you your son daughter mother father wife husband spelled spelt written correct
    sorry thanks thank hello bye enough old new young weeks week days day years year months month
    time times full last first next other another only also very much many little long short
    need needs want wants give gave go going come coming make made take took know think see
    look say said tell told ask asked work works job live lives living moved move still again
    just really actually maybe perhaps probably already yet soon later earlier today tomorrow
    morning afternoon evening night baby child children kid kids family people person
    office city town home house paper papers form forms card document documents photo picture
    help please thanks okay fine great good bad right wrong sure well able free open closed
    alt neu jung wochen woche tage tagen jahre jahren monate monaten zeit mal voll letzte erste
    nächste andere anderen viel viele wenig kurz will willst kommt komme kommen gehen geht macht
    sagt gesagt wissen weiß glaube denke sehe schaue arbeit wohne wohnt umgezogen papier
    formular karte foto bild hilfe bitte prima per video videotermin videocall online call
    eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf eine zweie dreie viere fünfe
    sechse siebene neune zehne elfe zwölfe viertel dreiviertel halb halbe uhr morgens abends
    vormittags nachmittags mittags früh frueh spät spaet dienstach donnerstach freitach
    dunnerschdaach freidaach montach samstach nu nuja ei verbibbsch
""".strip()))


def _cased(text: str) -> str:
    """A message written all in lower case with its other words capitalised, as names would
    be; any message with a capital letter as it is."""
    if any(c.isupper() for c in text):
        return text
    def capitalised(m: re.Match[str]) -> str:
        word = m.group()
        if word in _COMMON_WORDS or word in _NOT_NAME:
            return word
        return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))
    return re.sub(r"[^\W\d_][\w'’-]*", capitalised, text)


def plausible_name(text: str) -> str | None:
    """The text itself as a person's name ("anna berger", "Berger, Anna"), or None for yes/no,
    questions, commands and sentences."""
    text = text.strip().strip(".!;:\"'„“”").strip()
    if not text or "?" in text or "@" in text or any(c.isdigit() for c in text):
        return None
    if "," in text:
        parts = [_without_honorific(p) for p in text.split(",") if p.strip()]
        if len(parts) == 2 and all(1 <= len(p.split()) <= 2 for p in parts):
            text = f"{parts[1]} {parts[0]}"  # "Krause, Erika", "Frau Krause, Erika"
        else:
            return None
    words = text.split()
    words = [w for i, w in enumerate(words)  # "walter schmidt schmidt mit d t"
             if i == 0 or w.casefold() != words[i - 1].casefold()]
    while words and words[0].casefold().rstrip(".") in _HONORIFICS:
        words = words[1:]
    if not 1 <= len(words) <= 4:
        return None
    if any(not _WORD.match(w) for w in words) or any(
            w.endswith(".") and len(w) > 2 for w in words):  # "Baumann. Lutz Baumann"
        return None
    folded = [w.casefold().strip(".") for w in words]
    titled = len(words) >= 2 and all(w[:1].isupper() and not w.isupper() for w in words)
    particles = len(words) >= 3 and folded[0] not in _NAME_PARTICLES
    if any(f in (_STRICT_NOT_NAME if titled else _NOT_NAME) for i, f in enumerate(folded)
           if not (particles and i and f in _NAME_PARTICLES)):
        return None  # "Anna Gut" is a name; "gut danke" is not
    if sum(len(w) for w in words) < 2:
        return None
    name = " ".join(words)
    if name.islower() or name.isupper():
        return " ".join(w[:1].upper() + w[1:].lower() for w in words)
    # a name read from lower case with some words capitalised: the rest too, but "van", "von"
    return " ".join(w[:1].upper() + w[1:] if w.islower() and (
        i == 0 or w not in {"van", "von", "de", "la", "der", "den", "ter", "ten", "zu"}) else w
        for i, w in enumerate(words))


_SPELLED = re.compile(r"(?:\s+(?:mit|with|wie|like))?(?:\s+[^\W\d_]){2,}\W*$")


_SHOULD_BE_CALLED = re.compile(
    r"\b(?:muss|soll|sollte|müsste|muesste)\s+(?:es|das|der name|er|sie)?\s*"
    r"(?P<n>[^\W\d_][\w'’-]+(?:\s+[^\W\d_][\w'’-]+)?)\s+hei(?:ß|ss)en\b", re.I)


def name_in_sentence(text: str, whole_text_ok: bool = True) -> str | None:
    """A person's name given in a sentence ("Ich heiße Anna Berger und brauche …",
    "Wie ich schon sagte: Gertrud Schubert."), or the whole text when it is a name. Letters
    spelled after it ("ilse kühn k ü h n", "schmidt mit d t") are left out."""
    written, text = text, _cased(text)
    text = _SPELLED.sub("", text) or text
    text = _SPELLING_NOTE.sub("", text) or text
    if (relative := name_for_relative(written)) is not None:
        return relative  # "Auf meinen Vater: Werner Haufe. Ich heiße übrigens Ute …"
    found = None
    text = re.sub(r"\b(?:Dr|Prof|Dipl)\.\s*", "", text)
    should = _SHOULD_BE_CALLED.search(text)
    if should and (named := plausible_name(should.group("n"))):
        return named  # "Es muss Hildegard Kühne heißen"
    for m in _NAME_LEADS.finditer(text):
        rest = text[m.end():]
        # "Name: Schulze, Marcel", "ich bin die Frau Krause, Erika.": last name first
        clause = re.split(r"[.;!?()]|\s[–-]\s", rest, maxsplit=1)[0]
        clause = ",".join(clause.split(",")[:2])  # "Frau Kühn, Hildegard, meine Nummer …"
        if "," in clause and (swapped := plausible_name(clause)):
            found = swapped
            continue
        rest = re.split(r"[,.;!?()]|\s(?:und|and|aus|from|in|und ich|brauche|need|möchte"
                        r"|würde|hätte|would|want|wohne|live)\s", rest, maxsplit=1)[0]
        words = rest.split()
        for n in range(min(4, len(words)), 0, -1):
            candidate = plausible_name(" ".join(words[:n]))
            if candidate:
                found = candidate
                break
    if found:
        return found
    if not whole_text_ok:
        return None
    # "ok, Paul Harris", "Der Termin ist für meine Mutter, Ilse Bauer": the last part of the
    # sentence may be the name on its own.
    stripped = _FILLER.sub("", text.strip())
    whole = plausible_name(stripped)
    if whole:
        return whole
    head = stripped.split(",")[0]
    if "," in stripped and (first := plausible_name(head)) and len(first.split()) >= 2:
        return first  # "Helga Baumann, bitte SMS an ihre Nummer …"
    for part in reversed(re.split(r"[,:;]|[.!?](?:\s|$)", text)[1:]):
        words = part.strip().strip(".!").split()
        if 2 <= len(words) <= 4 and all(w[:1].isupper() for w in words):
            return plausible_name(part)
    return None


_WHOSE_NAME = re.compile(
    r"\b(?:wessen|whose|welche[nr]? name|which name|meine[nr]?|mine|my name|name (?:vom|von der|des"
    r"|der|of the|of my)|kind|kindes|sohn|tochter|enkel\w*|mutter|vater|child|son|daughter|mum"
    r"|mom|dad|father|mother)\b")


def asks_whose_name(text: str) -> bool:
    """A question whose name the booking takes ("Muss da der Name vom Kind rein oder meiner?",
    "my name or my son's?")."""
    folded = _fold(text)
    why = re.search(r"\b(warum|wozu|wieso|why|wofuer)\b", folded)
    return "?" in text and bool(re.search(r"\bnamen?\b", folded)) and bool(
        _WHOSE_NAME.search(folded)) and not why and not asks_about_service(text)


_FILLER = re.compile(r"^(?:(?:ok(?:ay)?|ja|jo|gut|na gut|also|nu|well|alright|sure|yes|so|ach so|"
                     r"klar|gerne?|bitte|dann|na dann|eben|then|in that case|hm+|äh+|ähm|oh"
                     r"|oh sorry|sorry|entschuldigung|pardon|verzeihung|ach|ach so|oops|ups)"
                     r"\s*[,.!:–—-]?\s+)+", re.I)


_RELATIVES = (
    r"mutter|mutti|mama|vater|vati|papa|oma|omi|opa|großmutter|grossmutter|großvater|grossvater"
    r"|tochter|sohn|kind|kinder|mann|ehemann|frau|ehefrau|gattin|gatte|partner|partnerin"
    r"|freundin|freund|schwester|bruder|enkel|enkelin|enkelkind|schwiegermutter|schwiegervater"
    r"|tante|onkel|nachbar|nachbarin|mother|mum|mom|father|dad|son|daughter|husband|wife"
    r"|grandmother|grandma|grandfather|grandpa|grandson|granddaughter|child|kid|brother"
    r"|sister|partner|neighbour|neighbor|friend")
# "für meine Mutter (…), Gerda Lange", "Auf meinen Vater bitte: Werner Haufe", "name of son is
# …", "my wife is called …": the name of the person the appointment is for.
_FOR_RELATIVE = re.compile(
    rf"(?:\b(?:für|fuer|auf|for)\s+(?:meine[nmrs]?|unsere[nmrs]?|die|den|my|our)\s+"
    rf"|\b(?:meine[nmrs]?|my)\s+|\bname\s+(?:of|von)\s+(?:my\s+|meine[mnrs]?\s+)?)"
    rf"(?:{_RELATIVES})\b", re.I)
_RELATIVE_WORD = re.compile(rf"\b(?:{_RELATIVES})\b", re.I)


def for_someone_else(text: str) -> bool:
    """"für meine Mutter", "my wife needs …": the appointment is for another person."""
    return bool(_FOR_RELATIVE.search(text))


def _name_run(text: str, capital: bool = True, at_start: bool = False) -> str | None:
    """The first run of two or three words that make a person's name in `text`, or a
    "Last, First" pair."""
    pair = re.search(r"([^\W\d_][\w'’-]+),\s*([^\W\d_][\w'’-]+)(?=\s*(?:[.,;:–-]|$))", text)
    if pair and (not capital or pair.group(1)[:1].isupper()) and (
            found := plausible_name(f"{pair.group(1)}, {pair.group(2)}")):
        return found
    words = list(re.finditer(r"[^\W\d_][\w'’-]*", text))
    for i in range(min(len(words), 1) if at_start else len(words)):
        for n in (3, 2) if capital else (2,):
            run = words[i:i + n]
            if len(run) < n or any(re.search(r"[.,;:!?]", text[a.end():b.start()])
                                   for a, b in pairwise(run)):
                continue
            if n == 3 and not re.match(r"\s*(?:[.,;:!?–-]|$)", text[run[-1].end():]):
                continue  # three words only where the name ends the clause
            if capital and not all(w.group()[:1].isupper() for w in run):
                continue
            found = plausible_name(" ".join(w.group() for w in run))
            if found and not any(_RELATIVE_WORD.fullmatch(w.group()) for w in run):
                return found
    return None


def name_for_relative(text: str) -> str | None:
    """The name right after the relative it is for ("für meine Mutter …, Gerda Lange")."""
    for m in _FOR_RELATIVE.finditer(text):
        joint = re.match(r"\s*(?:bitte|please)?\s*[:,]?\s*(?:(?:sie|er|she|he)\s+)?"
                         r"(?:(heißt|heisst|is called|is named|named|called|ist|is)\b)?\s*(:)?\s*",
                         text[m.end():], flags=re.I)
        assert joint is not None
        rest = re.split(r"[.!?](?:\s|$)", text[m.end() + joint.end():], maxsplit=1)[0]
        # in lower case only right after "heißt", "is", ":" ("my wife started german" is none)
        said = joint.group(1) or joint.group(2)
        found = _name_run(rest) or (_name_run(rest, capital=False, at_start=True)
                                    if text.islower() and said else None)
        if not found and text.islower():  # "für meine mutter einen termin, gerda lange, sie …"
            apposition = re.search(r",\s*([^\W\d_][\w'’-]+\s+[^\W\d_][\w'’-]+)\s*(?:[,.;]|$)",
                                   rest)
            words = apposition.group(1).split() if apposition else []
            if words and not any(w in _COMMON_WORDS or w in _NOT_NAME for w in words):
                found = plausible_name(apposition.group(1))
        if found:
            return found
    return None


def name_among_facts(text: str) -> str | None:
    """A name given among the facts of a request, with the names of services, offices and
    times already blanked out: "Riesa. Do. Perso. Kunath, Hans-Peter.", "bin der rene wagner",
    "… passport for me Ahmad Haddad", "Beglaubigung Radebeul Mi 10 Uhr Ilona Voigt"."""
    text = _cased(text)
    pair = re.search(r"(?<![\w-])((?-i:[A-ZÄÖÜ])[\w'’-]+),\s*((?-i:[A-ZÄÖÜ])[\w'’-]+)"
                     r"(?=\s*(?:[.,;:–-]|$))", text)
    if pair and not {pair.group(1).casefold(), pair.group(2).casefold()} & _NOT_NAME and (
            found := plausible_name(f"{pair.group(1)}, {pair.group(2)}")):
        return found  # "Kunath, Hans-Peter" (not "Oh, Verzeihung")
    lead = re.search(r"\b(?:ich bin|bin) (?:der|die) |\b(?:for me|für mich|fuer mich),? ", text,
                     re.I)
    if lead and (found := _name_run(text[lead.end():], capital=not text.islower())):
        return found
    tail = re.search(r"((?-i:[A-ZÄÖÜ])[\w'’-]+\s+(?-i:[A-ZÄÖÜ])[\w'’-]+)\W*$", text)
    if tail and not re.search(r"[.,;:!?]", tail.group(1)):
        return plausible_name(tail.group(1))
    return None


def name_in_first_message(text: str) -> str | None:
    """Only an explicitly introduced name ("ich heiße …", "my name is …"), or the name of the
    relative the appointment is for ("für meine Mutter, Gerda Lange")."""
    written, text = text, _cased(text)
    if (relative := name_for_relative(written)) is not None:
        return relative
    here = re.match(r"^\W*(?:(?:ja|hallo|guten tag|tag)\W+)*"
                    r"([^\W\d_][\w'’-]+(?:\s+[^\W\d_][\w'’-]+)?)\s+hier\b", text, re.I)
    if here and (found := plausible_name(here.group(1))):
        return found  # "Pfützner hier.", "ja opitz hier ich wollte …"
    if not re.search(r"hei(?:ss|ß)e|mein (?:nach|vor)?name|my (?:last |sur)?name|name is|name ist"
                     r"|auf den namen|unter dem namen|under the name|in the name of"
                     r"|i'm (?-i:[A-Z])|\bname:?\s+(?-i:[A-ZÄÖÜ])"
                     r"|hier (?:ist|spricht)|this is (?-i:[A-Z])"
                     r"|ich bin (?:die |der )?(?:frau |herr )?"
                     r"(?-i:[A-ZÄÖÜ][a-zäöüß-]+,? [A-ZÄÖÜ][a-zäöüß-]+)", text, re.I):
        return None
    return name_in_sentence(re.sub(r"(?i)\bi'm\b", "I am", text), whole_text_ok=False)


_PROOF_LEADS = re.compile(
    r"(?<!\w)(?:(?:nach)?name(?:n)?\s*(?:ist|lautet|:)?|surname(?:\s*is)?|last name(?:\s*is)?"
    r"|hei(?:ss|ß)e|auf den namen|under|name is|ich bin(?: die| der| de)?(?: frau| herr)?"
    r"|hier (?:ist|spricht)(?: die| der)?(?: frau| herr)?"
    r"|^\W*(?:(?:ja|hallo|guten tag|guten morgen|tag|moin|na)\W+)*hier(?= \w)"
    r"(?! (?:ist|spricht)\b)|(?:mit )?(?:freundlichen|besten|lieben"
    r"|vielen) (?:grüßen|grüssen|gruessen|dank)\W*|(?:viele|liebe|beste) grüße\W*|mfg\W*"
    r"|(?:kind|best|warm) regards\W*|regards\W*)(?!\w)", re.I)


_FORMER_NAME = re.compile(r"[^\W\d_][\w'’-]+\s+(?:ist|war)\s+mein\s+(?:geburts|mädchen|maedchen"
                          r"|früherer?\s+|frueherer?\s+|alter\s+)name|\b(?:maiden|birth|former)"
                          r" name\b[^,.;]*|[^\W\d_][\w'’-]+\s+(?:ist|war|is)\s+(?:meine?|my)\s+"
                          r"(?:schwester|bruder|mann|frau|mutter|vater|tochter|sohn|sister|brother"
                          r"|husband|wife|mother|father|daughter|son)\b", re.I)
# "Ach, Berger natürlich!", "nee, Berger doch": the name the citizen meant all along
_OF_COURSE = re.compile(r"(?:^|\W)(?:ach|oh|nein|nee|sorry|pardon|verzeihung)\W+"
                        r"([^\W\d_][\w'’-]+)\W+(?:natürlich|natuerlich|naturlich|doch|of course)\b",
                        re.I)


def proof_in_sentence(text: str) -> str | None:
    """A last name given beside a reference ("HYR-RX6 absagen. Schubert.", "name wagner",
    "Krüger ist mein Name"); exactly one candidate, never several guesses. A former name
    ("Bergmann ist mein Geburtsname") is none."""
    text = _cased(_SPELLING_NOTE.sub("", text) or text)  # "pohl ohne e am ende"
    text = _FORMER_NAME.sub(" ", text)
    meant = _OF_COURSE.search(text)
    if meant and plausible_name(meant.group(1)):
        return plausible_name(meant.group(1))
    m = re.search(r"([^\W\d_][\w'’-]+)\s+(?:ist mein (?:nach)?name|hei(?:ß|ss)e ich)", text, re.I)
    if m and plausible_name(m.group(1)):
        return plausible_name(m.group(1))
    for lead in _PROOF_LEADS.finditer(text):
        words = re.findall(r"[^\W\d_][\w'’-]*", text[lead.end():])
        if words and plausible_name(words[0]):
            return plausible_name(words[0])
    words = re.findall(r"[^\W\d_][\w'’-]*", text)
    candidates = [w for w in words if plausible_name(w) and len(w) > 2]
    capital = [w for w in candidates if w[:1].isupper()]
    if capital:
        # German capitalises nouns: prefer the last capitalised word that is not the first.
        later = [w for w in capital if text.find(w) > 0]
        return plausible_name((later or capital)[-1])
    return plausible_name(candidates[-1]) if candidates else None


def _sentences_alone(text: str) -> list[str]:
    """Sentences of one or two words that are no question and hold no code."""
    return [m.group(1) for m in re.finditer(r"([^.!?;]+)([.!?;]|$)", text)
            if m.group(2) != "?" and 1 <= len(m.group(1).split()) <= 2
            and references.find(m.group(1)) is None]


def _name_alone(part: str) -> str | None:
    """A sentence that is only a name ("Lindner.", "Herr Zimmermann"), not "Guten Morgen!"."""
    part = _without_honorific(part.strip())
    if not part or any(w.casefold().strip(",") in _NOT_NAME for w in part.split()):
        return None
    return plausible_name(part)


_END_NAME = re.compile(r"[,.;:!?]\s*((?-i:[A-ZÄÖÜ])[\w'’-]+(?:\s+(?-i:[A-ZÄÖÜ])[\w'’-]+)?)\W*$")


def _name_at_end(text: str) -> str | None:
    """A name of one or two capitalised words closing the message after a comma or stop."""
    tail = _END_NAME.search(text)
    return _name_alone(tail.group(1)) if tail else None


def proof_stated(text: str) -> bool:
    """Whether the last name beside a code was said as such ("Name Schubert", "ich heiße …",
    a sentence that is only the name, "Mit freundlichen Grüßen, Gertrud Schubert") rather
    than guessed from the words around the code."""
    code = references.find(text)
    if code is None:
        return False
    alone = [part for part in _sentences_alone(text) if _name_alone(part)]
    if _name_at_end(text):
        return True  # "… bitte auf Montag um 10 verlegen, Berger"
    return len(alone) == 1 or _explicit_proof(references.without_code(text)) is not None


def proof_beside_code(text: str) -> str | None:
    """The last name given with a reference code: after an explicit lead ("Name Schubert"),
    else the plausible name closest to the code ("Termin K7Q-M4P verschieben, Hartmann. Geht
    statt Coswig auch Radebeul?" -> Hartmann). One candidate, never several guesses."""
    text = _cased(text)
    code = references.find(text)
    if code is not None and (found := _name_at_end(text)):
        return found.split()[-1]  # "… bitte auf Montag um 10 verlegen, Berger"
    alone = [found for part in _sentences_alone(text) if (found := _name_alone(part))]
    if len(alone) == 1 and code is not None:
        return alone[0].split()[-1]  # "Ich will den Termin EAQ-XR7 LÖSCHEN. Lindner."
    if code is None:
        return proof_in_sentence(text)
    m = re.search(rf"(?<![\w-]){code[:3]}[\s-]?{code[3:]}(?![\w-])", text, re.I)
    rest = references.without_code(text)
    lead = _explicit_proof(rest)
    if lead or m is None:
        return lead or proof_in_sentence(rest)
    # Runs of name-like words; capitalised ones first where the text has capitals at all
    # (German writes verbs small: "DDK 4SN noch steht. Hoffmann."), then the closest run.
    runs: list[tuple[int, int, list[str]]] = []
    for w in re.finditer(r"[^\W\d_][\w'’-]*", text):
        if m.start() <= w.start() < m.end() or len(w.group()) < 2 or (
                plausible_name(w.group()) is None):
            if runs and runs[-1][2]:
                runs.append((0, 0, []))
            continue
        if runs and runs[-1][2] and re.fullmatch(r"\s+", text[runs[-1][1]:w.start()]) and (
                runs[-1][2][-1][:1].isupper() == w.group()[:1].isupper()):
            start, _, words = runs[-1]
            runs[-1] = (start, w.end(), [*words, w.group()])
        else:
            runs.append((w.start(), w.end(), [w.group()]))
    runs = [r for r in runs if r[2] and len(r[2][-1]) >= 3]
    if any(c.isupper() for c in text.replace(m.group(), "")):
        capital = [r for r in runs if r[2][-1][:1].isupper()]
        runs = capital or runs

    def distance(run: tuple[int, int, list[str]]) -> int:
        start, end, _ = run
        return m.start() - end if end <= m.start() else start - m.end() - 1

    best = min(runs, key=distance, default=None)
    return plausible_name(" ".join(best[2])) if best else None


def _explicit_proof(text: str) -> str | None:
    m = re.search(r"([^\W\d_][\w'’-]+)\s+ist mein (?:nach)?name", text, re.I)
    if m and plausible_name(m.group(1)):
        return plausible_name(m.group(1))
    for lead in _PROOF_LEADS.finditer(text):
        clause = re.split(r"[.,;:!?()]|\s(?:und|and|aber|but)\s", text[lead.end():], maxsplit=1)[0]
        words = re.findall(r"[^\W\d_][\w'’-]*", clause)
        for n in (3, 2, 1):  # "heiße uwe schreiber": the full name, matched by its last name
            if len(words) >= n and plausible_name(" ".join(words[:n])):
                return plausible_name(" ".join(words[:n]))
    return None


# -- contact ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ContactAnswer:
    phone: str | None = None
    email: str | None = None
    skip: bool = False
    willing: bool = False  # "ja gern" without the number yet


_SKIP = re.compile(
    r"\b(ohne|nein|nee|nö|noe|no|nope|nicht nötig|nicht noetig|brauch(?:e)? ich nicht|keine|kein"
    r"|nischt|brauch\w* (?:ich |mer )?ni|brauchen sie nicht|eine telefonnummer brauchen sie nicht"
    r"|weglassen|lassen wir weg|lass(?:en sie)? das weg|kein bedarf|not necessary|leave it out"
    r"|überspringen|ueberspringen|skip|lieber nicht|not needed|no need|none|don'?t|möchte ich"
    r" nicht|will ich nicht|weiter|next|nichts)\b")


def contact_answer(text: str, lang: str | None = None) -> ContactAnswer | None:
    """A phone number (also in words, "null eins fünf eins …"), an e-mail address, a skip
    ("ohne", "nein danke") or a willing yes without the number ("ja gern")."""
    email = EMAIL.search(text)
    if email:
        return ContactAnswer(email=email.group(0).lower())
    spoken = normalize_spoken(text, lang)
    for candidate in re.findall(r"\+?\d[\d\s/()-]{4,}\d", spoken):
        phone = normalize_phone(candidate)
        if phone:
            return ContactAnswer(phone=phone)
    digits = re.sub(r"\D", "", spoken)
    if len(digits) >= 7:
        phone = normalize_phone(("+" if spoken.lstrip().startswith("+") else "") + digits)
        if phone:
            return ContactAnswer(phone=phone)
        return None  # digits, but not a valid number: ask again
    folded = _fold(text)
    if _SKIP.search(folded):
        return ContactAnswer(skip=True)
    if yes_no(text) is True or re.search(r"\b(handy|telefon|phone|mobil|sms|e-?mail|mail)\b",
                                         folded):
        return ContactAnswer(willing=True)
    return None
