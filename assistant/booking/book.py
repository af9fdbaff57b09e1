"""Book: hold a chosen slot for a few minutes, then turn the hold into an appointment.

Every start is checked by `assistant.booking.validation` here, whoever calls. The minimum
notice: `book_now` and a `confirm` that has to take the cells afresh check it in full, `hold`
less a hold's length of grace (for a slot offered a moment ago), a `confirm` of a held slot
not again. `book_now` raises `InvalidStart` with the reason; `hold` and `confirm` answer
None, as for a slot that is gone.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, select, update

from assistant import stats
from assistant.booking import occupancy
from assistant.booking.appointments import last_name_key, to_view
from assistant.booking.calendar import busy_for
from assistant.booking.references import new_reference
from assistant.booking.slots import busy_cells, cells, free_counters, later
from assistant.booking.validation import (
    InvalidStart,
    StaffOverride,
    StartProblem,
    lifted,
    problem,
    utc,
    validate_start,
)
from assistant.config import Office, Service
from assistant.outbox import Item, enqueue_all
from assistant.storage.db import insert_rows
from assistant.storage.models import Appointment, Occupancy
from assistant.values import AppointmentView

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from assistant.context import Context
    from assistant.idempotency import Claim

log = logging.getLogger(__name__)
APPOINTMENTS = Appointment.__table__
_HELD_TO_BOOKED = (update(occupancy.CELLS).where(occupancy.C.hold == bindparam("token"))
                   .values(appointment_id=bindparam("appointment"), hold=None, expires_at=None))
_DROP = delete(APPOINTMENTS).where(APPOINTMENTS.c.id == bindparam("id"))
_REFERENCE_USED = select(APPOINTMENTS.c.id).where(
    APPOINTMENTS.c.reference == bindparam("reference"))


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


def check_slot(
    ctx: Context, office: Office, start: datetime, end: datetime, *, now: datetime,
    service: Service | None = None, override: StaffOverride | None = None, notice: bool = True,
    grace: timedelta = timedelta(0),
) -> StartProblem | None:
    """Why [start, end) cannot be booked at `office` (None: it can). Without a `service`, the
    length must be the duration of one the office offers (the chat holds before it confirms)."""
    if service is None:
        s, e = utc(start), utc(end)
        length = e - s if s is not None and e is not None else None
        service = next((x for sid in office.services if (x := ctx.config.service(sid))
                        and timedelta(minutes=x.duration_minutes) == length), None)
        if service is None:
            return problem("duration", f"no service of {office.id} lasts from {start} to {end}")
    return validate_start(ctx, office, service, start, now=now, end=end, override=override,
                          notice=notice, grace=grace)


async def hold(
    ctx: Context, office_id: str, start: datetime, end: datetime, *,
    service_id: str | None = None, override: StaffOverride | None = None,
) -> str | None:
    """Reserve the slot for `hold_minutes`; return the hold token, or None if it is gone or
    is no bookable slot (see `assistant.booking.validation`; `override` for staff only)."""
    office = ctx.config.office(office_id)
    service = ctx.config.service(service_id) if service_id else None
    if office is None or (service_id and service is None):
        return None
    token = secrets.token_urlsafe(16)
    now = ctx.now()
    # A slot offered a moment ago at the edge of the minimum notice stays holdable while the
    # citizen picks it (the hold's own length of grace); never one that is closer than that.
    if found := check_slot(ctx, office, start, end, now=now, service=service,
                           override=override,
                           grace=timedelta(minutes=ctx.config.booking.hold_minutes)):
        log.info("hold refused at %s: %s", office.id, found.code)
        return None
    expires = now + timedelta(minutes=ctx.config.booking.hold_minutes)
    busy = await busy_for(ctx, office, start, end)
    free = free_counters(start, end.astimezone(UTC) - start.astimezone(UTC), office.counters,
                         busy_cells(busy, office.counters))
    async with ctx.db() as session:
        await occupancy.purge_expired_holds(session, office_id, now)
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


async def held_counter(session: AsyncSession, token: str, office_id: str, start: datetime,
                       end: datetime) -> int | None:
    """The counter on which hold `token` keeps exactly [start, end) at the office; None if it
    keeps nothing (purged after expiry). A hold of other cells is released: it must not end
    up under an appointment at another time."""
    held = list(await session.scalars(select(Occupancy).where(Occupancy.hold == token)))
    if not held:
        return None
    if ({h.office_id for h in held} == {office_id} and len({h.counter for h in held}) == 1
            and {h.cell for h in held} == set(cells(start, end))):
        return held[0].counter
    log.warning("hold for other cells than the confirmed slot at %s released", office_id)
    await occupancy.release_hold(session, token)
    return None


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
    override: StaffOverride | None = None,
) -> AppointmentView | None:
    """Create the appointment from a hold. None if the hold expired and the slot was taken,
    or [start, end) is no bookable slot for the service (a staff `override` lifts opening
    hours and closures; it is recorded)."""
    office = ctx.config.office(office_id)
    service = ctx.config.service(service_id)
    if office is None or service is None:
        return None
    now = ctx.now()
    if override is not None and origin.actor != "staff":
        return None
    if found := check_slot(ctx, office, start, end, now=now, service=service, override=override,
                           notice=False):
        log.info("confirm refused at %s: %s", office.id, found.code)
        if token:
            await release(ctx, token)
        return None
    token = token or secrets.token_urlsafe(16)
    need = lifted(ctx, office, service, start, now=now) if override is not None else None
    fields: dict[str, Any] = dict(
        service_id=service.id, office_id=office.id, start=start, end=end, mode=mode,
        video_url=video_url, staff_video_url=staff_video_url,
        override_reason=override.reason.strip() if override and need else None)
    async with ctx.db() as session:
        counter = await held_counter(session, token, office_id, start, end)
        if counter is None:  # hold purged after expiry: try to take the slot afresh
            if check_slot(ctx, office, start, end, now=now, service=service, override=override):
                await session.rollback()
                return None  # too soon now: it is a new booking
            appointment = await _book_free_counter(session, office, fields, now=now,
                                                   citizen=citizen, origin=origin)
        else:
            appointment = await _insert_appointment(session, now, citizen=citizen,
                                                    origin=origin, counter=counter, **fields)
            if appointment is not None:
                await session.execute(_HELD_TO_BOOKED,
                                      {"token": token, "appointment": appointment.id})
        return await _finish(ctx, session, appointment, origin, now, override, need)


async def _book_free_counter(session: AsyncSession, office: Office, fields: dict[str, Any], *,
                             now: datetime, citizen: Citizen, origin: Origin,
                             only: tuple[int, ...] | None = None) -> Appointment | None:
    """Insert the appointment (`fields`: its columns but the counter) on the first counter
    on which its time is free, with its cells (no hold, no second write of them); None if
    every counter (of `only`) is taken. Either stays in the session's transaction."""
    start, end = fields["start"], fields["end"]
    free, expired = await occupancy.look(session, office.id, office.counters, start, end,
                                         now=now, only=only)
    for counter in free:
        appointment = await _insert_appointment(session, now, citizen=citizen, origin=origin,
                                                counter=counter, **fields)
        if appointment is None:
            continue  # PostgreSQL: a booked appointment overlaps on this counter
        if await occupancy.occupy(session, office.id, counter, start, end, now=now,
                                  expired=counter in expired, appointment_id=appointment.id):
            return appointment
        await session.execute(_DROP, {"id": appointment.id})  # a hold has its cells
    return None


