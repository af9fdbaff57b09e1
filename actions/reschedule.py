"""Reschedule: move a verified appointment to a held new slot, atomically."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from actions.book import Origin, after_change
from assistant.booking import occupancy
from assistant.booking.appointments import to_view
from assistant.storage.models import Appointment, Occupancy
from assistant.views import AppointmentView

if TYPE_CHECKING:
    from assistant.context import Context


async def move(
    ctx: Context, appointment_id: int, token: str, start: datetime, end: datetime, origin: Origin
) -> AppointmentView | None:
    """Swap the appointment's cells for the held ones; None if the hold is gone and the slot
    was taken meanwhile, or the appointment is no longer booked."""
    now = ctx.now()
    async with ctx.db() as session:
        appointment = await session.get(Appointment, appointment_id, with_for_update=True)
        if appointment is None or appointment.status != "booked":
            return None
        office = ctx.config.office(appointment.office_id)
        assert office is not None
        held = list(await session.scalars(select(Occupancy).where(Occupancy.hold == token)))
        counter = held[0].counter if held else await occupancy.take(
            session, office.id, office.counters, start, end, now=now, hold=token, expires_at=now
        )
        if counter is None:
            await session.rollback()
            return None
        await occupancy.release_appointment(session, appointment.id)
        await session.execute(
            update(Occupancy).where(Occupancy.hold == token)
            .values(appointment_id=appointment.id, hold=None, expires_at=None)
        )
        appointment.start, appointment.end, appointment.counter = start, end, counter
        appointment.updated_at = now
        await after_change(ctx, session, appointment, "rescheduled", origin, now)
        await session.commit()
        view = to_view(appointment)
    if ctx.outbox:
        ctx.outbox.wake()
    return view
