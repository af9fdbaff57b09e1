"""A person's name in a sentence, in the first message, for a relative, beside a choice."""

from __future__ import annotations

import re
from itertools import pairwise

from ._text import _fold
from .questions import asks_about_service

_BESIDE_CHOICE = re.compile(r"^\W*(?:\d{1,2}(?:[.:]\d{2})?|die \w+|den \w+|nummer \d|number \d)"
                            r"\W+(?:auf|für|fuer|for|unter|name:?)\s+(?:den namen\s+)?"
                            r"(?P<n>[^\W\d_][\w'’-]+\s+[^\W\d_][\w'’-]+)", re.I)


def name_beside_choice(text: str) -> str | None:
    """"2, auf Herbert Lange bitte", "die erste, für Anna Berger": the name the slot is for."""
    m = _BESIDE_CHOICE.search(text)
    return plausible_name(m.group("n")) if m else None


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


# Common first names of the people who write "Frau Kühn Hildegard" (last name first, as on
# forms): only used to tell that order after "Frau"/"Herr" from "Frau Hildegard Kühn".
_FIRST_NAMES = frozenset(re.split(r"\s+", """
    hildegard gertrud erika ursula helga ingrid renate monika brigitte karin christa elfriede
    ilse inge ingeborg gisela waltraud margot anneliese edith irmgard marianne rosemarie
    hannelore sabine petra andrea anna maria elisabeth gerda erna lieselotte christine heike
    barbara angelika doris marion regina birgit susanne martina claudia katrin
    hans klaus peter wolfgang juergen jürgen dieter manfred guenter günter horst gerhard heinz
    werner helmut karl walter siegfried rolf bernd uwe frank thomas michael andreas stefan
    joachim lothar heinrich herbert kurt rudolf gottfried ernst fritz otto paul erich harald
    """.strip()))


def _first_name_first(name: str) -> str:
    """After "Frau"/"Herr": "Kühn Hildegard" (last name first, as on forms) as Hildegard Kühn."""
    words = name.split()
    if len(words) == 2 and words[1].casefold() in _FIRST_NAMES and (
            words[0].casefold() not in _FIRST_NAMES):
        return f"{words[1]} {words[0]}"
    return name


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
                found = _first_name_first(candidate) if re.search(
                    r"\b(?:frau|herr)\s*$", m.group(0), re.I) else candidate
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
