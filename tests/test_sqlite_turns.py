"""Turns on SQLite (issue 13): sessions run on the event loop's thread one at a time, the
conversation is read and written with one statement each, and free slots are searched on
whole numbers. None of it may cost a booking, a conversation or a correct offer: concurrent
citizens never share a counter, a conversation goes on after a restart, and a catalogue with
other opening hours for the same office offers those hours. No peers; a few seconds.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from assistant.booking import availability, book
from assistant.booking.slots import candidate_starts
from assistant.config import TimeRangeCfg, load_config
from assistant.storage.models import Appointment
from assistant.testing import Harness, texts
from tests.conftest import BERLIN, NOW

ROOT = Path(__file__).resolve().parent.parent
OFFLINE_NLU = "http://127.0.0.1:9"  # every answer below is read without Rasa
TUE_9 = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)
BOOK = '/book_appointment{"service": "meldebescheinigung", "office": "riesa"}'
LAST_NAMES = ["Schmidt", "Krause", "Müller", "Okafor", "Lehmann", "Nguyen", "Richter", "Wolf",
              "Becker", "Hoffmann", "Schulz", "Koch"]
TUESDAY = '/inform{"start": "2026-11-24T08:00:00+01:00", "end": "2026-11-24T12:00:00+01:00"}'


def keys(replies: list) -> list[str]:
    return [r.key for r in replies]


async def test_thirty_citizens_holding_one_slot_at_once_get_the_two_counters() -> None:
    async with Harness(nlu_url=OFFLINE_NLU, now=NOW) as h:
        end = TUE_9 + timedelta(minutes=10)
        tokens = await asyncio.gather(*(book.hold(h.ctx, "riesa", TUE_9, end)
                                        for _ in range(30)))
        assert sum(1 for t in tokens if t) == 2  # Riesa has two counters
        assert await availability.free_slots(h.ctx, "meldebescheinigung", "riesa", TUE_9,
                                             TUE_9) == []


async def test_twelve_citizens_booking_the_same_morning_at_once_never_share_a_counter() -> None:
    async with Harness(nlu_url=OFFLINE_NLU, now=NOW) as h:

        async def citizen(n: int) -> str:
            sender = f"citizen-{n}"
            await h.say(BOOK, sender=sender)
            replies = await h.say(TUESDAY, sender=sender)
            for _ in range(12):  # a slot taken meanwhile is offered again
                if "book.ask_name" in keys(replies):
                    break
                assert "slot.offer" in keys(replies), texts(replies)
                replies = await h.say("1", sender=sender)
            name = f"Anna {LAST_NAMES[n]}"
            assert keys(await h.say(name, sender=sender)) == ["book.ask_contact"]
            assert keys(await h.say("überspringen", sender=sender)) == ["book.summary"]
            done = await h.say("ja", sender=sender)
            assert "book.done" in keys(done), texts(done)
            return texts(done)

        confirmations = await asyncio.gather(*(citizen(n) for n in range(12)))
        async with h.ctx.db() as session:
            booked = (await session.scalars(select(Appointment).where(
                Appointment.status == "booked"))).all()
        assert len(booked) == len(confirmations) == 12
        seats = [(a.counter, a.start) for a in booked]
        assert len(set(seats)) == 12  # no counter twice at one time


async def test_a_conversation_goes_on_after_a_restart(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/amtsbote.sqlite3"
    async with Harness(nlu_url=OFFLINE_NLU, now=NOW, database_url=url) as h:
        assert "book.ask_time" in keys(await h.say(BOOK, sender="anna"))
        assert "slot.offer" in keys(await h.say(TUESDAY, sender="anna"))
    async with Harness(nlu_url=OFFLINE_NLU, now=NOW, database_url=url) as h:
        assert keys(await h.say("1", sender="anna")) == ["book.ask_name"]
        assert "book.ask_time" in keys(await h.say(BOOK, sender="ben"))  # a new citizen


def test_a_catalogue_with_other_opening_hours_offers_those_hours() -> None:
    config = load_config(ROOT / "config.yml")
    office = config.office("riesa")
    service = config.service("meldebescheinigung")
    assert office is not None and service is not None
    day = (TUE_9.replace(hour=0), TUE_9.replace(hour=23))
    before = list(candidate_starts(office, service, config.booking, *day))
    assert before[0].time() == time(8, 0)
    later_hours = office.model_copy(update={"opening_hours": {
        **office.opening_hours, "tue": [TimeRangeCfg(start=time(10, 0), end=time(11, 0))]}})
    after = list(candidate_starts(later_hours, service, config.booking, *day))
    assert [t.time() for t in after] == [time(10, 0), time(10, 15), time(10, 30), time(10, 45)]
    assert list(candidate_starts(office, service, config.booking, *day)) == before
