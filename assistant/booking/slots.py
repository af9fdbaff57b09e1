"""Free slots: opening hours × counters − closures − public holidays − bookings − calendar busy.

All slot starts lie on the office's grid (`slot_step_minutes` from the start of each opening
range). A slot is free when at least one counter has every 5-minute cell of the service's
duration free. Busy times come from the office's calendar backend through the hooks.

Durations are real time: a 20-minute appointment lasts 20 minutes on the night the clocks
change, too (times are stepped in UTC and shown in the office's zone). The same functions
decide what the chat offers and what `assistant.booking.validation` accepts as a start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal

import holidays
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.config import BookingCfg, Office, Service
from assistant.storage.models import Occupancy
from assistant.views import BusyInterval

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
    step = timedelta(minutes=booking.slot_step_minutes)
    out = []
    for open_, close in opening_ranges(office, day):
        t, stop = open_.astimezone(UTC), close.astimezone(UTC)
        while t + duration <= stop:
            out.append(t.astimezone(office.tz))
            t += step
    return out


def candidate_starts(
    office: Office, service: Service, booking: BookingCfg, frm: datetime, to: datetime
) -> Iterable[datetime]:
    """Slot starts on the opening-hours grid within [frm, to], skipping holidays and closures."""
    tz = office.tz
    duration = timedelta(minutes=service.duration_minutes)
    lo, hi = frm.astimezone(UTC), to.astimezone(UTC)
    day = frm.astimezone(tz).date()
    last = to.astimezone(tz).date()
    while day <= last:
        if closed_day(office, booking, day) is None:
            for t in day_starts(office, duration, booking, day):
                if lo <= t <= hi:
                    yield t
        day += timedelta(days=1)


async def occupied_cells(
    session: AsyncSession, office_id: str, frm: datetime, to: datetime, now: datetime
) -> set[tuple[int, datetime]]:
    rows = await session.execute(
        select(Occupancy.counter, Occupancy.cell).where(
            Occupancy.office_id == office_id,
            Occupancy.cell >= frm,
            Occupancy.cell < to,
            or_(Occupancy.expires_at.is_(None), Occupancy.expires_at > now),
        )
    )
    return {(c, cell) for c, cell in rows}


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
    taken |= busy_cells(busy, office.counters)
    out: list[Slot] = []
    for start in candidate_starts(office, service, booking, frm, to):
        free = free_counters(start, duration, office.counters, taken)
        if free:
            out.append(Slot(office.id, service.id, start, later(start, duration), free))
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
