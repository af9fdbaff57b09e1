"""No double booking, enforced by the database: 50 citizens race for one slot on PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from assistant.booking import availability, book
from assistant.storage.models import Appointment
from assistant.testing import Harness
from tests.conftest import BERLIN, NOW

SLOT = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)  # Tuesday, Riesa is open, 2 counters


def _race_calls(h: Harness, n: int, office: str) -> list:
    return [book.book_now(h.ctx, service_id="personalausweis", office_id=office, start=SLOT,
                          citizen=book.Citizen(f"Bürger Nummer{i}"),
                          origin=book.Origin(channel="test", sender=f"c{i}", language="de"))
            for i in range(n)]


async def _race(h: Harness, n: int, office: str) -> list:
    return await asyncio.gather(*_race_calls(h, n, office))


async def test_fifty_concurrent_bookings_get_exactly_the_counters(pg_url: str) -> None:
    async with Harness(database_url=pg_url, nlu_url="http://127.0.0.1:9", now=NOW) as h:
        async with h.ctx.db() as session:
            await session.execute(text("TRUNCATE appointments, occupancy, outbox, events CASCADE"))
            await session.commit()
        results = await _race(h, 50, "riesa")
        winners = [r for r in results if r is not None]
        assert len(winners) == h.ctx.config.office("riesa").counters == 2
        assert {w.counter for w in winners} == {1, 2}
        async with h.ctx.db() as session:
            booked = await session.scalar(
                select(func.count()).select_from(Appointment).where(Appointment.start == SLOT))
        assert booked == 2
        # The 48 others are offered other slots, and not the taken one.
        offer = await availability.offer(h.ctx, "personalausweis", "riesa", SLOT, SLOT)
        assert offer.slots and all(s.start != SLOT for s in offer.slots)
        assert all(abs(s.start - SLOT) < timedelta(days=1) for s in offer.slots)


async def test_chat_holds_and_api_bookings_racing_for_one_slot_share_its_counters(
        pg_url: str) -> None:
    """Citizens holding the slot by chat and staff booking it through the API at the same
    moment: every counter goes to exactly one of them, none stays empty while someone was
    refused, and a booking whose counter a hold took first tries the next one."""
    async with Harness(database_url=pg_url, nlu_url="http://127.0.0.1:9", now=NOW) as h:
        async with h.ctx.db() as session:
            await session.execute(text("TRUNCATE appointments, occupancy, outbox, events CASCADE"))
            await session.commit()
        end = SLOT + timedelta(minutes=20)
        holds = [book.hold(h.ctx, "riesa", SLOT, end, service_id="personalausweis")
                 for _ in range(15)]
        results = await asyncio.gather(*holds, *_race_calls(h, 15, "riesa"))
        held = [r for r in results[:15] if r is not None]
        booked = [r for r in results[15:] if r is not None]
        assert len(held) + len(booked) == 2  # Riesa's two counters, both taken
        async with h.ctx.db() as session:
            rows = (await session.execute(text(
                "SELECT counter, count(*) FROM occupancy GROUP BY counter"))).all()
            stored = await session.scalar(select(func.count()).select_from(Appointment))
        assert sorted(rows) == [(1, 4), (2, 4)]  # 20 minutes: four cells on each counter
        assert stored == len(booked)  # no appointment left behind by a booking that lost


async def test_sqlite_also_refuses_the_third_booking() -> None:
    async with Harness(nlu_url="http://127.0.0.1:9", now=NOW) as h:
        results = await _race(h, 10, "riesa")
        assert sum(r is not None for r in results) == 2


async def test_the_database_itself_refuses_an_overlapping_booked_row(pg_url: str) -> None:
    """Whatever writes appointments (an import, a script, a future entry point that forgets the
    booking services), PostgreSQL refuses two booked rows of one counter that overlap, for any
    start and end; cancelled rows do not count."""
    async with Harness(database_url=pg_url, nlu_url="http://127.0.0.1:9", now=NOW) as h:
        async with h.ctx.db() as session:
            await session.execute(text("TRUNCATE appointments, occupancy, outbox, events CASCADE"))
            await session.commit()
        first = await book.book_now(
            h.ctx, service_id="personalausweis", office_id="riesa", start=SLOT,
            citizen=book.Citizen("Anna Berger", None, None),
            origin=book.Origin(channel="staff", sender=None, language="de", actor="staff"))
        assert first is not None

        async def raw_copy(start: datetime, status: str = "booked") -> None:
            async with h.ctx.db() as session:
                await session.execute(text(
                    "INSERT INTO appointments (reference, office_id, service_id, start, \"end\", "
                    "counter, mode, status, channel, language, created_at, updated_at) "
                    "SELECT :ref, office_id, service_id, CAST(:start AS timestamptz), "
                    "CAST(:start AS timestamptz) + interval '20 minutes', "
                    "counter, mode, :status, channel, language, created_at, updated_at "
                    "FROM appointments WHERE id = :id"),
                    {"ref": "R" + secrets.token_hex(2).upper(), "start": start, "status": status,
                     "id": first.id})
                await session.commit()

        with pytest.raises(IntegrityError, match="appointments_no_overlap"):
            await raw_copy(SLOT + timedelta(minutes=7))  # off the grid, overlapping
        await raw_copy(SLOT + timedelta(minutes=7), status="cancelled")  # cancelled: allowed
        await raw_copy(SLOT + timedelta(minutes=20))  # right after: allowed

