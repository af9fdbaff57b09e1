"""Finding slots to offer: in the wished window, else the nearest ones, else other offices."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from assistant.booking.calendar import busy_for
from assistant.booking.slots import Slot, find_free_slots, spread

if TYPE_CHECKING:
    from assistant.context import Context


@dataclass
class Offer:
    slots: list[Slot]
    exact: bool  # True when the slots lie in the wished window
    other_offices: list[Slot] = field(default_factory=list)


async def free_slots(
    ctx: Context, service_id: str, office_id: str, frm: datetime, to: datetime, limit: int = 200
) -> list[Slot]:
    office = ctx.config.office(office_id)
    service = ctx.config.service(service_id)
    if office is None or service is None or service_id not in office.services:
        return []
    now = ctx.now()
    busy = await busy_for(ctx, office, frm, to + timedelta(minutes=service.duration_minutes))
    async with ctx.db() as session:
        return await find_free_slots(
            session, office, service, ctx.config.booking, frm, to, now, busy, limit
        )


async def offer(
    ctx: Context,
    service_id: str,
    office_id: str,
    frm: datetime | None,
    to: datetime | None,
    channel: str | None = None,
    exclude: set[str] | None = None,
    daily: tuple[time, time] | None = None,
) -> Offer:
    """3–5 concrete slots for the wish; if it has none, the nearest free times around it and
    the earliest slots in other offices offering the service. `daily`: only slots at that
    time of day ("nächste Woche vormittags"), in the wish and around it."""
    now = ctx.now()
    count = ctx.config.booking.offers
    horizon = now + timedelta(days=ctx.config.booking.horizon_days)
    exclude = exclude or set()
    near = frm if frm is not None and to is not None and frm == to else None
    if frm is None or to is None:
        frm, to = now, now + timedelta(days=14)
    if near is not None:  # exact time: look at that whole day
        frm = near.replace(hour=0, minute=0, second=0)
        to = near.replace(hour=23, minute=59, second=59)
    if near is not None:
        daily = None  # an exact time says it all

    def fits(slot: Slot) -> bool:
        if daily is None:
            return True
        office = ctx.config.office(slot.office_id)
        local = slot.start.astimezone(office.tz if office else slot.start.tzinfo).time()
        return daily[0] <= local <= daily[1]

    found = [s for s in await free_slots(ctx, service_id, office_id, frm, to)
             if (not exclude or s.key() not in exclude) and fits(s)]
    if found:
        return Offer(spread(found, count, near), exact=True)
    # Nothing in the window: nearest free times after it (and before it, if still in the future).
    pivot = near or frm
    after = await free_slots(ctx, service_id, office_id, to, horizon,
                             limit=count * 8 if daily is None else 400)
    before = await free_slots(ctx, service_id, office_id, max(now, pivot - timedelta(days=14)),
                              frm, limit=400)
    before, after = [s for s in before if fits(s)], [s for s in after if fits(s)]
    nearest = sorted(
        [s for s in before[-count:] + after if s.key() not in exclude],
        key=lambda s: abs((s.start - pivot).total_seconds()),
    )[:count]
    others: list[Slot] = []
    for office in ctx.config.offices_for(service_id, channel):
        if office.id == office_id:
            continue
        alt = [s for s in await free_slots(ctx, service_id, office.id, frm, to,
                                           limit=1 if daily is None else 200) if fits(s)]
        if alt:
            others.append(alt[0])
    return Offer(sorted(nearest, key=lambda s: s.start), exact=False, other_offices=others[:3])
