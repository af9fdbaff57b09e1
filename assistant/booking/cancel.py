"""Cancel: free the counter cells of a verified appointment and mark it cancelled."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.booking import occupancy
from assistant.booking.appointments import to_view
from assistant.booking.book import Origin, after_change
from assistant.storage.models import Appointment
from assistant.values import AppointmentView

if TYPE_CHECKING:
    from assistant.context import Context
    from assistant.idempotency import Claim


async def cancel(ctx: Context, appointment_id: int, origin: Origin,
                 claim: Claim | None = None) -> AppointmentView | None:
    """None when the appointment does not exist or is not booked any more. With a `claim`
    (an `Idempotency-Key`) the key is taken first (`Replay` when it was used before) and
    the answer stored in the same transaction."""
    now = ctx.now()
    async with ctx.db() as session:
        if claim is not None:
            await claim.take(session)
        appointment = await session.get(Appointment, appointment_id, with_for_update=True)
        if appointment is None or appointment.status != "booked":
            return None
        await occupancy.release_appointment(session, appointment.id)
        appointment.status = "cancelled"
        appointment.cancelled_at = appointment.updated_at = now
        await after_change(ctx, session, appointment, "cancelled", origin, now)
        view = to_view(appointment)
        if claim is not None:
            await claim.store(session, 200, view.to_api())
        await session.commit()
    ctx.outbox.wake()
    return view
