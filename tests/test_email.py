"""E-mail confirmations against a real SMTP server (aiosmtpd): content, .ics, link, failures."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import select

from assistant.booking import book as booking
from assistant.booking import reschedule
from assistant.booking.availability import free_slots
from assistant.config import ConfigError, load_config
from assistant.storage.models import Appointment, OutboxItem
from assistant.testing import Harness, button, texts
from tests.support.mail import ANNA, CONFIG, body, book, link_path

if TYPE_CHECKING:
    from assistant.testing.peers.smtp import SMTPPeer

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def mail_harness(smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch
                       ) -> AsyncIterator[Harness]:
    smtp_server.env(monkeypatch)
    async with Harness(config=CONFIG) as h:
        yield h


def calendar_of(msg: EmailMessage) -> Calendar:
    parts = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return Calendar.from_ical(parts[0].get_content())


async def outbox(h: Harness, kind: str) -> list[OutboxItem]:
    async with h.ctx.db() as session:
        return list(await session.scalars(select(OutboxItem).where(OutboxItem.kind == kind)))


async def test_confirmation_mail_has_everything_and_a_calendar_file(
        mail_harness: Harness, smtp_server: SMTPPeer) -> None:
    h = mail_harness
    a = await book(h)
    assert smtp_server.messages == []  # nothing is sent while the citizen waits
    await h.run_outbox_now()
    [msg] = smtp_server.to(ANNA)
    assert msg["To"].addresses[0].display_name == "Anna Müller"
    assert msg["From"].addresses[0].addr_spec == "termine@kreis-meissen.example"
    assert msg["Subject"].startswith(f"Terminbestätigung {a.display_reference}: Personalausweis")
    assert msg["Content-Language"] == "de" and msg["Auto-Submitted"] == "auto-generated"
    text = body(msg)
    local = a.start.astimezone(BERLIN)
    for expected in ("Guten Tag Anna Müller", a.display_reference, "Bürgerbüro Riesa",
                     "Riesa", "Passfoto", "37,00 €", local.strftime("%H:%M"),
                     f"{local.day}. ", "Bitte bringen Sie mit"):
        assert expected in text, expected
    assert "Bürgerbüro Riesa" in body(msg, "html") and "<li>" in body(msg, "html")

    cal = calendar_of(msg)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    [event] = cal.walk("VEVENT")
    start = event.decoded("DTSTART")
    assert start == a.start and start.utcoffset() == local.utcoffset()
    assert str(start.tzinfo) == "Europe/Berlin"
    assert event.decoded("DTEND") == a.end
    assert str(event["UID"]) == f"{a.reference}@kreis-meissen.example"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert "Bürgerbüro Riesa" in str(event["LOCATION"])


async def test_english_booking_gets_an_english_mail(mail_harness: Harness,
                                                    smtp_server: SMTPPeer) -> None:
    a = await book(mail_harness, lang="en", name="John Smith", email="john@example.org")
    await mail_harness.run_outbox_now()
    [msg] = smtp_server.to("john@example.org")
    assert msg["Subject"].startswith(f"Appointment confirmed {a.display_reference}: ID card")
    assert msg["Content-Language"] == "en"
    text = body(msg)
    assert "Dear John Smith" in text and "biometric passport photo" in text
    assert "Personalausweis" not in text
    [event] = calendar_of(msg).walk("VEVENT")
    assert str(event["SUMMARY"]) == "ID card – Citizens' office Riesa"


async def test_link_shows_the_appointment_and_cancels_only_after_the_button(
        mail_harness: Harness, smtp_server: SMTPPeer) -> None:
    h = mail_harness
    a = await book(h)
    await h.run_outbox_now()
    path = link_path(smtp_server.to(ANNA)[0])
    client = await h.http()
    items_before = len(await outbox(h, "notify"))

    for _ in range(3):  # a mail scanner and the citizen both open the link
        page = await client.get(path)
        assert page.status == 200
        html = await page.text()
        assert a.display_reference in html and "Personalausweis" in html
    async with h.ctx.db() as session:
        row = await session.get(Appointment, a.id)
        assert row is not None and row.status == "booked" and row.updated_at == a.updated_at
    assert len(await outbox(h, "notify")) == items_before

    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert csrf
    done = await client.post(f"{path}/cancel", data={"csrf": csrf.group(1), "confirm": "yes"},
                             allow_redirects=False)
    assert done.status == 303
    async with h.ctx.db() as session:
        row = await session.get(Appointment, a.id)
        assert row is not None and row.status == "cancelled"
    await h.run_outbox_now()
    mails = smtp_server.to(ANNA)
    assert len(mails) == 2
    cancelled = mails[1]
    assert cancelled["Subject"].startswith(f"Termin abgesagt {a.display_reference}")
    assert "/termin/" not in body(cancelled)  # no link to a cancelled appointment
    [event] = calendar_of(cancelled).walk("VEVENT")
    [first] = calendar_of(mails[0]).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and str(event["UID"]) == str(first["UID"])
    assert int(event["SEQUENCE"]) > int(first["SEQUENCE"])


async def test_rescheduled_mail_carries_the_new_time(mail_harness: Harness,
                                                     smtp_server: SMTPPeer) -> None:
    h = mail_harness
    a = await book(h)
    await h.run_outbox_now()
    h.clock.advance(minutes=10)
    frm = a.start + timedelta(days=1)
    slot = (await free_slots(h.ctx, a.service, a.office, frm, frm + timedelta(days=7), limit=1))[0]
    hold = await booking.hold(h.ctx, a.office, slot.start, slot.end)
    assert hold
    moved = await reschedule.move(h.ctx, a.id, hold, slot.start, slot.end,
                                  booking.Origin("test", "anna", "de"))
    assert moved is not None
    await h.run_outbox_now()
    first, second = smtp_server.to(ANNA)
    assert second["Subject"].startswith(f"Termin verschoben {a.display_reference}")
    [event] = calendar_of(second).walk("VEVENT")
    assert event.decoded("DTSTART") == slot.start
    assert int(event["SEQUENCE"]) > int(calendar_of(first).walk("VEVENT")[0]["SEQUENCE"])
    assert link_path(second) != link_path(first)  # the new link expires with the new time


async def test_no_address_no_mail(mail_harness: Harness, smtp_server: SMTPPeer) -> None:
    await book(mail_harness, email=None, phone="+4915112345678")
    assert await mail_harness.run_outbox_now() >= 1
    assert smtp_server.messages == []
    assert all(i.done_at is not None for i in await outbox(mail_harness, "notify"))


async def test_recipient_refused_for_good_is_not_retried(mail_harness: Harness,
                                                          smtp_server: SMTPPeer) -> None:
    smtp_server.refuse.add("gone@example.org")
    await book(mail_harness, email="gone@example.org")
    await mail_harness.run_outbox_now()
    assert smtp_server.messages == []
    [item] = await outbox(mail_harness, "notify")
    assert item.done_at is not None and item.attempts == 1


async def test_deferred_recipient_is_retried_without_storing_the_address(
        mail_harness: Harness, smtp_server: SMTPPeer) -> None:
    h = mail_harness
    smtp_server.defer.add(ANNA)
    await book(h)
    await h.run_outbox_now()
    [item] = await outbox(h, "notify")
    assert item.done_at is None and "deferred (450)" in (item.last_error or "")
    assert ANNA not in (item.last_error or "")
    smtp_server.defer.clear()
    h.clock.advance(minutes=16)
    await h.run_outbox_now()
    assert len(smtp_server.to(ANNA)) == 1


async def test_mail_waits_while_the_server_is_down_and_goes_out_once_it_is_back(
        mail_harness: Harness, smtp_server: SMTPPeer) -> None:
    h = mail_harness
    smtp_server.stop()
    await book(h)
    await h.run_outbox_now()
    [item] = await outbox(h, "notify")
    assert item.done_at is None and "connect" in (item.last_error or "").lower()
    smtp_server.start()
    await h.run_outbox_now()  # backoff: not due yet
    assert smtp_server.messages == []
    h.clock.advance(minutes=16)
    await h.run_outbox_now()
    h.clock.advance(minutes=16)
    await h.run_outbox_now()
    assert len(smtp_server.to(ANNA)) == 1


async def test_starttls_and_login(smtp_tls_server: SMTPPeer,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    smtp_tls_server.env(monkeypatch, login=True)
    async with Harness(config=CONFIG) as h:
        a = await book(h)
        await h.run_outbox_now()
    [received] = smtp_tls_server.messages
    assert received.tls and received.login in smtp_tls_server.users
    assert a.display_reference in received.message["Subject"]


async def test_wrong_password_is_retried_and_never_stored(
        smtp_tls_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "wrong-Passwort-123"
    smtp_tls_server.env(monkeypatch, login=True, password=wrong)
    async with Harness(config=CONFIG) as h:
        await book(h)
        await h.run_outbox_now()
        [item] = await outbox(h, "notify")
        assert item.done_at is None and "Authentication" in (item.last_error or "")
        assert wrong not in (item.last_error or "")
        smtp_tls_server.env(monkeypatch, login=True)  # the admin fixes the password
        h.clock.advance(minutes=16)
        await h.run_outbox_now()
    assert len(smtp_tls_server.messages) == 1


async def test_starttls_and_tls_together_is_a_config_error(
        smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    smtp_server.env(monkeypatch)
    text = CONFIG.read_text(encoding="utf-8").replace(
        "    timeout_seconds: 5\n", "    timeout_seconds: 5\n    starttls: true\n    tls: true\n"
    ).replace("starttls: ${AMTSBOTE_TEST_SMTP_STARTTLS:-false}\n", "")
    bad = tmp_path / "bad.yml"
    bad.write_text(text.replace("../../catalogue.yml", str(CONFIG.parent.parent.parent
                                                          / "catalogue.yml")), encoding="utf-8")
    with pytest.raises(ConfigError, match="starttls"):
        async with Harness(config=load_config(bad)):
            pass


@pytest.mark.rasa
async def test_booking_in_the_chat_with_an_email_address_sends_the_confirmation(
        rasa_url: str, smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp_server.env(monkeypatch)
    async with Harness(config=CONFIG, nlu_url=rasa_url) as h:
        replies = await h.say("Ich brauche einen neuen Personalausweis in Riesa, gern Mittwoch")
        if "Name" not in texts(replies):
            replies = await h.say("1")
        assert "Name" in texts(replies), texts(replies)
        replies = await h.say("Jörg Weiß")
        replies = await h.say(f"Meine Mail ist {'joerg.weiss@example.org'}")
        assert "joerg.weiss@example.org" in texts(replies)
        replies = await h.click(button(replies, "ja"))
        [done] = [r for r in replies if r.key == "book.done"]
        reference = done.data["reference"]
        await h.run_outbox_now()
    [msg] = smtp_server.to("joerg.weiss@example.org")
    assert reference in msg["Subject"]
    assert msg["To"].addresses[0].display_name == "Jörg Weiß"
    assert "Guten Tag Jörg Weiß" in body(msg)
