"""Reminders: due at `start - reminder_hours`, sent once through the booking channel and by
e-mail, surviving restarts, never for a moved or cancelled appointment, never twice even with
two workers on one database (SQLite and PostgreSQL). Time is injected; nothing sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from assistant.booking import book as booking
from assistant.booking import cancel, reschedule
from assistant.booking.availability import free_slots
from assistant.config import load_config
from assistant.testing import Harness
from tests.support.mail import ANNA, CONFIG, book

if TYPE_CHECKING:
    from assistant.testing.peers.smtp import SMTPPeer



def reminders(h: Harness, sender: str = "anna") -> list[str]:
    return [r.text for who, replies in h.channel.delivered if who == sender for r in replies
            if r.key == "reminder"]


def reminder_mails(smtp: SMTPPeer, address: str = ANNA) -> list[str]:
    return [m["Subject"] for m in smtp.to(address) if m["Subject"].startswith("Erinnerung")]


@pytest.fixture
async def mail_harness(smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch
                       ) -> AsyncIterator[Harness]:
    smtp_server.env(monkeypatch)
    async with Harness(config=CONFIG) as h:
        yield h


async def test_reminder_fires_once_at_the_right_time(mail_harness: Harness,
                                                     smtp_server: SMTPPeer) -> None:
    h = mail_harness
    a = await book(h, days=2)
    await h.run_outbox_now()
    due = a.start - timedelta(hours=24)
    h.clock.now = due - timedelta(minutes=1)
    await h.run_outbox_now()
    assert reminders(h) == [] and reminder_mails(smtp_server) == []
    h.clock.now = due
    await h.run_outbox_now()
    [chat] = reminders(h)
    assert a.display_reference in chat and "Bürgerbüro Riesa" in chat
    [mail] = reminder_mails(smtp_server)
    assert a.display_reference in mail
    for _ in range(3):
        h.clock.advance(hours=2)
        await h.run_outbox_now()
    assert len(reminders(h)) == 1 and len(reminder_mails(smtp_server)) == 1


async def test_every_configured_lead_time_fires(smtp_server: SMTPPeer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    smtp_server.env(monkeypatch)
    cfg = load_config(CONFIG)
    cfg = cfg.model_copy(update={"booking": cfg.booking.model_copy(
        update={"reminder_hours": [48, 2]})})
    async with Harness(config=cfg) as h:
        a = await book(h, days=3)
        fired = []
        for due in (a.start - timedelta(hours=48), a.start - timedelta(hours=2)):
            h.clock.now = due - timedelta(seconds=1)
            await h.run_outbox_now()
            fired.append(len(reminders(h)))
            h.clock.now = due
            await h.run_outbox_now()
            fired.append(len(reminders(h)))
        assert fired == [0, 1, 1, 2]
        mails = [m for m in smtp_server.to(ANNA) if m["Subject"].startswith("Erinnerung")]
        assert len(mails) == 2 and mails[0]["Message-ID"] != mails[1]["Message-ID"]


async def test_reminder_survives_a_restart(smtp_server: SMTPPeer,
                                           monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    smtp_server.env(monkeypatch)
    url = f"sqlite+aiosqlite:///{tmp_path}/restart.sqlite3"
    async with Harness(config=CONFIG, database_url=url) as before:
        a = await book(before, days=2)
        await before.run_outbox_now()
    async with Harness(config=CONFIG, database_url=url,
                       now=a.start - timedelta(hours=23)) as after:
        await after.run_outbox_now()
        await after.run_outbox_now()
        assert len(reminders(after)) == 1
    assert len(reminder_mails(smtp_server)) == 1


async def test_a_moved_appointment_is_reminded_at_its_new_time_only(
        mail_harness: Harness, smtp_server: SMTPPeer) -> None:
    h = mail_harness
    a = await book(h, days=2)
    frm = a.start + timedelta(days=2)
    slot = (await free_slots(h.ctx, a.service, a.office, frm, frm + timedelta(days=7), limit=1))[0]
    hold = await booking.hold(h.ctx, a.office, slot.start, slot.end)
    assert hold
    assert await reschedule.move(h.ctx, a.id, hold, slot.start, slot.end,
                                 booking.Origin("test", "anna", "de"))
    h.clock.now = a.start - timedelta(hours=24)
    await h.run_outbox_now()
    assert reminders(h) == [] and reminder_mails(smtp_server) == []
    h.clock.now = slot.start - timedelta(hours=24)
    await h.run_outbox_now()
    [chat] = reminders(h)
    assert len(reminder_mails(smtp_server)) == 1
    assert slot.start.astimezone(h.ctx.config.office(a.office).tz).strftime("%H:%M") in chat


async def test_a_cancelled_appointment_is_not_reminded(mail_harness: Harness,
                                                       smtp_server: SMTPPeer) -> None:
    h = mail_harness
    a = await book(h, days=2)
    await cancel.cancel(h.ctx, a.id, booking.Origin("test", "anna", "de"))
    h.clock.now = a.start - timedelta(hours=1)
    await h.run_outbox_now()
    assert reminders(h) == [] and reminder_mails(smtp_server) == []


async def _two_workers(first: Harness, second: Harness, smtp: SMTPPeer, n: int) -> None:
    """Book `n` appointments, then let both workers run everything due at the same moment."""
    booked = [await book(first, email=f"c{i}@example.org", name=f"Bürger Nummer{i}", days=2,
                         office=("riesa", "meissen")[i % 2]) for i in range(n)]
    later = max(a.start for a in booked) - timedelta(hours=1)
    first.clock.now = second.clock.now = later
    assert first.ctx.outbox and second.ctx.outbox
    done = await asyncio.gather(first.ctx.outbox.run_due(limit=10_000),
                                second.ctx.outbox.run_due(limit=10_000))
    assert all(done), f"both workers should have worked: {done}"
    chats = [who for h in (first, second) for who, replies in h.channel.delivered
             for r in replies if r.key == "reminder"]
    assert sorted(chats) == ["anna"] * n  # every reminder exactly once, across both workers
    for a in booked:
        subjects = [m["Subject"] for m in smtp.to(a.email or "")]
        assert len(subjects) == 2, subjects  # confirmation and reminder, no duplicates
    assert sum(done) == 3 * n  # calendar, notify and reminder items: each ran once


async def test_two_workers_send_each_reminder_once_on_sqlite(
        smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    smtp_server.env(monkeypatch)
    url = f"sqlite+aiosqlite:///{tmp_path}/workers.sqlite3"
    async with Harness(config=CONFIG, database_url=url) as first, \
            Harness(config=CONFIG, database_url=url) as second:
        await _two_workers(first, second, smtp_server, 12)


@pytest.mark.postgres
async def test_two_workers_send_each_reminder_once_on_postgres(
        pg_url: str, smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp_server.env(monkeypatch)
    async with Harness(config=CONFIG, database_url=pg_url) as first, \
            Harness(config=CONFIG, database_url=pg_url) as second:
        async with first.ctx.db() as session:
            await session.execute(text("TRUNCATE appointments, occupancy, outbox, events "
                                       "CASCADE"))
            await session.commit()
        await _two_workers(first, second, smtp_server, 12)
