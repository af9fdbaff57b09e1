"""Reading the answer to the question just asked, before any intent is consulted.

People answer a question inside a sentence ("Die Nummer 3 nehme ich, vielen Dank", "Ich heiße
Anna Berger", "ja gern, 0151 1234 5678"), so each pending question has a reader here that
takes what fits out of the text. Pure functions on text, without NLU, so they also work when
Rasa is down and cost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.booking import references
from assistant.booking.appointments import EMAIL, normalize_phone
from assistant.nlu.spoken import normalize_spoken


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold().replace("ß", "ss")).strip()


# -- commands inside a sentence ---------------------------------------------------------------

_ABORT = re.compile(
    r"\b(abbrechen|abbruch|lass(?:en)? (?:wir|mer|mal|sie|es) (?:das|es)(?: (?:sein|bleiben))?"
    r"|lass mal|vergiss es|vergessen sie(?:'s| es| das)|kein(?:en)? termin mehr|will keinen termin"
    r"|möchte keinen termin|doch keinen termin|never ?mind|forget (?:it|about it)|stop it"
    r"|i don'?t want (?:it|this|the appointment|an appointment) any ?more|cancel (?:that|this)"
    r"|nicht mehr buchen|nicht buchen)\b"
)
_ABORT_WEAK = re.compile(r"^(?:ach )?(?:nee|nein|no)?,? ?(?:doch nicht|lieber nicht|stop|stopp)"
                         r"[.! ]*$")
_RESTART = re.compile(r"\b(neu starten|neustart|von vorn(?:e)?|nochmal von vorn|start over"
                      r"|start again|from the beginning)\b")
_HUMAN = re.compile(
    r"\b(mensch(?:en)?|mitarbeiter(?:in|innen)?|sachbearbeiter(?:in)?|jemand(?:em)? (?:vom amt|"
    r"echtes?)|echte[nm]? person|human|real person|a person|someone real|an agent"
    r"|speak to (?:someone|somebody|a person))\b")


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


_WHERE = re.compile(r"(?:^|\b)(wo\b|wohin|adresse|anschrift|where|address|how do i get|wie komme)")


def asks_where(text: str) -> bool:
    """A question where something is ("Wo ist das genau?", "Where can I do that?")."""
    return "?" in text and bool(_WHERE.search(_fold(text)))


_ANY_OFFICE = re.compile(
    r"\b(egal wo|egal in welche\w*|egal welche\w* (?:büro|bürgerbüro|amt|ort|stadt)|überall"
    r"|ueberall|irgendwo|any office|anywhere|any location|doesn'?t matter where|wherever"
    r"|no matter where)\b")


_CORRECTION = re.compile(r"\b(oder nee|oder nein|nee doch|nein doch|doch lieber|doch eher"
                         r"|lieber doch|actually|make it|rather|i mean|ich meine|nee,? doch)\b")


def corrects_itself(text: str) -> bool:
    """"Personalausweis, oder nee, doch Reisepass": the later mention is meant."""
    return bool(_CORRECTION.search(_fold(text)))


def any_office(text: str) -> bool:
    """"egal wo", "any office is fine": the office does not matter, the time does."""
    return bool(_ANY_OFFICE.search(_fold(text)))


def is_insult(text: str) -> bool:
    """An angry or insulting message, to be answered calmly with a way to a person."""
    return bool(_INSULT.search(_fold(text)))


# -- yes / no ---------------------------------------------------------------------------------

_YES = {"ja", "jo", "jop", "jep", "jawohl", "yes", "yeah", "yep", "yup", "ok", "okay", "gern",
        "gerne", "genau", "richtig", "stimmt", "passt", "korrekt", "sicher", "klar", "na klar",
        "freilich", "nu", "sure", "correct", "right", "please", "bitte", "einverstanden",
        "alles richtig", "das passt", "buchen", "bitte buchen", "book it", "perfekt", "prima",
        "super", "gut", "fine", "great", "perfect", "go ahead", "do it", "machen sie", "mach"}
_NO = {"nein", "nee", "ne", "nö", "no", "nope", "nicht", "falsch", "wrong", "not quite"}


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
    if re.search(r"\b(frühere[nmrs]?|fruehere[nmrs]?|früheste[nmrs]?|earlier one|the earlier"
                 r"|earliest|erstbeste[nmrs]?)\b", folded):
        found.add(1)
    if re.search(r"\b(spätere[nmrs]?|spaetere[nmrs]?|later one|the later)\b", folded):
        found.add(count)
    found = {n for n in found if 1 <= n <= count}
    return found.pop() if len(found) == 1 else None


_DAY_WORDS = re.compile(
    r"\b(mo(?:ntag)?|di(?:enstag)?|mi(?:ttwoch)?|do(?:nnerstag)?|fr(?:eitag)?|sa(?:mstag)?"
    r"|so(?:nntag)?|montags?|dienstags?|mittwochs?|donnerstags?|freitags?|samstags?|sonntags?"
    r"|mon(?:day)?|tue(?:sday)?|wed(?:nesday)?|thu(?:rsday)?|fri(?:day)?|sat(?:urday)?"
    r"|sun(?:day)?|heute|morgen|übermorgen|today|tomorrow|woche|week|januar|februar|märz"
    r"|april|mai|juni|juli|august|september|oktober|november|dezember|january|february|march"
    r"|may|june|july|october|december)\b|\d{1,2}\.\s*\d{1,2}\.|\b\d{1,2}\.\s+[a-zä]"
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
    r"|richtige name ist|my name is|name is"
    r"|i am|i'm|this is|it'?s|it is|call me|under the name|should be|richtig wäre|korrekt ist"
    r"|correct is|richtig heißt|richtig heisst|wie (?:ich )?(?:schon|bereits)"
    r" (?:sagte|gesagt)|as i (?:said|told you)|hier ist|hier spricht|sondern"
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
}
_STRICT_NOT_NAME = {"ja", "nein", "yes", "no", "ok", "okay", "bitte", "danke", "hallo", "hello",
                    "termin", "appointment", "name", "please", "thanks", "ich", "the", "und",
                    "and", "mein", "my", "is", "ist", "sie", "you", "wie", "was", "what", "die",
                    "der", "das", "den", "nummer", "number", "option", "bürgerbüro",
                    "buergerbuero", "landratsamt", "rathaus", "amt", "office", "citizens"}
_HONORIFICS = {"frau", "herr", "mr", "mrs", "ms", "miss", "dr", "dr."}
_WORD = re.compile(r"^[^\W\d_][\w'’.-]*$")


def plausible_name(text: str) -> str | None:
    """The text itself as a person's name ("anna berger", "Berger, Anna"), or None for yes/no,
    questions, commands and sentences."""
    text = text.strip().strip(".!;:\"'„“”").strip()
    if not text or "?" in text or "@" in text or any(c.isdigit() for c in text):
        return None
    if "," in text:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if len(parts) == 2 and all(len(p.split()) <= 2 for p in parts):
            text = f"{parts[1]} {parts[0]}"
        else:
            return None
    words = text.split()
    while words and words[0].casefold().rstrip(".") in _HONORIFICS:
        words = words[1:]
    if not 1 <= len(words) <= 4:
        return None
    if any(not _WORD.match(w) for w in words):
        return None
    folded = [w.casefold().strip(".") for w in words]
    titled = len(words) >= 2 and all(w[:1].isupper() and not w.isupper() for w in words)
    if any(f in (_STRICT_NOT_NAME if titled else _NOT_NAME) for f in folded):
        return None  # "Anna Gut" is a name; "gut danke" is not
    if sum(len(w) for w in words) < 2:
        return None
    name = " ".join(words)
    if name.islower() or name.isupper():
        name = " ".join(w[:1].upper() + w[1:].lower() for w in words)
    return name


def name_in_sentence(text: str, whole_text_ok: bool = True) -> str | None:
    """A person's name given in a sentence ("Ich heiße Anna Berger und brauche …",
    "Wie ich schon sagte: Gertrud Schubert."), or the whole text when it is a name."""
    found = None
    text = re.sub(r"\b(?:Dr|Prof|Dipl)\.\s*", "", text)
    for m in _NAME_LEADS.finditer(text):
        rest = text[m.end():]
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
    for part in reversed(re.split(r"[,:;]", text)[1:]):
        words = part.strip().strip(".!").split()
        if 2 <= len(words) <= 4 and all(w[:1].isupper() for w in words):
            return plausible_name(part)
    return None


_FILLER = re.compile(r"^(?:(?:ok(?:ay)?|ja|jo|gut|na gut|also|nu|well|alright|sure|yes|so|"
                     r"klar|gerne?|bitte)[,.!]?\s+)+", re.I)


def name_in_first_message(text: str) -> str | None:
    """Only an explicitly introduced name ("ich heiße …", "my name is …")."""
    if not re.search(r"hei(?:ss|ß)e|mein (?:nach|vor)?name|my (?:last |sur)?name|name is|name ist"
                     r"|auf den namen|unter dem namen|under the name|in the name of|i'm [A-Z]"
                     r"|\bname:?\s+[A-ZÄÖÜ]"
                     r"|hier (?:ist|spricht)|this is [A-Z]", text, re.I):
        return None
    return name_in_sentence(re.sub(r"(?i)\bi'm\b", "I am", text), whole_text_ok=False)


_PROOF_LEADS = re.compile(
    r"(?<!\w)(?:(?:nach)?name(?:n)?\s*(?:ist|lautet|:)?|surname(?:\s*is)?|last name(?:\s*is)?"
    r"|hei(?:ss|ß)e|auf den namen|under|name is)(?!\w)", re.I)


def proof_in_sentence(text: str) -> str | None:
    """A last name given beside a reference ("HYR-RX6 absagen. Schubert.", "name wagner",
    "Krüger ist mein Name"); exactly one candidate, never several guesses."""
    m = re.search(r"([^\W\d_][\w'’-]+)\s+ist mein (?:nach)?name", text, re.I)
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


def proof_beside_code(text: str) -> str | None:
    """The last name given with a reference code: after an explicit lead ("Name Schubert"),
    else the plausible name closest to the code ("Termin K7Q-M4P verschieben, Hartmann. Geht
    statt Coswig auch Radebeul?" -> Hartmann). One candidate, never several guesses."""
    code = references.find(text)
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
    r"\b(ohne|nein|nee|nö|no|nope|nicht nötig|nicht noetig|brauch(?:e)? ich nicht|keine|kein"
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
