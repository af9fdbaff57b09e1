"""Reschedule: move a verified appointment to a held new slot, atomically.

The new start is checked like every start (`assistant.booking.validation`): the minimum
notice when the hold was taken (or here, if the hold is gone and the cells are taken afresh),
the rest here.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import update

from assistant.booking import occupancy
from assistant.booking.appointments import to_view
from assistant.booking.book import Origin, after_change, audit_override, check_slot, held_counter
from assistant.booking.closures import closed_intervals
from assistant.booking.slots import busy_cells, free_counters
from assistant.booking.validation import StaffOverride, lifted
from assistant.storage.models import Appointment, Occupancy
from assistant.values import AppointmentView

if TYPE_CHECKING:
    from assistant.context import Context

log = logging.getLogger(__name__)


async def move(
    ctx: Context, appointment_id: int, token: str, start: datetime, end: datetime, origin: Origin,
    office_id: str | None = None, *, override: StaffOverride | None = None,
) -> AppointmentView | None:
    """Swap the appointment's cells for the held ones (at `office_id` when it moves to another
    office); None if the hold is gone and the slot was taken meanwhile, the appointment is no
    longer booked, the other office does not offer its service, or [start, end) is no
    bookable slot for its service (a staff `override` lifts hours and closures; recorded as an
    event and, with its reason, with the appointment)."""
    now = ctx.now()
    if override is not None and origin.actor != "staff":
        return None
    token = token or secrets.token_urlsafe(16)
    async with ctx.db() as session:
        appointment = await session.get(Appointment, appointment_id, with_for_update=True)
        if appointment is None or appointment.status != "booked":
            return None
        office = ctx.config.office(office_id or appointment.office_id)
        service = ctx.config.service(appointment.service_id)
        if office is None or service is None or service.id not in office.services:
            return None
        counter = await held_counter(session, token, office.id, start, end)
        # A held slot had its notice checked when it was held; cells taken afresh need it.
        if found := check_slot(ctx, office, start, end, now=now, service=service,
                               override=override, notice=counter is None):
            log.info("move refused at %s: %s", office.id, found.code)
            await session.rollback()
            return None
        if counter is None:  # not held: the closures entered by staff apply here
            busy = await closed_intervals(session, office.id, start, end)
            free = free_counters(start, end.astimezone(UTC) - start.astimezone(UTC),
                                 office.counters, busy_cells(busy, office.counters))
            counter = await occupancy.take(session, office.id, office.counters, start, end,
                                           now=now, hold=token, expires_at=now, only=free)
        if counter is None:
            await session.rollback()
            return None
        await occupancy.release_appointment(session, appointment.id)
        await session.execute(
            update(Occupancy).where(Occupancy.hold == token)
            .values(appointment_id=appointment.id, hold=None, expires_at=None)
        )
        need = lifted(ctx, office, service, start, now=now) if override is not None else None
        appointment.start, appointment.end, appointment.counter = start, end, counter
        appointment.office_id = office.id
        appointment.updated_at = now
        # The reason belongs to the time outside the hours: a move into them drops it.
        appointment.override_reason = override.reason.strip() if override and need else None
        await after_change(ctx, session, appointment, "rescheduled", origin, now)
        if override is not None:
            audit_override(session, appointment, override, origin, now, need)
        await session.commit()
        view = to_view(appointment)
    ctx.outbox.wake()
    return view
