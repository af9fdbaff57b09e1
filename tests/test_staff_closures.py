"""Closures and absences in the back office (issue 16): a clerk enters a closure on the
office's day, sees the booked appointments it affects before saving, and on saving each
affected citizen gets a `closure` notice through the outbox while the appointment stays
booked (marked on the day until it is moved); no new booking lands in the closure. Every
form needs the CSRF token and the clerk's office."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from html import unescape
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from assistant.booking import availability, book, reschedule
from assistant.staff import sessions
from assistant.storage.models import Appointment, AuditEntry, OutboxItem, StaffClosure
from assistant.testing import BERLIN, Harness
from tests.conftest import NOW
from tests.support.mail import ANNA, link_path
from tests.support.mail import CONFIG as MAIL_CONFIG
from tests.support.mail import body as mail_body
from tests.support.mail import book as mail_book
from tests.support.staff import Browser, add_user, book_at

if TYPE_CHECKING:
    from assistant.testing.peers.smtp import SMTPPeer

DAY = "/staff/offices/riesa/days/2026-11-23"
CLOSURES = "/staff/offices/riesa/closures"
MIDDAY = {"day": "2026-11-23", "scope": "hours", "from": "10:00", "to": "11:00",
          "counter": "", "reason": "Stromausfall im Bürgerbüro"}


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness(now=NOW) as harness:
        await add_user(harness, "anna", ["riesa"])
        await add_user(harness, "max", ["meissen"])
        yield harness


@pytest.fixture
async def browser(h: Harness) -> AsyncIterator[Browser]:
    b = await Browser.open(h)
    await b.login("anna")
    yield b
    await b.close()


def text(page: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def closure_notices(h: Harness) -> list[tuple[int, str]]:
    async with h.ctx.db() as session:
        return [(i.payload["appointment_id"], i.payload["extra"]["reason"])
                for i in await session.scalars(select(OutboxItem).where(
                    OutboxItem.kind == "notify").order_by(OutboxItem.id))
                if i.payload["event"] == "closure"]


async def stored(h: Harness) -> list[StaffClosure]:
    async with h.ctx.db() as session:
        return list(await session.scalars(select(StaffClosure)))


async def test_a_closure_lists_the_affected_then_tells_them_and_blocks_new_bookings(
        h: Harness, browser: Browser) -> None:
    ten = await book_at(h, "riesa", 10, name="Greta Hoffmann")
    eleven = await book_at(h, "riesa", 10, 30, name="Paul Weber")
    later = await book_at(h, "riesa", 11, 15, name="Ida Krause")
    _, day = await browser.get(DAY)
    assert f'href="{CLOSURES}?day=2026-11-23"' in day and "Schließung / Abwesenheit" in day
    r, form = await browser.get(f"{CLOSURES}?day=2026-11-23")
    assert r.status == 200 and 'name="reason"' in form

    # Before saving: the booked appointments it affects, and nothing stored or sent.
    r, page = await browser.post(CLOSURES, MIDDAY)
    shown = text(page)
    assert r.status == 200 and "Betroffene Termine: 2" in shown
    assert ten.reference in page and eleven.reference in page and later.reference not in page
    assert "Greta Hoffmann" in shown and "Paul Weber" in shown
    assert await stored(h) == [] and await closure_notices(h) == []

    r, _ = await browser.post(CLOSURES, {**MIDDAY, "confirm": "yes"})
    assert r.status == 303 and r.headers["Location"].startswith(DAY)
    assert sorted(await closure_notices(h)) == sorted(
        [(ten.id, MIDDAY["reason"]), (eleven.id, MIDDAY["reason"])])
    async with h.ctx.db() as session:
        statuses = {a.id: a.status for a in await session.scalars(select(Appointment))}
        audited = sorted((e.action, e.appointment_id) for e in await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "closure")))
    assert statuses == {ten.id: "booked", eleven.id: "booked", later.id: "booked"}
    assert audited == sorted([("closure", ten.id), ("closure", eleven.id)])

    _, day = await browser.get(r.headers["Location"])
    assert "Benachrichtigte Termine: 2" in text(day)
    assert text(day).count("von Schließung betroffen") == 2
    assert "Stromausfall im Bürgerbüro" in text(day)

    # No new booking lands in it, through the booking service or the offered slots.
    free = await availability.free_slots(
        h.ctx, "personalausweis", "riesa", datetime(2026, 11, 23, 0, 0, tzinfo=BERLIN),
        datetime(2026, 11, 23, 23, 59, tzinfo=BERLIN))
    starts = [s.start for s in free]
    assert starts and not [s for s in free if s.start < datetime(2026, 11, 23, 11, 0,
                                                                   tzinfo=BERLIN)
                           and s.end > datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)]
    refused = await book.book_now(
        h.ctx, service_id="personalausweis", office_id="riesa",
        start=datetime(2026, 11, 23, 10, 15, tzinfo=BERLIN),
        citizen=book.Citizen("Otto Lang"), origin=book.Origin("webchat", "w-otto", "de"))
    assert refused is None
    assert await book.book_now(
        h.ctx, service_id="personalausweis", office_id="riesa",
        start=datetime(2026, 11, 23, 11, 0, tzinfo=BERLIN),
        citizen=book.Citizen("Otto Lang"), origin=book.Origin("webchat", "w-otto", "de"))

    # A clerk cannot move one into the closure either; moved out, it is no longer marked.
    end = datetime(2026, 11, 23, 10, 35, tzinfo=BERLIN)
    assert await reschedule.move(
        h.ctx, later.id, "", end - timedelta(minutes=later_minutes(later)), end,
        book.Origin("staff", None, "de", actor="staff")) is None
    start = datetime(2026, 11, 23, 11, 30, tzinfo=BERLIN)
    moved = await reschedule.move(h.ctx, ten.id, "", start,
                                  start + timedelta(minutes=later_minutes(ten)),
                                  book.Origin("staff", None, "de", actor="staff"))
    assert moved is not None
    _, day = await browser.get(DAY)
    assert text(day).count("von Schließung betroffen") == 1


def later_minutes(view: object) -> int:
    return int((view.end - view.start).total_seconds() // 60)  # type: ignore[attr-defined]


async def test_a_counter_absence_blocks_only_that_counter(h: Harness, browser: Browser) -> None:
    await browser.get(DAY)
    r, _ = await browser.post(CLOSURES, {**MIDDAY, "scope": "counter", "from": "",
                                         "to": "", "counter": "1", "confirm": "yes"})
    assert r.status == 303
    free = await availability.free_slots(
        h.ctx, "personalausweis", "riesa", datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN),
        datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN))
    assert free and 1 not in free[0].free_counters


async def test_an_unfinished_form_is_shown_again_with_what_is_missing(
        h: Harness, browser: Browser) -> None:
    await browser.get(DAY)
    r, page = await browser.post(CLOSURES, {**MIDDAY, "to": "09:00", "reason": " ",
                                            "confirm": "yes"})
    assert r.status == 400 and "Bitte einen Grund angeben" in text(page)
    assert "muss nach „von“ liegen" in text(page) and await stored(h) == []


async def test_another_offices_clerk_gets_403(h: Harness) -> None:
    await book_at(h, "riesa", 10)
    b = await Browser.open(h)
    try:
        await b.login("max")
        r, _ = await b.get(f"{CLOSURES}?day=2026-11-23")
        assert r.status == 403
        r, _ = await b.post(CLOSURES, {**MIDDAY, "confirm": "yes"})
        assert r.status == 403
    finally:
        await b.close()
    assert await stored(h) == [] and await closure_notices(h) == []


async def test_a_form_without_csrf_token_gets_403(h: Harness, browser: Browser) -> None:
    await book_at(h, "riesa", 10)
    await browser.get(DAY)
    r, _ = await browser.post(CLOSURES, {**MIDDAY, "confirm": "yes"}, csrf=False)
    assert r.status == 403
    r, _ = await browser.post(CLOSURES, {**MIDDAY, "confirm": "yes", "csrf_token": "forged"},
                              csrf=False)
    assert r.status == 403
    assert await stored(h) == [] and await closure_notices(h) == []


async def test_the_citizen_gets_a_mail_with_the_reason_and_the_link(
        smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp_server.env(monkeypatch)
    # The mail configuration's public address is https: the test's plain-HTTP browser must
    # still get its cookies back.
    monkeypatch.setattr(sessions, "secure_cookies", lambda request, server: False)
    async with Harness(config=MAIL_CONFIG) as h:
        await add_user(h, "anna", ["riesa"])
        a = await mail_book(h)
        await h.run_outbox_now()
        smtp_server.messages.clear()
        b = await Browser.open(h)
        try:
            await b.login("anna")
            local = a.start.astimezone(BERLIN)
            r, _ = await b.post(CLOSURES, {"day": local.date().isoformat(), "scope": "day",
                                           "from": "", "to": "", "counter": "",
                                           "reason": "Betriebsausflug", "confirm": "yes"})
            assert r.status == 303 and r.headers["Location"].endswith("closed=1"), r.headers
        finally:
            await b.close()
        await h.run_outbox_now()
        [msg] = smtp_server.to(ANNA)
        assert msg["Subject"].startswith(f"Bitte neuen Termin wählen {a.display_reference}")
        assert "Betriebsausflug" in mail_body(msg) and "bleibt Ihr Termin gebucht" in mail_body(msg)
        assert link_path(msg).startswith("/termin/")
        async with h.ctx.db() as session:
            assert (await session.get(Appointment, a.id)).status == "booked"  # type: ignore[union-attr]
