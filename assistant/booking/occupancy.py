"""Taking and releasing counter cells: the database-enforced guard against double booking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.booking.slots import cells
from assistant.storage.models import Occupancy


async def purge_expired_holds(session: AsyncSession, office_id: str, now: datetime) -> None:
    await session.execute(
        delete(Occupancy).where(
            and_(
                Occupancy.office_id == office_id,
                Occupancy.hold.is_not(None),
                Occupancy.expires_at < now,
            )
        )
    )


async def take(
    session: AsyncSession,
    office_id: str,
    counters: int,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    hold: str | None = None,
    expires_at: datetime | None = None,
    appointment_id: int | None = None,
    only: tuple[int, ...] | None = None,
) -> int | None:
    """Occupy [start, end) on the first counter that is free; return it, or None if all are taken.

    `only` limits the counters tried (those the office calendar leaves free).

    Each counter is tried in a savepoint: the unique constraint on (office, counter, cell)
    rejects a cell another transaction holds, on SQLite and PostgreSQL alike.
    """
    await purge_expired_holds(session, office_id, now)
    rows = cells(start, end)
    for counter in only if only is not None else range(1, counters + 1):
        try:
            async with session.begin_nested():
                await session.execute(
                    insert(Occupancy),
                    [
                        {
                            "office_id": office_id,
                            "counter": counter,
                            "cell": cell,
                            "hold": hold,
                            "expires_at": expires_at,
                            "appointment_id": appointment_id,
                        }
                        for cell in rows
                    ],
                )
        except IntegrityError:
            continue
        return counter
    return None


async def release_hold(session: AsyncSession, hold: str) -> None:
    await session.execute(delete(Occupancy).where(Occupancy.hold == hold))


async def release_appointment(session: AsyncSession, appointment_id: int) -> None:
    await session.execute(delete(Occupancy).where(Occupancy.appointment_id == appointment_id))
