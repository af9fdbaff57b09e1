"""Appointment reference codes: six unguessable characters shown as `K7Q-M4P`.

The alphabet leaves out I, O, 0 and 1, which people confuse when reading a code aloud or
typing it from paper. Codes are accepted in any case, with or without the dash.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 6
# What a citizen may type: 3 + 3 characters of the alphabet, any case, optional dash or space.
PATTERN = re.compile(
    r"(?<![A-Za-z0-9])([A-HJ-NP-Za-hj-np-z2-9]{3})[\s-]?([A-HJ-NP-Za-hj-np-z2-9]{3})(?![A-Za-z0-9])"
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
    for m in PATTERN.finditer(text):
        code = (m.group(1) + m.group(2)).upper()
        if _mixed(code):
            return code
    return None


def display(code: str) -> str:
    """`K7QM4P` -> `K7Q-M4P`."""
    return f"{code[:3]}-{code[3:]}"
