"""The last name (or contact) given beside a reference code as proof."""

from __future__ import annotations

import re

from assistant.booking import references

from .names import _NOT_NAME, _SPELLING_NOTE, _cased, _without_honorific, plausible_name

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
