"""Check: find an appointment by reference plus proof of identity, throttling guessers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant import stats
from assistant.booking.appointments import failures_recent, find_verified, to_view
from assistant.storage.models import VerificationFailure
from assistant.views import AppointmentView

if TYPE_CHECKING:
    from assistant.booking.book import Origin
    from assistant.context import Context


@dataclass(frozen=True)
class Lookup:
    appointment: AppointmentView | None
    throttled: bool = False


async def lookup(
    ctx: Context,
    reference: str,
    proof: str | None,
    origin: Origin,
    verified_contact: str | None = None,
    log_check: bool = False,
) -> Lookup:
    """The appointment when reference and proof match. Failures count per sender; past the
    configured limit every attempt is refused for a while, right or wrong."""
    now = ctx.now()
    cfg = ctx.config.booking
    sender_key = f"{origin.channel}:{origin.sender}"
    async with ctx.db() as session:
        if await failures_recent(session, sender_key, now, cfg.verification_window_minutes) >= (
            cfg.max_verification_failures
        ):
            return Lookup(None, throttled=True)
        found = await find_verified(session, reference, proof, verified_contact)
        if found is None:
            session.add(VerificationFailure(sender_key=sender_key, at=now))
        elif log_check:
            stats.record(session, "checked", now=now, channel=origin.channel,
                         language=origin.language, office_id=found.office_id,
                         service_id=found.service_id, turns=origin.turns,
                         conversation_seconds=origin.seconds, actor=origin.actor)
        await session.commit()
        return Lookup(to_view(found) if found else None)
