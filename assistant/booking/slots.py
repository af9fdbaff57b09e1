"""Free slots: opening hours × counters − closures − public holidays − bookings − calendar busy.

All slot starts lie on the office's grid (`slot_step_minutes` from the start of each opening
range). A slot is free when at least one counter has every 5-minute cell of the service's
duration free. Busy times come from the office's calendar backend through the hooks.

Durations are real time: a 20-minute appointment lasts 20 minutes on the night the clocks
change, too (times are stepped in UTC and shown in the office's zone). The same functions
decide what the chat offers and what `assistant.booking.validation` accepts as a start.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Literal

import holidays
from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.config import BookingCfg, Office, Service
from assistant.storage.models import Occupancy
from assistant.values import BusyInterval

CELL = timedelta(minutes=5)


@dataclass(frozen=True)
class Slot:
    office_id: str
    service_id: str
    start: datetime  # aware, office time zone
    end: datetime
    free_counters: tuple[int, ...]

    def key(self) -> str:
        return f"{self.office_id}|{self.start.astimezone(UTC).isoformat()}"


@lru_cache(maxsize=16)
def _holidays(subdivision: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("DE", subdiv=subdivision, years=year, language="de")


def holiday_name(day: date, subdivision: str = "SN") -> str | None:
    return _holidays(subdivision, day.year).get(day)


def cell_floor(t: datetime) -> datetime:
    """The start (UTC) of the 5-minute cell `t` lies in."""
    t = t.astimezone(UTC)
    return t - timedelta(minutes=t.minute % 5, seconds=t.second, microseconds=t.microsecond)


def cells(start: datetime, end: datetime) -> list[datetime]:
    """The 5-minute cells (UTC) that [start, end) touches.

    Aligned to the cell grid, so a stray 08:07 start takes the 08:05 cell a grid booking at
    08:00 takes too, and the database refuses the overlap."""
    out = []
    t = cell_floor(start)
    stop = end.astimezone(UTC)
    while t < stop:
        out.append(t)
        t += CELL
    return out


def later(t: datetime, delta: timedelta) -> datetime:
    """`t + delta` in real time (Python adds wall-clock time within one zone), in t's zone."""
    return (t.astimezone(UTC) + delta).astimezone(t.tzinfo)


def booking_window(booking: BookingCfg, now: datetime) -> tuple[datetime, datetime]:
    """The earliest (minimum notice) and the latest (horizon) start bookable at `now`."""
    return (now + timedelta(minutes=booking.min_notice_minutes),
            now + timedelta(days=booking.horizon_days))


def closed_day(office: Office, booking: BookingCfg, day: date
               ) -> Literal["closure", "holiday"] | None:
    """Why the office is closed all `day` (a configured closure or a public holiday), if it is."""
    if office.closed_on(day):
        return "closure"
    if holiday_name(day, booking.holiday_subdivision):
        return "holiday"
    return None


def opening_ranges(office: Office, day: date) -> list[tuple[datetime, datetime]]:
    """The day's opening ranges as (open, close), aware, in the office's time zone."""
    tz = office.tz
    return [(datetime.combine(day, r.start, tzinfo=tz), datetime.combine(day, r.end, tzinfo=tz))
            for r in office.hours_on(day)]


