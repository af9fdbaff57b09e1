"""The office's day in the back office (issue 16): the list per counter, the visit's steps
with their times from the clock, the search, the week view, and texts in German and English
from the catalogs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from assistant.booking import cancel
from assistant.booking.book import Origin
from assistant.i18n import read_catalogs
from assistant.staff import pages
from assistant.storage.models import Appointment, AuditEntry
from assistant.testing import BERLIN, Harness
from tests.conftest import NOW
from tests.support.staff import Browser, add_user, book_at

ROOT = Path(__file__).resolve().parent.parent
DAY = "/staff/offices/riesa/days/2026-11-23"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness(now=NOW) as harness:
        await add_user(harness, "anna", ["riesa"])
        yield harness


@pytest.fixture
async def browser(h: Harness) -> AsyncIterator[Browser]:
    b = await Browser.open(h)
    await b.login("anna")
    yield b
    await b.close()


def rows(page: str) -> dict[str, str]:
    """Each appointment row's text (tags stripped) by its reference."""
    out = {}
    for tr in re.findall(r'<tr id="a\d+".*?</tr>', page, flags=re.S):
        text = " ".join(re.sub(r"<[^>]+>", " ", tr).split())
        ref = re.search(r'class="ref">(\w+)<', tr)
        assert ref
        out[ref.group(1)] = text
    return out


def section(page: str, counter: int) -> str:
    return page.split(f'<h2 id="counter-{counter}">')[1].split("</section>")[0]


async def test_the_day_lists_each_counters_appointments(h: Harness, browser: Browser) -> None:
    a = await book_at(h, "riesa", 10, name="Anna Müller")
    b = await book_at(h, "riesa", 10, name="Bernd Schulz", service="reisepass", channel="sms")
    c = await book_at(h, "riesa", 11, 30, name="Carla Weber", channel="telegram")
    gone = await book_at(h, "riesa", 11, name="Dora Klein")
    await cancel.cancel(h.ctx, gone.id, Origin("staff", None, "de", actor="staff"))
    elsewhere = await book_at(h, "meissen", 10, name="Emil Meißner")
    tomorrow = await book_at(h, "riesa", 10, name="Frida Tag", day=24)

    r, page = await browser.get(DAY)
    assert r.status == 200
    assert "Bürgerbüro Riesa: Montag, 23. November 2026" in page
    assert "Termine an diesem Tag: 3" in page
    first, second = section(page, 1), section(page, 2)
    assert a.reference in first and b.reference in second  # one at 10:00 on each counter
    listed = rows(page)
    assert listed[a.reference] == (f"10:00–10:20 Personalausweis {a.reference} Anna Müller "
                                   "Web-Chat gebucht Angekommen Nicht erschienen "
                                   "Verschieben Absagen")
    assert listed[b.reference].startswith(f"10:00–10:20 Reisepass {b.reference} Bernd Schulz SMS")
    assert "Telegram gebucht" in listed[c.reference]
    assert listed[gone.reference].endswith("abgesagt")  # shown, no buttons
    assert elsewhere.reference not in page and tomorrow.reference not in page
    assert page.index(a.reference) < page.index(gone.reference) < page.index(c.reference)
    async with h.ctx.db() as session:
        viewed = {(r.action, r.appointment_id) for r in await session.scalars(select(AuditEntry))}
    assert viewed == {("view", x.id) for x in (a, b, c, gone)}

    r, page = await browser.get("/staff/offices/riesa/days/2026-11-25")
    assert "Keine Termine." in page and 'href="/staff/offices/riesa/days/2026-11-24"' in page
    assert 'href="/staff/offices/riesa/days/2026-11-26"' in page
    assert 'href="/staff/offices/riesa/weeks/2026-11-25"' in page


async def test_the_home_page_opens_the_first_office_today_in_its_time_zone(
        h: Harness, browser: Browser) -> None:
    h.clock.now = datetime(2026, 11, 29, 23, 30, tzinfo=BERLIN)
    await browser.login("anna")
    r, _ = await browser.get("/staff/")
    assert r.headers["Location"] == "/staff/offices/riesa/days/2026-11-29"
    h.clock.advance(hours=1)  # 00:30 on Monday in Riesa, still Sunday in UTC
    assert h.ctx.now().astimezone(BERLIN).day == 30 and h.ctx.now().utctimetuple().tm_mday == 29
    await browser.login("anna")  # (an hour idle ended the session)
    r, _ = await browser.get("/staff/")
    assert r.headers["Location"] == "/staff/offices/riesa/days/2026-11-30"
    r, _ = await browser.get("/staff/?office=meissen")  # not theirs: their own
    assert r.headers["Location"] == "/staff/offices/riesa/days/2026-11-30"


