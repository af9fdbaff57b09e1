"""One validation of an appointment's start, for every way in (chat, API, back office,
calendar import, the appointment page, later the waiting list).

A start is bookable when it is a slot the slot search could offer: on the office's grid,
inside the opening hours for the service's whole duration, not on a closure or public
holiday, not in the past, at least `min_notice_minutes` ahead and at most `horizon_days`.
The checks reuse `assistant.booking.slots` (the grid, hours, closures, holidays, notice and
horizon of the slot search), so what the chat offers and what is accepted cannot disagree.
The duration always comes from the service.

A `StaffOverride` (an explicit staff decision with a reason, e.g. an extra evening
appointment) lifts only the opening hours, closures and holidays; a start in the past, too
soon, beyond the horizon or off the grid stays refused, and the counter cells still guard
against any overlap. The booking services record each override that was needed as an event.

The booking services (`book.hold`, `book.confirm`, `book.book_now`, `reschedule.move`) call
this themselves, so no entry point can skip it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from assistant.booking.slots import (
    booking_window,
    closed_day,
    day_starts,
    holiday_name,
    opening_ranges,
)
from assistant.config import BookingCfg, Office, Service

if TYPE_CHECKING:
    from assistant.context import Context

# Problems a staff override lifts; every other one stays.
OVERRIDABLE = frozenset({"closed", "closure", "holiday"})

# Every code with its default field; the API answers with them (see assistant/http/openapi.py).
CODES: dict[str, str] = {
    "unknown_office": "office",
    "unknown_service": "service",
    "service_not_offered": "service",
    "no_timezone": "start",
    "past": "start",
    "too_soon": "start",
    "beyond_horizon": "start",
    "duration": "end",
    "off_grid": "start",
    "closure": "start",
    "holiday": "start",
    "closed": "start",
    "override_reason": "override.reason",
    "override_not_allowed": "override",
}


@dataclass(frozen=True)
class StaffOverride:
    """Staff book outside the opening hours or on a closed day, on purpose; `reason` says why
    (required, audited). Never lifts past/notice/horizon/grid, never allows an overlap."""

    reason: str


@dataclass(frozen=True)
class StartProblem:
    code: str  # one of CODES
    message: str  # for staff and logs, English

    @property
    def field(self) -> str:
        return CODES.get(self.code, "start")


class InvalidStart(ValueError):
    """A start that must not be booked; raised by the services that report why."""

    def __init__(self, problem: StartProblem) -> None:
        super().__init__(f"{problem.code}: {problem.message}")
        self.problem = problem

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def message(self) -> str:
        return self.problem.message

    @property
    def field(self) -> str:
        return self.problem.field


def problem(code: str, message: str) -> StartProblem:
    assert code in CODES, code
    return StartProblem(code, message)


def utc(t: datetime) -> datetime | None:
    """`t` in UTC; None when `t` is naive or UTC falls outside the years datetime can hold
    (0001-01-01 at 00:30+01:00, 9999-12-31 at 23:30-01:00)."""
    if t.tzinfo is None or t.utcoffset() is None:
        return None
    try:
        return t.astimezone(UTC)
    except OverflowError:
        return None


def on_grid(office: Office, booking: BookingCfg, start: datetime) -> bool:
    """Is `start` (aware) on the office's grid: whole minutes, `slot_step_minutes` apart
    from the opening of the range it falls in (or, between or before ranges, of the last
    one opened before it, else the first); on a day without opening hours, from midnight.
    Steps count real time, so the grid survives a change of the clocks."""
    s = start.astimezone(UTC)
    if s.second or s.microsecond:
        return False
    local = s.astimezone(office.tz)
    opens = [o.astimezone(UTC) for o, _ in opening_ranges(office, local.date())]
    before = [o for o in opens if o <= s]
    anchor = (before[-1] if before else opens[0]) if opens else datetime.combine(
        local.date(), time(0), tzinfo=office.tz).astimezone(UTC)
    return (s - anchor) % timedelta(minutes=booking.slot_step_minutes) == timedelta(0)


def start_problem(
    office: Office,
    service: Service,
    booking: BookingCfg,
    start: datetime,
    *,
    now: datetime,
    end: datetime | None = None,
    override: StaffOverride | None = None,
    notice: bool = True,
    grace: timedelta = timedelta(0),
) -> StartProblem | None:
    """Why `start` (and `end`, if given: it must be start + the service's duration) cannot be
    booked for `service` at `office` at `now`; None if it can.

    `notice=False` skips the minimum notice: for confirming a slot that was held (and checked
    with the notice) a few minutes ago; `grace` shortens it: for holding a slot offered a few
    minutes ago. Nothing here reads the database.
    """
    if override is not None and not override.reason.strip():
        return problem("override_reason", "a staff override needs a reason")
    if service.id not in office.services:
        return problem("service_not_offered", f"{office.id} does not offer {service.id}")
    if start.tzinfo is None or start.utcoffset() is None:
        return problem("no_timezone", "the start has no time zone or UTC offset")
    earliest, latest = booking_window(booking, now)
    s = utc(start)
    if s is None:
        return (problem("beyond_horizon", f"more than {booking.horizon_days} days ahead")
                if start.year > now.year else problem("past", "the start lies in the past"))
    if s < now:
        return problem("past", "the start lies in the past")
    if notice and s < earliest - grace:
        return problem("too_soon", f"less than {booking.min_notice_minutes} minutes from now")
    if s > latest:
        return problem("beyond_horizon", f"more than {booking.horizon_days} days ahead")
    duration = timedelta(minutes=service.duration_minutes)
    if end is not None and utc(end) != s + duration:
        return problem("duration", f"{service.id} takes {service.duration_minutes} minutes")
    local = s.astimezone(office.tz)
    day = local.date()
    why_closed = closed_day(office, booking, day)
    if why_closed is None and s in {t.astimezone(UTC)
                                    for t in day_starts(office, duration, booking, day)}:
        return None  # a slot the slot search offers
    if not on_grid(office, booking, start):
        return problem("off_grid", f"not on the office's {booking.slot_step_minutes}-minute "
                                   "grid of the opening hours")
    if override is not None:
        return None  # on the grid, in time: staff may book outside the hours and closures
    if why_closed == "closure":
        return problem("closure", f"{office.id} is closed on {day.isoformat()}")
    if why_closed == "holiday":
        name = holiday_name(day, booking.holiday_subdivision)
        return problem("holiday", f"{day.isoformat()} is a public holiday ({name})")
    return problem("closed", f"{office.id} is not open from {local:%H:%M} for "
                             f"{service.duration_minutes} minutes on {day.isoformat()}")


def validate_start(
    ctx: Context,
    office: Office,
    service: Service,
    start: datetime,
    *,
    now: datetime,
    end: datetime | None = None,
    override: StaffOverride | None = None,
    notice: bool = True,
    grace: timedelta = timedelta(0),
) -> StartProblem | None:
    """`start_problem` with the context's booking settings."""
    return start_problem(office, service, ctx.config.booking, start, now=now, end=end,
                         override=override, notice=notice, grace=grace)


def lifted(
    ctx: Context, office: Office, service: Service, start: datetime, *, now: datetime
) -> str | None:
    """The problem code a staff override lifts for this start (None: it needs none)."""
    found = validate_start(ctx, office, service, start, now=now, notice=False)
    return found.code if found is not None and found.code in OVERRIDABLE else None
