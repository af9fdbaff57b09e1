"""Free slots: opening hours × counters − closures − public holidays − bookings − calendar busy.

All slot starts lie on the office's grid (`slot_step_minutes` from the start of each opening
range). A slot is free when at least one counter has every 5-minute cell of the service's
duration free. Busy times come from the office's calendar backend through the hooks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

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


def cells(start: datetime, end: datetime) -> list[datetime]:
    """The 5-minute cells (UTC) covered by [start, end)."""
    out = []
    t = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    while t < stop:
        out.append(t)
        t += CELL
    return out


def candidate_starts(
    office: Office, service: Service, booking: BookingCfg, frm: datetime, to: datetime
) -> Iterable[datetime]:
    """Slot starts on the opening-hours grid within [frm, to], skipping holidays and closures."""
    tz = office.tz
    duration = timedelta(minutes=service.duration_minutes)
    step = timedelta(minutes=booking.slot_step_minutes)
    day = frm.astimezone(tz).date()
    last = to.astimezone(tz).date()
    while day <= last:
        if not office.closed_on(day) and not holiday_name(day, booking.holiday_subdivision):
            for rng in office.hours_on(day):
                t = datetime.combine(day, rng.start, tzinfo=tz)
                close = datetime.combine(day, rng.end, tzinfo=tz)
                while t + duration <= close:
                    if frm <= t <= to:
                        yield t
                    t += step
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
        start = b.start.astimezone(UTC)
        # Round the start down to the cell grid so a busy 09:07 blocks the 09:05 cell.
        start = start - timedelta(minutes=start.minute % 5, seconds=start.second,
                                  microseconds=start.microsecond)
        targets = [b.counter] if b.counter else range(1, counters + 1)
        for cell in cells(start, b.end):
            for c in targets:
                out.add((c, cell))
    return out


def free_counters(
    start: datetime, duration: timedelta, counters: int, taken: set[tuple[int, datetime]]
) -> tuple[int, ...]:
    needed = cells(start, start + duration)
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
    frm = max(frm, now + timedelta(minutes=booking.min_notice_minutes))
    to = min(to, now + timedelta(days=booking.horizon_days))
    if frm > to:
        return []
    duration = timedelta(minutes=service.duration_minutes)
    taken = await occupied_cells(session, office.id, frm, to + duration, now)
    taken |= busy_cells(busy, office.counters)
    out: list[Slot] = []
    for start in candidate_starts(office, service, booking, frm, to):
        free = free_counters(start, duration, office.counters, taken)
        if free:
            out.append(Slot(office.id, service.id, start, start + duration, free))
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