async def test_one_click_per_step_each_with_its_time(h: Harness, browser: Browser) -> None:
    a = await book_at(h, "riesa", 10)
    b = await book_at(h, "riesa", 11)
    times = {}
    for step, label in (("arrived", "angekommen"), ("started", "in Bearbeitung"),
                        ("done", "erledigt")):
        h.clock.advance(minutes=7)
        times[step] = h.ctx.now()
        r, _ = await browser.step("riesa", a.id, step)
        assert r.status == 303 and r.headers["Location"] == f"{DAY}#a{a.id}"
        _, page = await browser.get(DAY)
        assert f" {label} " in rows(page)[a.reference] + " "
    assert rows(page)[a.reference].endswith("erledigt")  # no further buttons
    r, _ = await browser.step("riesa", a.id, "done")  # a second click changes nothing
    assert r.status == 303
    async with h.ctx.db() as session:
        row = await session.get(Appointment, a.id)
        assert row is not None
        assert (row.arrived_at, row.started_at, row.done_at) == (
            times["arrived"], times["started"], times["done"])
        assert row.status == "booked" and row.no_show_at is None  # the booking is unchanged

    r, page = await browser.step("riesa", b.id, "done")  # not arrived yet
    assert r.status == 409 and "Nicht möglich" in page
    h.clock.advance(minutes=30)
    r, _ = await browser.step("riesa", b.id, "no_show")
    assert r.status == 303
    r, page = await browser.step("riesa", b.id, "arrived")
    assert r.status == 409
    r, _ = await browser.step("riesa", b.id, "fly")
    assert r.status == 400
    r, _ = await browser.step("riesa", 99999, "arrived")
    assert r.status == 404
    _, page = await browser.get(DAY)
    assert rows(page)[b.reference].endswith("nicht erschienen")
    async with h.ctx.db() as session:
        row = await session.get(Appointment, b.id)
        assert row is not None and row.no_show_at == h.ctx.now() and row.arrived_at is None
        changes = [(e.action, e.appointment_id) for e in await session.scalars(
            select(AuditEntry).where(AuditEntry.action != "view").order_by(AuditEntry.id))]
    assert changes == [("arrived", a.id), ("started", a.id), ("done", a.id), ("no_show", b.id)]

    c = await book_at(h, "riesa", 11, 30)  # arrived and done, without calling in
    await browser.step("riesa", c.id, "arrived")
    r, _ = await browser.step("riesa", c.id, "done")
    assert r.status == 303
    gone = await book_at(h, "riesa", 11)
    await cancel.cancel(h.ctx, gone.id, Origin("staff", None, "de", actor="staff"))
    r, _ = await browser.step("riesa", gone.id, "arrived")
    assert r.status == 409


async def test_search_by_reference_or_name_within_ones_offices(h: Harness,
                                                               browser: Browser) -> None:
    a = await book_at(h, "riesa", 10, name="Jürgen Müller")
    b = await book_at(h, "riesa", 10, name="Karin Schmidt", day=27)
    other = await book_at(h, "meissen", 10, name="Lena Müller")
    code = f"{a.reference[:3].lower()}-{a.reference[3:].lower()}"
    for query, found, missing in [
        (code, [a], [b]),
        ("müller", [a], [b]),
        ("Mueller", [a], [b]),
        ("schmi", [b], [a]),
    ]:
        r, page = await browser.get(f"/staff/search?q={query}")
        assert r.status == 200
        for x in found:
            assert x.reference in page
        for x in [*missing, other]:
            assert x.reference not in page
    assert "Gefundene Termine: 1." in page
    assert f'href="/staff/offices/riesa/days/2026-11-27#a{b.id}"' in page
    _, page = await browser.get("/staff/search?q=x")
    assert "mindestens zwei Zeichen" in page
    _, page = await browser.get("/staff/search?q=%25%25")  # a LIKE wildcard is a character
    assert "Gefundene Termine: 0." in page


async def test_the_week_counts_per_day_and_counter(h: Harness, browser: Browser) -> None:
    await book_at(h, "riesa", 10)
    await book_at(h, "riesa", 10)
    await book_at(h, "riesa", 11)
    await book_at(h, "riesa", 9, day=25)
    gone = await book_at(h, "riesa", 10, day=27)
    await cancel.cancel(h.ctx, gone.id, Origin("staff", None, "de", actor="staff"))
    await book_at(h, "riesa", 10, day=30)  # next week

    r, page = await browser.get("/staff/offices/riesa/weeks/2026-11-26")  # a Thursday
    assert r.status == 200 and "Woche ab Montag, 23. November 2026" in page
    body = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split("<table")[1]))
    assert "Schalter 1 2 0 1 0 0 0 0" in body
    assert "Schalter 2 1 0 0 0 0 0 0" in body
    assert "Zusammen 3 0 1 0 0 0 0" in body
    for d in range(23, 30):
        assert f'href="/staff/offices/riesa/days/2026-11-{d}"' in page
    assert 'href="/staff/offices/riesa/weeks/2026-11-16"' in page
    assert 'href="/staff/offices/riesa/weeks/2026-11-30"' in page


async def test_pages_in_english_from_the_catalogs(h: Harness, browser: Browser) -> None:
    a = await book_at(h, "riesa", 10)
    _, page = await browser.get(f"{DAY}?lang=en")
    assert '<html lang="en">' in page
    assert "office Riesa: Monday 23 November 2026" in page
    assert rows(page)[a.reference].endswith("booked Arrived No-show Move Cancel")
    _, page = await browser.get(DAY)  # the choice is kept
    assert "Counter 1" in page and "Schalter 1" not in page
    _, page = await browser.get(f"{DAY}?lang=de")
    assert "Schalter 1" in page


def test_every_text_of_the_templates_is_in_both_catalogs() -> None:
    used = {m for p in pages.TEMPLATES.glob("*.html")
            for m in re.findall(r'tr\(\s*["\'](staff\.[a-z_.]+)["\']', p.read_text())}
    prefixed = {m for p in pages.TEMPLATES.glob("*.html")
                for m in re.findall(r'tr\(\s*["\'](staff\.[a-z_.]+\.)["\']\s*~', p.read_text())}
    texts = read_catalogs(sorted((ROOT / "assistant" / "locales").glob("staff.*.po")))
    assert set(texts["de"]) == set(texts["en"])
    assert used and prefixed
    used -= prefixed
    missing = sorted(k for k in used if k not in texts["de"])
    assert not missing, missing
    unused = sorted(k for k in texts["de"] if k not in used
                    and not any(k.startswith(p) for p in prefixed)
                    and not k.startswith("staff.channel."))
    assert not unused, unused
