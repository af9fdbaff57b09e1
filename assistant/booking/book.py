"""Book: hold a chosen slot for a few minutes, then turn the hold into an appointment."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from assistant import stats
from assistant.booking import occupancy
from assistant.booking.appointments import last_name_key, to_view
from assistant.booking.calendar import busy_for
from assistant.booking.references import new_reference
from assistant.booking.slots import busy_cells, free_counters
from assistant.outbox import enqueue
from assistant.storage.models import Appointment, Occupancy
from assistant.views import AppointmentView

if TYPE_CHECKING:
    from assistant.context import Context


@dataclass(frozen=True)
class Citizen:
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for reminders and the statistics."""

    channel: str
    sender: str | None
    language: str
    turns: int | None = None
    seconds: int | None = None
    actor: str = "citizen"


async def hold(ctx: Context, office_id: str, start: datetime, end: datetime) -> str | None:
    """Reserve the slot for `hold_minutes`; return the hold token, or None if it is gone."""
    office = ctx.config.office(office_id)
    if office is None:
        return None
    token = secrets.token_urlsafe(16)
    now = ctx.now()
    expires = now + timedelta(minutes=ctx.config.booking.hold_minutes)
    busy = await busy_for(ctx, office, start, end)
    free = free_counters(start, end - start, office.counters, busy_cells(busy, office.counters))
    async with ctx.db() as session:
        counter = await occupancy.take(
            session, office_id, office.counters, start, end,
            now=now, hold=token, expires_at=expires, only=free,
        )
        await session.commit()
    return token if counter is not None else None


async def release(ctx: Context, token: str) -> None:
    async with ctx.db() as session:
        await occupancy.release_hold(session, token)
        await session.commit()


async def confirm(
    ctx: Context,
    token: str,
    *,
    service_id: str,
    office_id: str,
    start: datetime,
    end: datetime,
    citizen: Citizen,
    origin: Origin,
    mode: str = "in_person",
    video_url: str | None = None,
    staff_video_url: str | None = None,
) -> AppointmentView | None:
    """Create the appointment from a hold. None if the hold expired and the slot was taken."""
    office = ctx.config.office(office_id)
    assert office is not None
    now = ctx.now()
    async with ctx.db() as session:
        held = list(await session.scalars(select(Occupancy).where(Occupancy.hold == token)))
        counter = held[0].counter if held else None
        if counter is None:  # hold purged after expiry: try to take the slot afresh
            counter = await occupancy.take(session, office_id, office.counters, start, end,
                                           now=now, hold=token, expires_at=now)
            if counter is None:
                await session.rollback()
                return None
        appointment = await _insert_appointment(
            session, now, service_id=service_id, office_id=office_id, start=start, end=end,
            counter=counter, citizen=citizen, origin=origin, mode=mode, video_url=video_url,
            staff_video_url=staff_video_url,
        )
        await session.execute(
            update(Occupancy)
            .where(Occupancy.hold == token)
            .values(appointment_id=appointment.id, hold=None, expires_at=None)
        )
        await after_change(ctx, session, appointment, "booked", origin, now)
        await session.commit()
        view = to_view(appointment)
    if ctx.outbox:
        ctx.outbox.wake()
    return view


async def book_now(
    ctx: Context,
    *,
    service_id: str,
    office_id: str,
    start: datetime,
    citizen: Citizen,
    origin: Origin,
    mode: str = "in_person",
) -> AppointmentView | None:
    """Hold and confirm in one step (API, staff and tests); None if no counter is free."""
    service = ctx.config.service(service_id)
    assert service is not None
    end = start + timedelta(minutes=service.duration_minutes)
    token = await hold(ctx, office_id, start, end)
    if token is None:
        return None
    return await confirm(ctx, token, service_id=service_id, office_id=office_id, start=start,
                         end=end, citizen=citizen, origin=origin, mode=mode)


async def _insert_appointment(session, now: datetime, *, citizen: Citizen, origin: Origin,  # type: ignore[no-untyped-def]
                              **fields) -> Appointment:
    for _ in range(20):
        appointment = Appointment(
            reference=new_reference(), status="booked", channel=origin.channel,
            sender=origin.sender, language=origin.language, citizen_name=citizen.name,
            name_key=last_name_key(citizen.name), phone=citizen.phone, email=citizen.email,
            created_at=now, updated_at=now, **fields,
        )
        try:
            async with session.begin_nested():
                session.add(appointment)
                await session.flush()
        except IntegrityError:
            continue  # reference collision: draw again
        return appointment
    raise RuntimeError("could not draw a unique reference")


async def after_change(ctx: Context, session, appointment: Appointment, kind: str,  # type: ignore[no-untyped-def]
                       origin: Origin, now: datetime) -> None:
    """Log the event and queue calendar write, notifications and reminders, in one transaction."""
    stats.record(
        session, kind, now=now, channel=origin.channel, language=origin.language,
        office_id=appointment.office_id, service_id=appointment.service_id, turns=origin.turns,
        conversation_seconds=origin.seconds, actor=origin.actor,
    )
    op = {"booked": "create", "rescheduled": "update", "cancelled": "delete"}[kind]
    stamp = now.isoformat()
    await enqueue(session, "calendar", {"appointment_id": appointment.id, "op": op},
                  key=f"calendar:{appointment.id}:{op}:{stamp}", now=now)
    await enqueue(session, "notify", {"appointment_id": appointment.id, "event": kind},
                  key=f"notify:{appointment.id}:{kind}:{stamp}", now=now)
    if kind != "cancelled":
        for hours in ctx.config.booking.reminder_hours:
            due = appointment.start - timedelta(hours=hours)
            if due > now:
                await enqueue(
                    session, "reminder",
                    {"appointment_id": appointment.id, "start": appointment.start.isoformat()},
                    key=f"reminder:{appointment.id}:{hours}:{appointment.start.isoformat()}",
                    now=now, due_at=due,
                )
