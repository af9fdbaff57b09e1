"""The answer to the contact question: a number, an e-mail, a skip, a willing yes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.booking.appointments import EMAIL, normalize_phone
from assistant.nlu.spoken import normalize_spoken

from ._text import _fold
from .choices import yes_no

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
