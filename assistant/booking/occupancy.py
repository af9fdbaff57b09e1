"""Taking and releasing counter cells: the database-enforced guard against double booking."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.booking.slots import cells
from assistant.storage.db import insert_rows
from assistant.storage.models import Occupancy

CELLS = Occupancy.__table__
C = CELLS.c
UNIQUE = ("office_id", "counter", "cell")
# Built once (the booking path runs them for every request): SQLAlchemy caches by statement.
# Every cell of the office from `first` to `last` (cells lie on the 5-minute grid): a range
# on the index (office_id, cell), however many rows the table has and whether or not the
# server has statistics on it.
_OCCUPIED = select(C.counter, C.hold, C.expires_at).where(
    C.office_id == bindparam("office"),
    C.cell >= bindparam("first"),
    C.cell <= bindparam("last"),
)
_EXPIRED = delete(CELLS).where(
    C.office_id == bindparam("office"),
    C.counter == bindparam("counter"),
    C.cell.in_(bindparam("cells", expanding=True)),
    C.hold.is_not(None),
    C.expires_at < bindparam("now"),
)
_UNDO = delete(CELLS).where(C.id.in_(bindparam("ids", expanding=True)))


async def purge_expired_holds(session: AsyncSession, office_id: str, now: datetime) -> None:
    """Delete the office's holds that expired (a new hold tidies up; `take` frees the cells
    it needs by itself)."""
    await session.execute(
        delete(Occupancy).where(
            Occupancy.office_id == office_id,
            Occupancy.hold.is_not(None),
            Occupancy.expires_at < now,
        )
    )


async def look(session: AsyncSession, office_id: str, counters: int, start: datetime,
               end: datetime, *, now: datetime, only: tuple[int, ...] | None = None,
               ) -> tuple[list[int], set[int]]:
    """The counters (of all, or of `only`) on which [start, end) is free, as one query sees
    them (another transaction may take one the next moment: `occupy` decides), and those of
    them that are free only because a hold expired."""
    tried = only if only is not None else range(1, counters + 1)
    wanted = cells(start, end)
    taken: set[int] = set()
    expired: set[int] = set()
    for counter, held, expires in await session.execute(
            _OCCUPIED, {"office": office_id, "first": wanted[0], "last": wanted[-1]}):
        gone = held is not None and expires is not None and expires < now
        (expired if gone else taken).add(counter)
    return [c for c in tried if c not in taken], expired - taken


async def occupy(session: AsyncSession, office_id: str, counter: int, start: datetime,
                 end: datetime, *, now: datetime, expired: bool = False, hold: str | None = None,
                 expires_at: datetime | None = None, appointment_id: int | None = None) -> bool:
    """Take the cells of [start, end) on `counter` (deleting expired holds there first when
    `look` saw some); False, with nothing taken, if another transaction has any of them.

    The cells are inserted with ON CONFLICT DO NOTHING: the unique constraint on (office,
    counter, cell) decides, on SQLite and PostgreSQL alike. A cell another transaction took
    (or is taking: PostgreSQL waits for it to end) is left out; the ones inserted are then
    deleted again."""
    wanted = cells(start, end)
    if expired:
        await session.execute(_EXPIRED, {"office": office_id, "counter": counter,
                                         "cells": wanted, "now": now})
    inserted = list((await insert_rows(
        session, CELLS,
        [{"office_id": office_id, "counter": counter, "cell": cell, "hold": hold,
          "expires_at": expires_at, "appointment_id": appointment_id} for cell in wanted],
        skip_conflicts=True, on=UNIQUE, returning=(C.id,),
    )).scalars())
    if len(inserted) == len(wanted):
        return True
    if inserted:  # taken meanwhile in part (by a longer or shorter appointment)
        await session.execute(_UNDO, {"ids": inserted})
    return False


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

    `only` limits the counters tried (those the office calendar leaves free). One query
    (`look`) finds the free counters, `occupy` takes the first one it can.
    """
    free, expired = await look(session, office_id, counters, start, end, now=now, only=only)
    for counter in free:
        if await occupy(session, office_id, counter, start, end, now=now,
                        expired=counter in expired, hold=hold, expires_at=expires_at,
                        appointment_id=appointment_id):
            return counter
    return None


async def release_hold(session: AsyncSession, hold: str) -> None:
    await session.execute(delete(Occupancy).where(Occupancy.hold == hold))


async def release_appointment(session: AsyncSession, appointment_id: int) -> None:
    await session.execute(delete(Occupancy).where(Occupancy.appointment_id == appointment_id))
