"""The staff feed `GET /api/v1/offices/{office}/appointments.ics` for calendar apps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from icalendar import Calendar

from assistant.booking.book import Citizen, Origin, book_now
from assistant.booking.cancel import cancel
from assistant.http.ics_feed import feed_token, main
from assistant.testing import Harness
from assistant.views import AppointmentView
from tests.conftest import BERLIN, NOW
from tests.peers.radicale import CONFIG, office_calendar

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


async def test_calendar_apps_can_use_a_token_in_the_url(h: Harness) -> None:
    await book(h, "meissen", 9)
    client = await h.http()
    assert (await client.get(f"{URL}?token={TOKEN}")).status == 200
    assert (await client.get(f"{URL}?token={feed_token('meissen', TOKEN)}")).status == 200
    # A feed token opens its own office's feed only, and nothing else of the staff API.
    riesa_token = feed_token("riesa", TOKEN)
    assert (await client.get(f"{URL}?token={riesa_token}")).status == 401
    assert (await client.get(f"/api/v1/appointments?token={feed_token('meissen', TOKEN)}",
                             headers={"Authorization": f"Bearer {feed_token('meissen', TOKEN)}"})
            ).status == 401
    for bad in ("", "?token=", "?token=wrong", f"?token={TOKEN}x"):
        resp = await client.get(f"{URL}{bad}")
        assert resp.status == 401 and b"Schmidt" not in await resp.read()
    assert (await client.get("/api/v1/offices/nowhere/appointments.ics",
                             headers={"Authorization": f"Bearer {TOKEN}"})).status == 404


async def test_unchanged_feed_answers_304(h: Harness) -> None:
    await book(h, "meissen", 9)
    client = await h.http()
    first = await client.get(f"{URL}?token={TOKEN}")
    etag = first.headers["ETag"]
    again = await client.get(f"{URL}?token={TOKEN}", headers={"If-None-Match": etag})
    assert again.status == 304
    await book(h, "meissen", 10)
    changed = await client.get(f"{URL}?token={TOKEN}", headers={"If-None-Match": etag})
    assert changed.status == 200 and len(uids(await changed.read())) == 2


async def test_feed_disabled_without_a_staff_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMTSBOTE_API_TOKEN", raising=False)
    async with Harness(CONFIG, now=NOW) as h:
        client = await h.http()
        assert (await client.get(f"{URL}?token=")).status == 503


async def test_feed_shows_names_when_the_office_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", TOKEN)
    config = office_calendar("builtin", {"personal_data": "name"})
    async with Harness(config, now=NOW) as h:
        await book(h, "meissen", 9)
        client = await h.http()
        body = await (await client.get(f"{URL}?token={TOKEN}")).read()
    [ev] = Calendar.from_ical(body).walk("VEVENT")
    assert "Anna Schmidt" in str(ev["summary"]) and b"1234567" not in body


def test_admin_prints_the_feed_url(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", TOKEN)
    assert main(["meissen", str(CONFIG)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith(f"/api/v1/offices/meissen/appointments.ics?token={feed_token('meissen')}")
    assert TOKEN not in out
    assert main(["nowhere", str(CONFIG)]) == 1
