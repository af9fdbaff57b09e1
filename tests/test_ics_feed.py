"""The staff feed `GET /api/v1/offices/{office}/appointments.ics` for calendar apps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from icalendar import Calendar

from assistant.booking.book import Citizen, Origin, book_now
from assistant.booking.cancel import cancel
from assistant.http.ics_feed import create_feed_token
from assistant.testing import Harness
from assistant.values import AppointmentView
from tests.conftest import BERLIN, NOW
from tests.support.calendars import CONFIG, office_calendar

TOKEN = "staff-token-for-tests-0123456789"
TUE = datetime(2026, 11, 24, tzinfo=BERLIN)
ORIGIN = Origin(channel="test", sender="anna", language="de")
URL = "/api/v1/offices/meissen/appointments.ics"


@pytest.fixture
async def h(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", TOKEN)
    async with Harness(CONFIG, now=NOW) as harness:
        yield harness


async def book(h: Harness, office: str, hour: int, name: str = "Anna Schmidt") -> AppointmentView:
    a = await book_now(h.ctx, service_id="personalausweis", office_id=office,
                       start=TUE.replace(hour=hour),
                       citizen=Citizen(name, phone="+4935211234567"), origin=ORIGIN)
    assert a is not None
    return a


def uids(body: bytes) -> set[str]:
    return {str(e["uid"]) for e in Calendar.from_ical(body).walk("VEVENT")}


async def test_feed_lists_the_offices_booked_appointments(h: Harness) -> None:
    kept, gone = await book(h, "meissen", 9), await book(h, "meissen", 10)
    other = await book(h, "riesa", 9)
    await cancel(h.ctx, gone.id, ORIGIN)
    client = await h.http()
    resp = await client.get(URL, headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 200 and resp.content_type == "text/calendar"
    body = await resp.read()
    assert uids(body) == {f"{kept.reference}@amtsbote"}, (gone, other)
    cal = Calendar.from_ical(body)
    [ev] = cal.walk("VEVENT")
    assert ev.decoded("dtstart") == TUE.replace(hour=9)
    assert str(ev["summary"]) == f"Termin {kept.display_reference} – Personalausweis"
    assert cal.walk("VTIMEZONE")[0]["tzid"] == "Europe/Berlin"
    assert str(cal["x-wr-calname"]) == "Amtsbote – Bürgerbüro Meißen"
    assert b"Schmidt" not in body and b"1234567" not in body, "personal_data: none by default"


async def feed_token(h: Harness, office: str) -> str:
    async with h.ctx.db() as session:
        _, token = await create_feed_token(session, office, "test", h.ctx.now())
        await session.commit()
    return token


async def test_calendar_apps_use_a_feed_token_in_the_url(h: Harness) -> None:
    await book(h, "meissen", 9)
    client = await h.http()
    meissen, riesa = await feed_token(h, "meissen"), await feed_token(h, "riesa")
    assert (await client.get(f"{URL}?token={meissen}")).status == 200
    # A feed token opens its own office's feed only, and nothing else of the staff API.
    assert (await client.get(f"{URL}?token={riesa}")).status == 401
    assert (await client.get(f"/api/v1/appointments?token={meissen}",
                             headers={"Authorization": f"Bearer {meissen}"})).status == 401
    for bad in ("", "?token=", "?token=wrong", f"?token={meissen}x", f"?token={TOKEN}x"):
        resp = await client.get(f"{URL}{bad}")
        assert resp.status == 401 and b"Schmidt" not in await resp.read()
    assert (await client.get("/api/v1/offices/nowhere/appointments.ics",
                             headers={"Authorization": f"Bearer {TOKEN}"})).status == 404


async def test_the_staff_token_is_refused_in_the_url(h: Harness) -> None:
    await book(h, "meissen", 9)
    client = await h.http()
    resp = await client.get(f"{URL}?token={TOKEN}")
    assert resp.status == 400 and resp.content_type == "application/json"
    error = (await resp.json())["error"]
    assert "Authorization: Bearer" in error and "amtsbote feed-token create" in error
    assert TOKEN not in error
    # Not even together with the header: the token is in the URL all the same.
    both = await client.get(f"{URL}?token={TOKEN}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert both.status == 400


async def test_unchanged_feed_answers_304(h: Harness) -> None:
    await book(h, "meissen", 9)
    client = await h.http()
    url = f"{URL}?token={await feed_token(h, 'meissen')}"
    first = await client.get(url)
    etag = first.headers["ETag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status == 304
    await book(h, "meissen", 10)
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status == 200 and len(uids(await changed.read())) == 2


async def test_without_a_staff_token_only_feed_tokens_open_the_feed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMTSBOTE_API_TOKEN", raising=False)
    async with Harness(CONFIG, now=NOW) as h:
        client = await h.http()
        assert (await client.get(f"{URL}?token=")).status == 503
        assert (await client.get(f"{URL}?token={await feed_token(h, 'meissen')}")).status == 200


async def test_feed_shows_names_when_the_office_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", TOKEN)
    config = office_calendar("builtin", {"personal_data": "name"})
    async with Harness(config, now=NOW) as h:
        await book(h, "meissen", 9)
        client = await h.http()
        body = await (await client.get(URL, headers={"Authorization": f"Bearer {TOKEN}"})).read()
    [ev] = Calendar.from_ical(body).walk("VEVENT")
    assert "Anna Schmidt" in str(ev["summary"]) and b"1234567" not in body
