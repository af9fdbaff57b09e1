"""Yes or no, a choice from a numbered list, whether a day is named."""

from __future__ import annotations

import re

from ._text import _fold

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