def day_starts(office: Office, duration: timedelta, booking: BookingCfg, day: date
               ) -> list[datetime]:
    """Every start on the day's grid at which `duration` fits into an opening range (closures
    and holidays not considered): `slot_step_minutes` apart from each range's opening."""
    tz = office.tz
    return [_at(t, tz) for t in _day_grid(office, duration // _US, _step(booking), day)]


def candidate_starts(
    office: Office, service: Service, booking: BookingCfg, frm: datetime, to: datetime
) -> Iterable[datetime]:
    """Slot starts on the opening-hours grid within [frm, to], skipping holidays and closures."""
    tz = office.tz
    return (_at(t, tz) for t in _starts(office, service, booking, frm, to))


# The grid in whole microseconds since the epoch (UTC): stepping, comparing and numbering the
# 5-minute cells are then integer operations; a datetime is made only for a slot returned.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_CELL_US = CELL // _US


def _us(t: datetime) -> int:
    """Aware `t` in microseconds since the epoch, exactly."""
    return (t - _EPOCH) // _US


def _at(us: int, tz: tzinfo) -> datetime:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(tz)


def _step(booking: BookingCfg) -> int:
    return booking.slot_step_minutes * 60_000_000


def _day_grid(office: Office, duration_us: int, step_us: int, day: date) -> list[int]:
    return [t for open_, close in opening_ranges(office, day)
            for t in range(_us(open_), _us(close) - duration_us + 1, step_us)]


def _starts(office: Office, service: Service, booking: BookingCfg, frm: datetime, to: datetime
            ) -> Iterator[int]:
    tz = office.tz
    lo, hi = _us(frm), _us(to)
    duration_us, step_us = service.duration_minutes * 60_000_000, _step(booking)
    day = frm.astimezone(tz).date()
    last = to.astimezone(tz).date()
    while day <= last:
        if closed_day(office, booking, day) is None:
            for t in _day_grid(office, duration_us, step_us, day):
                if lo <= t <= hi:
                    yield t
        day += timedelta(days=1)


_OCCUPIED = select(Occupancy.__table__.c.counter, Occupancy.__table__.c.cell).where(
    Occupancy.__table__.c.office_id == bindparam("office_id"),
    Occupancy.__table__.c.cell >= bindparam("frm"),
    Occupancy.__table__.c.cell < bindparam("to"),
    or_(Occupancy.__table__.c.expires_at.is_(None),
        Occupancy.__table__.c.expires_at > bindparam("now")),
)  # plain rows, no ORM loading; built once


async def occupied_cells(
    session: AsyncSession, office_id: str, frm: datetime, to: datetime, now: datetime
) -> set[tuple[int, int]]:
    """(counter, cell number) of every cell of the office in [frm, to) taken by an appointment
    or a hold that has not expired."""
    rows = (await session.execute(
        _OCCUPIED, {"office_id": office_id, "frm": frm, "to": to, "now": now})).all()
    return {(c, _us(cell) // _CELL_US) for c, cell in rows}


def busy_cells(busy: list[BusyInterval], counters: int) -> set[tuple[int, datetime]]:
    out: set[tuple[int, datetime]] = set()
    for b in busy:
        targets = [b.counter] if b.counter else range(1, counters + 1)
        # `cells` rounds the start down to the cell grid: a busy 09:07 blocks the 09:05 cell.
        for cell in cells(b.start, b.end):
            for c in targets:
                out.add((c, cell))
    return out


def free_counters(
    start: datetime, duration: timedelta, counters: int, taken: set[tuple[int, datetime]]
) -> tuple[int, ...]:
    needed = cells(start, later(start, duration))
    return tuple(c for c in range(1, counters + 1) if all((c, x) not in taken for x in needed))


async def find_free_slots(
    session: AsyncSession,
    office: Office,
    service: Service,
    booking: BookingCfg,
    frm: datetime,
    to: datetime,
    now: datetime,
    busy: list[BusyInterval],
    limit: int = 200,
) -> list[Slot]:
    """Free slots starting in [frm, to], earliest first, bounded by notice and horizon."""
    earliest, latest = booking_window(booking, now)
    frm, to = max(frm, earliest), min(to, latest)
    if frm > to:
        return []
    duration = timedelta(minutes=service.duration_minutes)
    taken = await occupied_cells(session, office.id, frm, to + duration, now)
    taken |= {(c, _us(cell) // _CELL_US) for c, cell in busy_cells(busy, office.counters)}
    # Per counter, the numbers of its taken cells: a start is free on a counter when none of
    # the cells it needs is among them (the test of `free_counters`, on numbers).
    by_counter: dict[int, set[int]] = {c: set() for c in range(1, office.counters + 1)}
    for c, number in taken:
        if c in by_counter:
            by_counter[c].add(number)
    tz, duration_us = office.tz, duration // _US
    out: list[Slot] = []
    for t in _starts(office, service, booking, frm, to):
        needed = range(t // _CELL_US, -(-(t + duration_us) // _CELL_US))
        free = tuple(c for c, cells_taken in by_counter.items() if cells_taken.isdisjoint(needed))
        if free:
            out.append(Slot(office.id, service.id, _at(t, tz), _at(t + duration_us, tz), free))
            if len(out) >= limit:
                break
    return out


def spread(slots: list[Slot], count: int, near: datetime | None = None) -> list[Slot]:
    """Pick `count` slots a citizen can choose between: nearest to `near` (an exact wish) or
    spread over different days and times of day rather than four neighbours in a row."""
    if near is not None:
        ranked = sorted(slots, key=lambda s: (abs((s.start - near).total_seconds()), s.start))
        return sorted(ranked[:count], key=lambda s: s.start)
    chosen: list[Slot] = []
    per_day: dict[date, int] = {}
    gap = timedelta(minutes=45)
    for s in slots:
        day = s.start.date()
        if per_day.get(day, 0) >= 2:
            continue
        if any(c.start.date() == day and abs(c.start - s.start) < gap for c in chosen):
            continue
        chosen.append(s)
        per_day[day] = per_day.get(day, 0) + 1
        if len(chosen) == count:
            return chosen
    # Not enough diversity: fill up with the earliest remaining ones.
    for s in slots:
        if len(chosen) == count:
            break
        if s not in chosen:
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)
