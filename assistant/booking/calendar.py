"""Busy times from an office's calendar backend, through the `calendar_busy` hook."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from assistant.booking.closures import closed_intervals
from assistant.config import Office
from assistant.values import BusyInterval, CalendarUnavailable

if TYPE_CHECKING:
    from assistant.context import Context

log = logging.getLogger(__name__)


async def busy_for(ctx: Context, office: Office, frm: datetime, to: datetime) -> list[BusyInterval]:
    """Busy intervals: the closures entered in the back office, and the calendar's (none
    when the backend is unreachable: logged; bookings go on, and the outbox reports any
    clash to staff once the calendar is back)."""
    async with ctx.db() as session:
        closed = await closed_intervals(session, office.id, frm, to)
    try:
        result = await ctx.call_first(
            "calendar_busy", ctx=ctx, backend=office.calendar.backend, office=office,
            start=frm, end=to,
        )
    except CalendarUnavailable as exc:
        log.warning("calendar of %s unavailable: %s", office.id, exc)
        return closed
    return closed + list(result or [])
