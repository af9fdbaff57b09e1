"""Reschedule: move a verified appointment to a held new slot, atomically."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from assistant.booking import occupancy
from assistant.booking.appointments import to_view
from assistant.booking.book import Origin, after_change
from assistant.storage.models import Appointment, Occupancy
from assistant.views import AppointmentView

if TYPE_CHECKING:
    from assistant.context import Context


async def move(
    ctx: Context, appointment_id: int, token: str, start: datetime, end: datetime, origin: Origin,
    office_id: str | None = None,
) -> AppointmentView | None:
    """Swap the appointment's cells for the held ones (at `office_id` when it moves to another
    office); None if the hold is gone and the slot was taken meanwhile, the appointment is no
    longer booked, or the other office does not offer its service."""
    now = ctx.now()
    async with ctx.db() as session:
        appointment = await session.get(Appointment, appointment_id, with_for_update=True)
        if appointment is None or appointment.status != "booked":
            return None
        office = ctx.config.office(office_id or appointment.office_id)
        if office is None or appointment.service_id not in office.services:
            return None
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
        appointment.office_id = office.id
        appointment.updated_at = now
        await after_change(ctx, session, appointment, "rescheduled", origin, now)
        await session.commit()
        view = to_view(appointment)
    if ctx.outbox:
        ctx.outbox.wake()
    return view