async def _finish(ctx: Context, session: AsyncSession, appointment: Appointment | None,
                  origin: Origin, now: datetime, override: StaffOverride | None,
                  need: str | None, claim: Claim | None = None) -> AppointmentView | None:
    """Add the booking's event and outbox items (and the override's audit, and the answer
    for an `Idempotency-Key`) and commit; None, rolled back, without an appointment."""
    if appointment is None:
        await session.rollback()
        return None
    await after_change(ctx, session, appointment, "booked", origin, now)
    if override is not None:
        audit_override(session, appointment, override, origin, now, need)
    view = to_view(appointment)
    if claim is not None:
        await claim.store(session, 201, view.to_api())
    await session.commit()
    ctx.outbox.wake()
    return view


def audit_override(session: AsyncSession, appointment: Appointment, override: StaffOverride,
                   origin: Origin, now: datetime, code: str | None) -> None:
    """Record a staff override that was needed: an event (ids only) and a log line with the
    appointment's id. The reason is free text (it may name the citizen): it is not logged."""
    if code is None:
        return
    stats.record(session, "start_override", now=now, channel=origin.channel,
                 language=origin.language, office_id=appointment.office_id,
                 service_id=appointment.service_id, actor="staff")
    log.warning("staff override (%s) for appointment %s at %s (%d characters of reason)", code,
                appointment.id, appointment.office_id, len(override.reason.strip()))


