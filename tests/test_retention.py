"""Retention: personal data goes the day after the appointment; stale records go too; the
statistics stay. Through the function, the periodic plugin and `amtsbote retention run`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from assistant.booking import book as booking
from assistant.booking import cancel, check
from assistant.cli import main as cli
from assistant.config import load_config
from assistant.retention import Policy, purge
from assistant.storage.models import (
    Appointment,
    Conversation,
    Event,
    OutboxItem,
    VerificationFailure,
    VideoRequest,
)
from assistant.testing import Harness
from tests.support.mail import CONFIG, book

if TYPE_CHECKING:
    from assistant.testing.peers.smtp import SMTPPeer



@pytest.fixture
async def harness_(smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch
                   ) -> AsyncIterator[Harness]:
    smtp_server.env(monkeypatch)
    async with Harness(config=CONFIG, nlu_url="http://127.0.0.1:9") as h:
        yield h


async def get(h: Harness, a_id: int) -> Appointment:
    async with h.ctx.db() as session:
        row = await session.get(Appointment, a_id)
        assert row is not None
        return row


async def count(h: Harness, table: type) -> int:
    async with h.ctx.db() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_personal_data_goes_the_day_after_the_appointment(harness_: Harness) -> None:
    h = harness_
    a = await book(h, phone="+4915112345678")
    async with h.ctx.db() as session:  # a video appointment's links are personal too
        row = await session.get(Appointment, a.id)
        assert row is not None
        row.video_url, row.staff_video_url = "https://meet.example.org/x", "https://m/y"
        await session.commit()
    events = await count(h, Event)

    h.clock.now = a.end + timedelta(hours=23)
    assert (await run_once(h)).appointments == 0
    kept = await get(h, a.id)
    assert kept.citizen_name == "Anna Müller" and kept.anonymized_at is None

    h.clock.now = a.end + timedelta(days=1, minutes=1)
    assert (await run_once(h)).appointments == 1
    gone = await get(h, a.id)
    assert (gone.citizen_name, gone.name_key, gone.phone, gone.email, gone.sender,
            gone.video_url, gone.staff_video_url) == (None,) * 7
    assert gone.anonymized_at == h.clock.now
    assert (gone.reference, gone.service_id, gone.office_id, gone.start) == (
        a.reference, a.service, a.office, a.start)  # the counter's history stays
    assert await count(h, Event) == events  # the statistics stay
    found = await check.lookup(h.ctx, a.reference, "Müller",
                               booking.Origin("test", "someone", "de"))
    assert found.appointment is None  # nobody can look it up by name any more
    assert (await run_once(h)).appointments == 0  # idempotent


async def test_a_cancelled_appointment_is_anonymised_a_day_after_cancelling(
        harness_: Harness) -> None:
    h = harness_
    a = await book(h, days=60)
    await cancel.cancel(h.ctx, a.id, booking.Origin("test", "anna", "de"))
    h.clock.advance(days=1, minutes=1)
    assert (await run_once(h)).appointments == 1
    assert (await get(h, a.id)).email is None
    other = await book(h, days=30, email="bob@example.org", name="Bob Bauer")
    assert (await run_once(h)).appointments == 0
    assert (await get(h, other.id)).email == "bob@example.org"  # future bookings stay whole


async def test_stale_records_go_and_fresh_ones_stay(harness_: Harness) -> None:
    h = harness_
    now = h.ctx.now()
    await h.say("Hallo", sender="old")
    assert await h.ctx.first_delivery("telegram", "1")
    async with h.ctx.db() as session:
        session.add(VerificationFailure(sender_key="test:guesser", at=now))
        session.add(VideoRequest(kind="callback", channel="voice", language="de",
                                 callback_number="+4915112345678", created_at=now))
        await session.commit()
    await book(h)
    await h.run_outbox_now()
    assert await count(h, OutboxItem) > 0

    h.clock.advance(hours=12)
    await h.say("Hallo", sender="fresh")
    assert await h.ctx.first_delivery("telegram", "2")
    h.clock.advance(hours=13)  # 25 h after the first records
    report = await run_once(h)
    assert (report.conversations, report.verification_failures, report.video_requests) == (
        1, 1, 1)
    assert report.deliveries == 0 and report.outbox_items == 0
    async with h.ctx.db() as session:
        senders = list(await session.scalars(select(Conversation.sender)))
        request = await session.scalar(select(VideoRequest))
    assert senders == ["fresh"]
    assert request is not None and request.callback_number is None and request.kind == "callback"

    h.clock.now = now + timedelta(days=2, hours=1)
    report = await run_once(h)
    assert report.deliveries == 1  # "1" is 2 days and 1 hour old, "2" not yet
    h.clock.now = now + timedelta(days=7, hours=1)
    report = await run_once(h)
    assert report.outbox_items > 0
    async with h.ctx.db() as session:
        left = list(await session.scalars(select(OutboxItem)))
    assert all(i.done_at is None for i in left)  # only finished items are removed
    assert await h.ctx.first_delivery("telegram", "1")  # forgotten: accepted again


async def test_dry_run_counts_without_deleting(harness_: Harness) -> None:
    h = harness_
    a = await book(h)
    h.clock.now = a.end + timedelta(days=2)
    report = await purge(h.ctx.db, Policy(), h.ctx.now(), dry_run=True)
    assert report.appointments == 1
    assert (await get(h, a.id)).email is not None


async def test_the_plugin_runs_it_after_start(smtp_server: SMTPPeer,
                                              monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    smtp_server.env(monkeypatch)
    url = f"sqlite+aiosqlite:///{tmp_path}/loop.sqlite3"
    async with Harness(config=CONFIG, database_url=url) as before:
        a = await book(before)
    cfg = load_config(CONFIG)
    cfg = cfg.model_copy(update={"plugins": {**cfg.plugins, "retention": {
        "first_run_after_seconds": 0, "every_minutes": 60}}})
    async with Harness(config=cfg, database_url=url, now=a.end + timedelta(days=2)) as h:
        for _ in range(100):  # the background task runs right after start-up
            if (await get(h, a.id)).anonymized_at is not None:
                break
            await asyncio.sleep(0.05)
        assert (await get(h, a.id)).email is None


def test_command_line(smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    smtp_server.env(monkeypatch)
    url = f"sqlite+aiosqlite:///{tmp_path}/cli.sqlite3"
    monkeypatch.setenv("DATABASE_URL", url)

    async def setup() -> int:
        async with Harness(config=CONFIG, database_url=url, now=None) as h:
            # Booked "now" by the wall clock's standards: ended long ago.
            h.clock.now = h.clock.now.replace(year=2020)
            a = await book(h)
            return a.id

    asyncio.run(setup())
    assert cli(["-c", str(CONFIG), "retention", "run", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["appointments"] == 1
    assert cli(["-c", str(CONFIG), "retention", "run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {**out, "dry_run": False, "appointments": 1}
    assert cli(["-c", str(CONFIG), "retention", "run"]) == 0
    assert json.loads(capsys.readouterr().out)["appointments"] == 0


async def run_once(h):  # type: ignore[no-untyped-def]
    """One retention run of the application's retention plugin, at the harness clock."""
    return await h.ctx.pm.get_plugin("retention").run_once(h.ctx)
