"""Appointment reference codes: six unguessable characters shown as `K7Q-M4P`.

The alphabet leaves out I, O, 0 and 1, which people confuse when reading a code aloud or
typing it from paper. Codes are accepted in any case, with or without the dash.
"""

from __future__ import annotations

import itertools
import re
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6
# What a citizen may type: 3 + 3 characters of the alphabet, any case, optional dash or space.
# Whole tokens only: "prüfen W6D-GFM" must not read as FEN-W6D, so any letter (umlauts too)
# next to the code ends the match.
PATTERN = re.compile(
    r"(?<![\w-])([A-HJ-NP-Za-hj-np-z2-9]{3})[\s-]?([A-HJ-NP-Za-hj-np-z2-9]{3})(?![\w-])"
)


def new_reference() -> str:
    """A fresh random code in canonical form (`K7QM4P`); the caller checks uniqueness in the DB.

    Every code mixes letters and digits, so `find` can tell it from ordinary words and numbers.
    """
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        if _mixed(code):
            return code


def _mixed(code: str) -> bool:
    return any(c.isdigit() for c in code) and any(c.isalpha() for c in code)


def normalize(text: str) -> str | None:
    """Canonical form of a code a citizen typed (`k7q-m4p` -> `K7QM4P`), or None."""
    cleaned = re.sub(r"[\s-]", "", text).upper()
    if len(cleaned) == LENGTH and all(c in ALPHABET for c in cleaned):
        return cleaned
    return None


def find(text: str) -> str | None:
    """The first code found inside a sentence, canonical, or None.

    A code mixes letters and digits, so ordinary words ("morgen") and numbers never match.
    """
    for m in re.finditer(r"(?<![\w-])[A-HJ-NP-Za-hj-np-z2-9]{3}-?[A-HJ-NP-Za-hj-np-z2-9]{3}"
                         r"(?![\w-])", text):
        code = m.group().replace("-", "").upper()
        if _mixed(code):
            return code
    # Spelled character by character on the phone ("c z 7 b 6 9", number words already digits)
    for m in re.finditer(r"(?<![\w-])((?:[A-Za-z0-9]\s+){5}[A-Za-z0-9])(?![\w-])", text):
        code = normalize(m.group(1))
        if code and _mixed(code):
            return code
    # Split by a space ("W6D GFM", as read aloud): two 3-character tokens side by side, neither
    # an ordinary word ("die W6D" is not a code).
    tokens = [(m.group(), m.start(), m.end()) for m in re.finditer(r"[\w-]+", text)]
    for (a, _, a_end), (b, b_start, _) in itertools.pairwise(tokens):
        if len(a) == len(b) == 3 and text[a_end:b_start].isspace() and (
                a.casefold() not in _WORDS and b.casefold() not in _WORDS):
            code = normalize(a + b)
            if code and _mixed(code):
                return code
    return None


# Three-letter words that are never half of a code read out with a space.
_WORDS = {
    "die", "der", "das", "den", "dem", "des", "ein", "ist", "und", "mit", "von", "vom", "zum",
    "zur", "für", "bei", "auf", "aus", "hat", "war", "bin", "hab", "nur", "wie", "was", "wer",
    "ich", "sie", "wir", "ihr", "uns", "mir", "dir", "mal", "nun", "nee", "bis", "vor", "ums",
    "the", "and", "for", "you", "are", "can", "not", "but", "has", "her", "his", "its",
    "our", "out", "get", "got", "see", "now", "new", "one", "two", "six", "ten", "yes", "nah",
    "bye", "hey", "who", "why", "how", "off", "per", "via", "ref", "nr.", "nummer", "code",
    "uhr", "tag", "neu", "alt", "gut", "mein", "bitte",
}


def without_code(text: str) -> str:
    """The text with the reference code that `find` sees in it taken out."""
    code = find(text)
    if code is None:
        return text
    pattern = rf"(?<![\w-]){code[:3]}[\s-]?{code[3:]}(?![\w-])"
    return re.sub(pattern, " ", text, count=1, flags=re.I)


def display(code: str) -> str:
    """`K7QM4P` -> `K7Q-M4P`."""
    return f"{code[:3]}-{code[3:]}"
