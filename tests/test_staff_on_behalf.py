"""Booking, moving and cancelling on behalf in the back office (issue 16): a clerk books for a
caller from the office's free times, moves and cancels from the day's rows after a
confirmation; the booking services validate as for the chat (a taken time is a polite error
with the form again, never an overlap); the citizen's notice is queued in the outbox; every
form needs the CSRF token and the clerk's office; each change is audited with the clerk's
handling time from opening the form to saving."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape

import pytest
from sqlalchemy import func, select

from assistant.storage.models import Appointment, AuditEntry, OutboxItem
from assistant.testing import Harness
from tests.conftest import NOW
from tests.support.staff import Browser, add_user, book_at, offered, opened

DAY = "/staff/offices/riesa/days/2026-11-23"
BOOK = "/staff/offices/riesa/book"
AT_10 = "2026-11-23T10:00:00+01:00"
AT_11 = "2026-11-23T11:00:00+01:00"
CALLER = {"service": "personalausweis", "day": "2026-11-23", "name": "Greta Hoffmann",
          "phone": "0171 2345678", "email": "greta@example.org", "channel": "phone",
          "language": "de"}


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


async def booked(h: Harness) -> list[Appointment]:
    async with h.ctx.db() as session:
        return list(await session.scalars(
            select(Appointment).where(Appointment.status == "booked").order_by(Appointment.id)))


async def audit_rows(h: Harness) -> list[tuple[str, int | None, int | None]]:
    async with h.ctx.db() as session:
        return [(e.action, e.appointment_id, e.duration_ms) for e in await session.scalars(
            select(AuditEntry).where(AuditEntry.action != "view").order_by(AuditEntry.id))]


async def notices(h: Harness) -> list[tuple[int, str]]:
    async with h.ctx.db() as session:
        return [(i.payload["appointment_id"], i.payload["event"]) for i in await session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "notify").order_by(OutboxItem.id))]


async def test_a_clerk_books_for_a_caller(h: Harness, browser: Browser) -> None:
    _, day = await browser.get(DAY)
    assert f'href="{BOOK}?day=2026-11-23"' in day and "Termin buchen (Anruf oder Schalter)" in day
    r, page = await browser.get(f"{BOOK}?day=2026-11-23")
    assert r.status == 200 and "Personalausweis" in page and offered(page) == []
    stamp = opened(page)
    r, page = await browser.get(f"{BOOK}?service=personalausweis&day=2026-11-23&opened={stamp}")
    assert r.status == 200 and opened(page) == stamp  # the form's opening is kept
    times = offered(page)
    assert times[0] == AT_10  # 09:00 now, an hour's notice: the chat's first slot
    assert "2026-11-23T09:45:00+01:00" not in times and AT_11 in times
    h.clock.advance(seconds=95)
    r, _ = await browser.post(BOOK, {**CALLER, "start": AT_11, "opened": stamp})
    assert r.status == 303
    [a] = await booked(h)
    assert r.headers["Location"] == f"{DAY}?done=booked&a={a.id}#a{a.id}"
    assert (a.channel, a.citizen_name, a.phone, a.email, a.sender) == (
        "phone", "Greta Hoffmann", "+491712345678", "greta@example.org", None)
    assert a.start.isoformat() == "2026-11-23T10:00:00+00:00" and a.language == "de"

    _, page = await browser.get(r.headers["Location"])
    shown = text(page)
    assert f"Gebucht: Vorgangsnummer {a.reference}, 11:00 Uhr, Schalter {a.counter}." in shown
    assert (f"11:00–11:20 Personalausweis {a.reference} Greta Hoffmann Telefon (Mitarbeitende)"
            " gebucht") in shown
    assert await notices(h) == [(a.id, "booked")]  # the confirmation by SMS and e-mail
    assert await audit_rows(h) == [("booked", a.id, 95_000)]  # opening the form to saving
    async with h.ctx.db() as session:
        row = await session.scalar(select(AuditEntry).where(AuditEntry.action == "booked"))
        assert row is not None and row.at == h.ctx.now()


async def test_a_taken_time_is_a_polite_error_and_nothing_is_stored(
        h: Harness, browser: Browser) -> None:
    _, page = await browser.get(f"{BOOK}?service=personalausweis&day=2026-11-23")
    assert AT_10 in offered(page)
    first = await book_at(h, "riesa", 10, name="Anna Müller")  # both counters taken meanwhile
    second = await book_at(h, "riesa", 10, name="Bernd Schulz")
    r, page = await browser.post(BOOK, {**CALLER, "start": AT_10, "opened": opened(page)})
    assert r.status == 409
    assert "Diese Zeit ist inzwischen vergeben" in page and 'role="alert"' in page
    assert 'value="Greta Hoffmann"' in page and 'value="0171 2345678"' in page
    assert 'value="greta@example.org"' in page
    assert AT_10 not in offered(page) and AT_11 in offered(page)
    assert [a.id for a in await booked(h)] == [first.id, second.id]
    assert await audit_rows(h) == []
    assert await notices(h) == [(first.id, "booked"), (second.id, "booked")]


async def test_never_an_overlap_whatever_the_form_says(h: Harness, browser: Browser) -> None:
    await book_at(h, "riesa", 10)
    await book_at(h, "riesa", 10)
    await browser.get(BOOK)
    for start in ("2026-11-23T10:15:00+01:00",  # inside both 10:00–10:20
                  "2026-11-23T10:05:00+01:00",  # off the grid
                  "2026-11-23T09:15:00+01:00",  # too soon
                  "2026-11-23T12:00:00+01:00"):  # closed
        r, page = await browser.post(BOOK, {**CALLER, "start": start})
        assert r.status == 409, start
        assert "nichts gebucht" in page
    r, page = await browser.post(BOOK, {**CALLER, "start": "10 Uhr", "name": " ",
                                        "phone": "12", "email": "greta@", "channel": "fax"})
    assert r.status == 400
    shown = text(page)
    for problem in ("Bitte wählen Sie eine der freien Zeiten.", "Bitte geben Sie den Namen an.",
                    "Die Telefonnummer ist ungültig.", "Die E-Mail-Adresse ist ungültig.",
                    "Bitte wählen Sie, wie die Anfrage kam."):
        assert problem in shown
    assert len(await booked(h)) == 2
    r, _ = await browser.post(BOOK, {**CALLER, "start": "2026-11-23T10:30:00+01:00",
                                     "phone": "", "email": "", "channel": "counter"})
    assert r.status == 303  # the next free time: fine
    rows = await booked(h)
    for x in rows:
        for y in rows:
            if x.id != y.id and x.counter == y.counter:
                assert x.end <= y.start or y.end <= x.start
    assert rows[-1].channel == "counter" and rows[-1].phone is None and rows[-1].email is None


async def test_move_after_a_confirmation(h: Harness, browser: Browser) -> None:
    a = await book_at(h, "riesa", 10, name="Anna Müller")
    other = await book_at(h, "riesa", 11, 30)
    await book_at(h, "riesa", 11, 30)  # 11:30 is full
    _, day = await browser.get(DAY)
    move = f"/staff/offices/riesa/appointments/{a.id}/move"
    assert f'href="{move}"' in day and "Verschieben" in day
    r, page = await browser.get(move)
    assert r.status == 200 and a.reference in page and "Anna Müller" in page
    times = offered(page)
    assert AT_10 not in times and AT_11 in times and "2026-11-23T11:30:00+01:00" not in times
    stamp = opened(page)
    h.clock.advance(seconds=30)
    r, page = await browser.post(move, {"start": AT_11, "opened": stamp})
    assert r.status == 200 and "Termin wirklich verschieben?" in page
    assert "Neu: Montag, 23. November 2026, 11:00–11:20 Uhr" in text(page)
    [row] = [x for x in await booked(h) if x.id == a.id]
    assert row.start.isoformat() == "2026-11-23T09:00:00+00:00"  # nothing changed yet
    h.clock.advance(seconds=20)
    r, _ = await browser.post(move, {"start": AT_11, "opened": opened(page), "confirm": "yes"})
    assert r.status == 303 and r.headers["Location"] == f"{DAY}?done=moved&a={a.id}#a{a.id}"
    [row] = [x for x in await booked(h) if x.id == a.id]
    assert row.start.isoformat() == "2026-11-23T10:00:00+00:00"
    assert (a.id, "rescheduled") in await notices(h)
    assert await audit_rows(h) == [("moved", a.id, 50_000)]
    _, page = await browser.get(r.headers["Location"])
    assert f"Verschoben: Vorgangsnummer {a.reference} jetzt um 11:00 Uhr" in text(page)

    # A time taken meanwhile: the form again, nothing moved.
    r, page = await browser.post(move, {"start": "2026-11-23T11:30:00+01:00", "confirm": "yes"})
    assert r.status == 409 and "nichts verschoben" in page
    [row] = [x for x in await booked(h) if x.id == a.id]
    assert row.start.isoformat() == "2026-11-23T10:00:00+00:00"
    assert other.id in {x.id for x in await booked(h)}


async def test_cancel_after_a_confirmation(h: Harness, browser: Browser) -> None:
    a = await book_at(h, "riesa", 10, name="Anna Müller")
    cancel = f"/staff/offices/riesa/appointments/{a.id}/cancel"
    _, day = await browser.get(DAY)
    assert f'href="{cancel}"' in day
    h.clock.advance(seconds=5)
    r, page = await browser.get(cancel)
    assert r.status == 200 and "Termin wirklich absagen?" in page and a.reference in page
    assert await booked(h)  # the confirmation page changes nothing
    h.clock.advance(seconds=12)
    r, _ = await browser.post(cancel, {"opened": opened(page)})
    assert r.status == 303 and r.headers["Location"] == f"{DAY}?done=cancelled&a={a.id}#a{a.id}"
    assert await booked(h) == []
    assert await notices(h) == [(a.id, "booked"), (a.id, "cancelled")]
    assert await audit_rows(h) == [("cancelled", a.id, 12_000)]
    _, page = await browser.get(r.headers["Location"])
    assert f"Abgesagt: Vorgangsnummer {a.reference}" in text(page)
    assert f'href="{cancel}"' not in page  # a cancelled row offers no move or cancel
    r, _ = await browser.get(cancel)
    assert r.status == 409
    r, _ = await browser.post(cancel, {})
    assert r.status == 409
    assert await audit_rows(h) == [("cancelled", a.id, 12_000)]


async def test_another_offices_clerk_gets_403_and_changes_nothing(h: Harness) -> None:
    a = await book_at(h, "riesa", 10)
    theirs = await book_at(h, "meissen", 10)
    b = await Browser.open(h)
    try:
        await b.login("max")
        for path in (BOOK, f"{BOOK}?service=personalausweis&day=2026-11-23",
                     f"/staff/offices/riesa/appointments/{a.id}/move",
                     f"/staff/offices/riesa/appointments/{a.id}/cancel"):
            r, page = await b.get(path)
            assert r.status == 403 and "Kein Zugriff" in page, path
        for path, form in ((BOOK, {**CALLER, "start": AT_11}),
                           (f"/staff/offices/riesa/appointments/{a.id}/move",
                            {"start": AT_11, "confirm": "yes"}),
                           (f"/staff/offices/riesa/appointments/{a.id}/cancel", {})):
            r, _ = await b.post(path, form)
            assert r.status == 403, path
        # Their own office's path with a Riesa appointment: not found there.
        r, _ = await b.post(f"/staff/offices/meissen/appointments/{a.id}/cancel", {})
        assert r.status == 404
        r, _ = await b.get(f"/staff/offices/meissen/appointments/{theirs.id}/cancel")
        assert r.status == 200
    finally:
        await b.close()
    assert {x.id for x in await booked(h)} == {a.id, theirs.id}
    [row] = [x for x in await booked(h) if x.id == a.id]
    assert row.start.isoformat() == "2026-11-23T09:00:00+00:00"
    assert await audit_rows(h) == []


async def test_every_form_needs_the_csrf_token(h: Harness, browser: Browser) -> None:
    a = await book_at(h, "riesa", 10)
    for path, form in ((BOOK, {**CALLER, "start": AT_11}),
                       (f"/staff/offices/riesa/appointments/{a.id}/move",
                        {"start": AT_11, "confirm": "yes"}),
                       (f"/staff/offices/riesa/appointments/{a.id}/cancel", {})):
        r, page = await browser.post(path, form, csrf=False)
        assert r.status == 403 and "Formular abgelaufen" in page, path
        r, _ = await browser.post(path, {**form, "csrf_token": "forged"}, csrf=False)
        assert r.status == 403, path
    assert [x.id for x in await booked(h)] == [a.id]
    [row] = await booked(h)
    assert row.start.isoformat() == "2026-11-23T09:00:00+00:00"
    assert await audit_rows(h) == []
    async with h.ctx.db() as session:
        assert await session.scalar(select(func.count()).select_from(Appointment)) == 1


async def test_a_forged_or_missing_opening_time_gives_no_duration(
        h: Harness, browser: Browser) -> None:
    await browser.get(BOOK)
    stamp = "1795420800000.0123456789abcdef0123456789abcdef"  # signed with no session's secret
    r, _ = await browser.post(BOOK, {**CALLER, "start": AT_10, "opened": stamp})
    assert r.status == 303
    r, _ = await browser.post(BOOK, {**CALLER, "start": AT_11})
    assert r.status == 303
    assert [(action, ms) for action, _, ms in await audit_rows(h)] == [
        ("booked", None), ("booked", None)]
    # Another session's stamp is no good here either.
    other = await Browser.open(h)
    try:
        await other.login("anna")
        _, page = await other.get(BOOK)
        foreign = opened(page)
    finally:
        await other.close()
    r, _ = await browser.post(BOOK, {**CALLER, "start": "2026-11-23T11:30:00+01:00",
                                     "opened": foreign})
    assert r.status == 303
    assert (await audit_rows(h))[-1][2] is None


async def test_the_forms_in_english(h: Harness, browser: Browser) -> None:
    a = await book_at(h, "riesa", 10)
    _, page = await browser.get(f"{BOOK}?service=personalausweis&day=2026-11-23&lang=en")
    assert "Book an appointment" in page and "ID card on Monday 23 November 2026" in text(page)
    assert "phone (staff)" in page and "counter (staff)" in page
    _, page = await browser.get(DAY)
    assert text(page).count("Move Cancel") == 1
    _, page = await browser.get(f"/staff/offices/riesa/appointments/{a.id}/cancel")
    assert "Cancel this appointment?" in page and "Yes, cancel it" in page
