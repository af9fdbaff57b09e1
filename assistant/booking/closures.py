"""Closures and absences entered in the back office (`staff_closures`): the office, or one
counter of it, closed in [start, end). They are read as busy times beside the calendar's
(`assistant.booking.calendar.busy_for`), so the free slots and every booking service that
checks busy times skip them; a counter's absence blocks only that counter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.storage.models import StaffClosure
from assistant.values import BusyInterval


async def closed_intervals(session: AsyncSession, office_id: str, frm: datetime,
                           to: datetime) -> list[BusyInterval]:
    """The stored closures of the office that overlap [frm, to), as busy intervals."""
    rows = await session.scalars(select(StaffClosure).where(
        StaffClosure.office_id == office_id, StaffClosure.start < to, StaffClosure.end > frm))
    return [BusyInterval(c.start, c.end, c.counter, "closure") for c in rows]
