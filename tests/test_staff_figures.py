"""The county's figures in the back office (issue 16): per month, office and channel, the share
of bookings, moves and cancellations done through Amtsbote against those done by staff, the
minutes a booking costs the citizen (conversation time) and the clerk (handling time on
behalf), the service time and the no-show rate; as SVG charts with tables and as CSV; only
for the offices the user may see."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from html import unescape

import pytest

from assistant.booking import book as booking
from assistant.booking import cancel
from assistant.testing import BERLIN, Harness
from tests.conftest import NOW
from tests.support.staff import Browser, add_user, book_at, opened

BOOK = "/staff/offices/riesa/book"
SHARE_DE = "Anteil der über das Tool gebuchten, geänderten und abgesagten Termine"
TIME_DE = "Bearbeitungszeit je Buchung (Bürger/in, Verwaltung)"


def text(page: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def citizen_books(h: Harness, hour: int, minute: int, channel: str,
                        seconds: int | None, office: str = "riesa") -> int:
    view = await booking.book_now(
        h.ctx, service_id="personalausweis", office_id=office,
        start=datetime(2026, 11, 23, hour, minute, tzinfo=BERLIN),
        citizen=booking.Citizen("Clara Weiß", None, None),
        origin=booking.Origin(channel, f"{channel}-{hour}{minute}", "de", turns=6,
                              seconds=seconds))
    assert view is not None
    return view.id


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    """November 2026 at Riesa: three bookings through Amtsbote (web chat 4 and 2 minutes of
    conversation, SMS unmeasured), one by phone and one move by the clerk (95 s and 50 s),
    one cancellation by the citizen; one visit served in 12 minutes, one no-show. Meißen: one
    web-chat booking."""
    async with Harness(now=NOW) as harness:
        await add_user(harness, "anna", ["riesa"])
        await add_user(harness, "max", ["meissen"])
        await add_user(harness, "chef", [], role="county_admin")
        a = await citizen_books(harness, 10, 0, "webchat", 240)
        b = await citizen_books(harness, 10, 30, "sms", None)
        d = await citizen_books(harness, 10, 45, "webchat", 120)
        assert await cancel.cancel(harness.ctx, d, booking.Origin("webchat", "w", "de"))
        await book_at(harness, "meissen", 10)

        clerk = await Browser.open(harness)
        await clerk.login("anna")
        _, page = await clerk.get(f"{BOOK}?service=personalausweis&day=2026-11-23")
        harness.clock.advance(seconds=95)
        r, _ = await clerk.post(BOOK, {
            "service": "personalausweis", "day": "2026-11-23", "name": "Greta Hoffmann",
            "phone": "", "email": "", "channel": "phone", "language": "de",
            "start": "2026-11-23T11:00:00+01:00", "opened": opened(page)})
        assert r.status == 303
        c = int(r.headers["Location"].rsplit("#a", 1)[1])
        move = f"/staff/offices/riesa/appointments/{b}/move"
        _, page = await clerk.get(move)
        harness.clock.advance(seconds=30)
        _, page = await clerk.post(move, {"start": "2026-11-23T11:30:00+01:00",
                                          "opened": opened(page)})
        harness.clock.advance(seconds=20)
        r, _ = await clerk.post(move, {"start": "2026-11-23T11:30:00+01:00",
                                       "opened": opened(page), "confirm": "yes"})
        assert r.status == 303

        assert (await clerk.step("riesa", a, "arrived"))[0].status == 303
        harness.clock.advance(minutes=12)
        assert (await clerk.step("riesa", a, "done"))[0].status == 303
        assert (await clerk.step("riesa", c, "no_show"))[0].status == 303
        await clerk.close()
        yield harness


async def logged_in(h: Harness, username: str) -> Browser:
    b = await Browser.open(h)
    await b.login(username)
    return b


async def test_the_two_indicators_as_the_measure_words_them(h: Harness) -> None:
    b = await logged_in(h, "anna")
    _, day = await b.get("/staff/offices/riesa/days/2026-11-23")
    assert 'href="/staff/figures?office=riesa&amp;month=2026-11">Kennzahlen</a>' in day
    r, page = await b.get("/staff/figures?office=riesa&month=2026-11")
    assert r.status == 200 and r.headers["Content-Security-Policy"].startswith("default-src")
    shown = text(page)
    assert SHARE_DE in shown and TIME_DE in shown and "Bürgerbüro Riesa" in shown
    # kind, through Amtsbote, by staff, share
    assert "Gebucht 3 1 75 %" in shown
    assert "Geändert 0 1 0 %" in shown and "Abgesagt 1 0 100 %" in shown
    assert "Zusammen 67 %" in shown
    assert "Bürger/in (Gesprächsdauer) 3,0 Min." in shown  # (4 + 2) / 2, the SMS unmeasured
    assert "Verwaltung (Bearbeitung im Backoffice) 1,2 Min." in shown  # (95 s + 50 s) / 2
    assert "Bedienzeit am Schalter (Ankunft bis erledigt) 12,0 Min." in shown
    assert "Nichterscheinen 50 % (1 von 2)" in shown
    # per channel: booked, changed, cancelled, the citizen's minutes
    assert "Web-Chat Amtsbote 2 0 1 3,0 Min." in shown
    assert "SMS Amtsbote 1 0 0 noch nicht gemessen" in shown
    assert "Telefon (Mitarbeitende) Mitarbeitende 1 0 0 –" in shown
    assert "Mitarbeitende Mitarbeitende 0 1 0 –" in shown
    assert page.count('<svg class="chart" role="img"') == 2
    assert 'aria-labelledby="share-riesa"' in page
    assert "Meißen" not in shown.split("Abmelden", 1)[1]  # not among the figures

    r, page = await b.get("/staff/figures?office=riesa&month=2026-11&lang=en")
    shown = text(page)
    assert "Share of appointments booked, changed and cancelled through the tool" in shown
    assert "Processing time per booking (citizen, administration)" in shown
    assert "Citizen (conversation time) 3.0 min" in shown and "No-shows 50 % (1 of 2)" in shown
    await b.close()


async def test_default_month_other_months_and_bad_input(h: Harness) -> None:
    b = await logged_in(h, "anna")
    _, page = await b.get("/staff/figures")
    assert "Kennzahlen 2026-11" in page and "Gebucht 3 1 75 %" in text(page)
    _, page = await b.get("/staff/figures?month=2026-12")
    shown = text(page)
    assert "Gebucht 0 0 keine Daten" in shown and "noch nicht gemessen" in shown
    assert "In diesem Monat keine Buchungen, Änderungen oder Absagen." in shown
    for bad in ("2026-13", "26-11", "2026-1", "x", "2026-11-01"):
        r, _ = await b.get(f"/staff/figures?month={bad}")
        assert r.status == 400, bad
    r, _ = await b.get("/staff/figures?office=nowhere")
    assert r.status == 404
    await b.close()


async def test_only_ones_own_offices(h: Harness) -> None:
    clerk = await logged_in(h, "max")
    for path in ("/staff/figures?office=riesa", "/staff/figures.csv?office=riesa"):
        r, page = await clerk.get(path)
        assert r.status == 403 and "Gebucht" not in page, path
    _, page = await clerk.get("/staff/figures?month=2026-11")
    shown = text(page)
    assert "Bürgerbüro Meißen" in shown and "Gebucht 1 0 100 %" in shown
    assert 'id="o-riesa"' not in page
    await clerk.close()

    county = await logged_in(h, "chef")
    _, page = await county.get("/staff/figures?month=2026-11")
    assert 'id="o-riesa"' in page and 'id="o-meissen"' in page
    await county.close()

    anonymous = await Browser.open(h)
    for path in ("/staff/figures", "/staff/figures.csv"):
        r, _ = await anonymous.get(path)
        assert r.status == 303 and r.headers["Location"].startswith("/staff/login")
    await anonymous.close()


async def test_the_csv_has_the_same_numbers(h: Harness) -> None:
    b = await logged_in(h, "anna")
    r, body = await b.get("/staff/figures.csv?month=2026-11")
    assert r.status == 200 and r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="amtsbote-figures-2026-11.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body)))
    assert rows[0] == {
        "month": "2026-11", "office": "riesa", "channel": "all", "by": "", "booked": "4",
        "moved": "1", "cancelled": "1", "share_via_amtsbote": "0.667",
        "citizen_minutes_per_booking": "3.00", "clerk_minutes_per_booking": "1.21",
        "service_minutes": "12.00", "no_show_rate": "0.500"}
    per_channel = {(r["channel"], r["by"]): (r["booked"], r["moved"], r["cancelled"],
                                              r["citizen_minutes_per_booking"])
                   for r in rows[1:]}
    assert per_channel == {("webchat", "amtsbote"): ("2", "0", "1", "3.00"),
                           ("sms", "amtsbote"): ("1", "0", "0", ""),
                           ("phone", "staff"): ("1", "0", "0", ""),
                           ("staff", "staff"): ("0", "1", "0", "")}
    assert {r["office"] for r in rows} == {"riesa"}  # Anna sees Riesa only
    await b.close()