async def book_now(
    ctx: Context,
    *,
    service_id: str,
    office_id: str,
    start: datetime,
    citizen: Citizen,
    origin: Origin,
    mode: str = "in_person",
    override: StaffOverride | None = None,
    claim: Claim | None = None,
) -> AppointmentView | None:
    """Book in one step and one transaction, without a hold (API, staff, imports and
    tests); None if no counter is free. With a `claim` (an `Idempotency-Key`) the key is
    taken first in that transaction (`Replay` when it was used before) and the answer
    stored with the booking. Raises `InvalidStart` (before writing anything) if
    `start` is no bookable slot; a staff `override` (with a reason, `origin.actor ==
    "staff"`) lifts opening hours, closures and holidays, and is recorded with the
    appointment (`override_reason`) and as an event."""
    office = ctx.config.office(office_id)
    service = ctx.config.service(service_id)
    if office is None:
        raise InvalidStart(problem("unknown_office", f"no office {office_id!r}"))
    if service is None:
        raise InvalidStart(problem("unknown_service", f"no service {service_id!r}"))
    if override is not None and origin.actor != "staff":
        raise InvalidStart(problem("override_not_allowed", "only staff may override"))
    if found := validate_start(ctx, office, service, start, now=ctx.now(), override=override):
        raise InvalidStart(found)
    end = later(start, timedelta(minutes=service.duration_minutes))
    now = ctx.now()
    busy = await busy_for(ctx, office, start, end)
    free = free_counters(start, end.astimezone(UTC) - start.astimezone(UTC), office.counters,
                         busy_cells(busy, office.counters))
    need = lifted(ctx, office, service, start, now=now) if override is not None else None
    # One transaction: the appointment, its cells, its event and outbox items.
    async with ctx.db() as session:
        if claim is not None:
            await claim.take(session)
        appointment = await _book_free_counter(
            session, office, dict(service_id=service.id, office_id=office.id, start=start,
                                  end=end, mode=mode,
                                  override_reason=override.reason.strip() if need else None),
            now=now, citizen=citizen, origin=origin, only=free)
        return await _finish(ctx, session, appointment, origin, now, override, need, claim)


async def _insert_appointment(session: AsyncSession, now: datetime, *, citizen: Citizen,
                              origin: Origin, **fields: object) -> Appointment | None:
    """Insert the booked row under a fresh reference; the row as an object (unattached).

    ON CONFLICT DO NOTHING leaves it out without ending the transaction: on a reference drawn
    before, which is drawn again; on PostgreSQL also when a booked appointment overlaps on
    its counter (the exclusion constraint): then None."""
    values = dict(
        status="booked", channel=origin.channel, sender=origin.sender, language=origin.language,
        citizen_name=citizen.name, name_key=last_name_key(citizen.name), phone=citizen.phone,
        email=citizen.email, created_at=now, updated_at=now, **fields,
    )
    for _ in range(20):
        reference = new_reference()
        found = (await insert_rows(session, APPOINTMENTS, [{"reference": reference, **values}],
                                   skip_conflicts=True, returning=(APPOINTMENTS.c.id,))).scalar()
        if found is not None:
            return Appointment(id=found, reference=reference, **values)
        if await session.scalar(_REFERENCE_USED, {"reference": reference}) is None:
            return None
    raise RuntimeError("could not draw a unique reference")


async def after_change(ctx: Context, session, appointment: Appointment, kind: str,  # type: ignore[no-untyped-def]
                       origin: Origin, now: datetime) -> None:
    """Log the event and queue calendar write, notifications and reminders, in one transaction."""
    await stats.write(session, [stats.event(
        kind, now=now, channel=origin.channel, language=origin.language,
        office_id=appointment.office_id, service_id=appointment.service_id, turns=origin.turns,
        conversation_seconds=origin.seconds, actor=origin.actor,
    )])
    op = {"booked": "create", "rescheduled": "update", "cancelled": "delete"}[kind]
    stamp = now.isoformat()
    items = [
        Item("calendar", {"appointment_id": appointment.id, "op": op},
             key=f"calendar:{appointment.id}:{op}:{stamp}"),
        Item("notify", {"appointment_id": appointment.id, "event": kind},
             key=f"notify:{appointment.id}:{kind}:{stamp}"),
    ]
    if kind != "cancelled":
        for hours in ctx.config.booking.reminder_hours:
            due = appointment.start - timedelta(hours=hours)
            if due > now:
                items.append(Item(
                    "reminder",
                    {"appointment_id": appointment.id, "start": appointment.start.isoformat()},
                    key=f"reminder:{appointment.id}:{hours}:{appointment.start.isoformat()}",
                    due_at=due,
                ))
    await enqueue_all(session, items, now=now)
