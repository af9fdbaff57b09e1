"""Reading appointments (`by_id`, `to_view`) and checking that a citizen may see or change one."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.storage.models import Appointment, VerificationFailure
from assistant.values import AppointmentView

if TYPE_CHECKING:
    from assistant.context import Context

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def fold(text: str) -> str:
    """Case-, umlaut- and accent-insensitive key: `Müller`, `mueller` and `MUELLER` match."""
    text = text.casefold().translate(_FOLD)
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z]", "", "".join(c for c in text if not unicodedata.combining(c)))


def plain(text: str) -> str:
    """Like `fold`, with umlauts typed without their dots: `Kühn` and `Kuhn` match."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("ß", "ss"))
    return re.sub(r"[^a-z]", "", "".join(c for c in text if not unicodedata.combining(c)))


def last_name_key(full_name: str) -> str:
    words = [w for w in re.split(r"[\s,]+", full_name.strip()) if w]
    return fold(words[-1]) if words else ""


def normalize_phone(text: str, region: str = "DE") -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def to_view(a: Appointment) -> AppointmentView:
    return AppointmentView(
        id=a.id,
        reference=a.reference,
        service=a.service_id,
        office=a.office_id,
        start=a.start,
        end=a.end,
        mode=a.mode,
        status=a.status,
        channel=a.channel,
        sender=a.sender,
        language=a.language,
        counter=a.counter,
        citizen_name=a.citizen_name,
        phone=a.phone,
        email=a.email,
        video_url=a.video_url,
        created_at=a.created_at,
        updated_at=a.updated_at,
        override_reason=a.override_reason,
        anonymized=a.anonymized_at is not None,
    )


async def by_id(ctx: Context, appointment_id: int) -> AppointmentView | None:
    """The appointment with this id, whatever its status (None if there is none)."""
    async with ctx.db() as session:
        a = await session.get(Appointment, appointment_id)
        return to_view(a) if a is not None else None


def proof_matches(a: Appointment, proof: str) -> bool:
    """Does `proof` (last name, full name, phone or e-mail given at booking) match?"""
    proof = proof.strip()
    if not proof:
        return False
    if a.email and EMAIL.fullmatch(proof) and proof.casefold() == a.email.casefold():
        return True
    phone = normalize_phone(proof)
    if a.phone and phone and phone == a.phone:
        return True
    if a.name_key:
        key = fold(proof)
        words = proof.replace(",", " ").split()
        # "Bauer Gottfried", "Schulze, Marcel": the last name first, as on forms
        swapped = last_name_key(" ".join(reversed(words))) if len(words) == 2 else None
        if a.name_key in (key, last_name_key(proof), swapped):
            return True
        if a.citizen_name and words:  # "Kuhn" for Kühn, typed without the dots
            typed = {plain(words[-1]), plain(words[0]) if len(words) == 2 else ""}
            return plain(a.citizen_name.split()[-1]) in typed
    return False


async def failures_recent(
    session: AsyncSession, sender_key: str, now: datetime, window_minutes: int
) -> int:
    since = now - timedelta(minutes=window_minutes)
    return int(
        await session.scalar(
            select(func.count()).where(
                VerificationFailure.sender_key == sender_key, VerificationFailure.at >= since
            )
        )
        or 0
    )


async def find_verified(
    session: AsyncSession, reference: str, proof: str | None, verified_contact: str | None
) -> Appointment | None:
    """The appointment if the reference AND a proof of identity match; None otherwise.

    A wrong pair and an unknown reference look the same to the caller on purpose.
    """
    a = await session.scalar(select(Appointment).where(Appointment.reference == reference))
    if a is None or a.anonymized_at is not None:
        return None
    if verified_contact and a.phone and verified_contact == a.phone:
        return a
    if proof and proof_matches(a, proof):
        return a
    return None
