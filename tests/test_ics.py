"""The ICS backend: an office's closures from an iCalendar feed, cached and re-validated."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from icalendar import Calendar, Event

from assistant.booking.availability import free_slots
from assistant.booking.book import Citizen, Origin, book_now
from assistant.config import ConfigError
from assistant.testing import Harness
from assistant.testing.peers.radicale import Radicale, add_event, caldav_options
from tests.conftest import BERLIN, NOW
from tests.support.calendars import office_calendar

TUE, THU, FRI = (datetime(2026, 11, d, tzinfo=BERLIN) for d in (24, 26, 27))
SECRET = "s3cret-feed-token"


def feed(*events: tuple[str, date | datetime, date | datetime, dict]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Landkreis Meißen//Schließtage//DE")
    cal.add("version", "2.0")
    for uid, start, end, props in events:
        ev = Event()
        ev.add("uid", uid)
        ev.add("dtstamp", datetime(2026, 11, 1, tzinfo=BERLIN))
        ev.add("dtstart", start)
        ev.add("dtend", end)
        for key, value in props.items():
            ev.add(key, value)
        cal.add_component(ev)
    cal.add_missing_timezones(first_date=date(2025, 1, 1), last_date=date(2028, 1, 1))
    return cal.to_ical()


CLOSURES = feed(
    ("trip@kreis", TUE.date(), (TUE + timedelta(days=1)).date(), {"summary": "Betriebsausflug"}),
    ("board@kreis", FRI.replace(hour=8), FRI.replace(hour=10),
     {"summary": "Dienstberatung", "rrule": {"freq": "weekly"}}),
)


@dataclass
class FeedServer:
    """A web server publishing one feed with an ETag, answering conditional GETs with 304."""

    body: bytes = CLOSURES
    etag: str = '"v1"'
    status: int = 200
    requests: list[tuple[str | None, int]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        if request.query.get("token") != SECRET:
            return self._log(request, web.Response(status=403))
        if self.status != 200:
            return self._log(request, web.Response(status=self.status))
        if request.headers.get("If-None-Match") == self.etag:
            return self._log(request, web.Response(status=304, headers={"ETag": self.etag}))
        return self._log(request, web.Response(body=self.body, content_type="text/calendar",
                                               headers={"ETag": self.etag}))

    def _log(self, request: web.Request, response: web.Response) -> web.Response:
        self.requests.append((request.headers.get("If-None-Match"), response.status))
        return response


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    srv = FeedServer()
    app = web.Application()
    app.router.add_get("/kalender/schliesstage.ics", srv.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    srv.url = str(server.make_url(f"/kalender/schliesstage.ics?token={SECRET}"))
    try:
        yield srv
    finally:
        await server.close()


def ics_config(srv: FeedServer, **options: object) -> object:
    return office_calendar("ics", {"url": srv.url, **options}, office="riesa")


async def starts(h: Harness, frm: datetime, to: datetime, office: str = "riesa") -> set[datetime]:
    return {s.start for s in await free_slots(h.ctx, "personalausweis", office, frm, to)}


async def test_closure_and_weekly_block_from_the_feed_remove_slots(feed_server: FeedServer) -> None:
    async with Harness(ics_config(feed_server), now=NOW) as h:
        free = await starts(h, NOW, NOW + timedelta(days=14))
    assert not [s for s in free if s.date() == TUE.date()], "closed all day"
    assert [s for s in free if s.date() == THU.date()]
    for friday in (FRI, FRI + timedelta(days=7)):
        assert not [s for s in free if s.date() == friday.date() and s.hour < 10]
        assert friday.replace(hour=10) in free


async def test_feed_is_cached_then_revalidated_with_a_conditional_get(
    feed_server: FeedServer,
) -> None:
    async with Harness(ics_config(feed_server, cache_seconds=300), now=NOW) as h:
        await starts(h, NOW, NOW + timedelta(days=7))
        h.clock.advance(seconds=299)
        await starts(h, NOW, NOW + timedelta(days=7))
        assert feed_server.requests == [(None, 200)], "within the cache time: no request"
        h.clock.advance(seconds=2)
        free = await starts(h, NOW, NOW + timedelta(days=7))
        assert feed_server.requests == [(None, 200), ('"v1"', 304)]
        assert not [s for s in free if s.date() == TUE.date()], "304: the data is reused"
        # The office publishes a new closure: a changed ETag, a full answer.
        feed_server.body = feed(("flood@kreis", THU.date(), (THU + timedelta(days=1)).date(),
                                 {"summary": "Hochwasser"}))
        feed_server.etag = '"v2"'
        h.clock.advance(seconds=301)
        free = await starts(h, NOW, NOW + timedelta(days=7))
        assert feed_server.requests[-1] == ('"v1"', 200)
        assert [s for s in free if s.date() == TUE.date()], "the old closure is gone"
        assert not [s for s in free if s.date() == THU.date()]


async def test_feed_down_keeps_the_last_closures_and_does_not_hammer(
    feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with Harness(ics_config(feed_server, cache_seconds=60, retry_seconds=120),
                       now=NOW) as h:
        await starts(h, NOW, NOW + timedelta(days=7))
        feed_server.status = 503
        h.clock.advance(seconds=61)
        free = await starts(h, NOW, NOW + timedelta(days=7))
        assert not [s for s in free if s.date() == TUE.date()]
        h.clock.advance(seconds=61)
        await starts(h, NOW, NOW + timedelta(days=7))
        assert [status for _, status in feed_server.requests] == [200, 503], "retry later"
    assert "HTTP 503" in caplog.text
    assert SECRET not in caplog.text and "schliesstage" not in caplog.text


@pytest.mark.parametrize("body", [b"<html>Wartungsarbeiten</html>", b"\x00\xff" * 10,
                                  b"BEGIN:VCALENDAR\r\n" + b"X" * 200_000])
async def test_unusable_feed_blocks_nothing_and_is_logged(
    feed_server: FeedServer, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    feed_server.body = body
    caplog.set_level(logging.WARNING)
    async with Harness(ics_config(feed_server, max_bytes=100_000), now=NOW) as h:
        free = await starts(h, NOW, NOW + timedelta(days=7))
        assert [s for s in free if s.date() == TUE.date()]
        assert await book_now(h.ctx, service_id="personalausweis", office_id="riesa",
                              start=TUE.replace(hour=9), citizen=Citizen("Jan Weber"),
                              origin=Origin(channel="test", sender="jan", language="de"))
    assert "nothing cached" in caplog.text
    assert SECRET not in caplog.text


async def test_new_closure_over_a_booking_is_reported_to_staff(feed_server: FeedServer) -> None:
    feed_server.body = feed()
    async with Harness(ics_config(feed_server, cache_seconds=60), now=NOW) as h:
        a = await book_now(h.ctx, service_id="personalausweis", office_id="riesa",
                           start=THU.replace(hour=9), citizen=Citizen("Jan Weber"),
                           origin=Origin(channel="test", sender="jan", language="de"))
        assert a is not None
        await starts(h, NOW, NOW + timedelta(days=7))
        assert h.channel.notices == []
        feed_server.body = feed(("flood@kreis", THU.date(), (THU + timedelta(days=1)).date(),
                                 {"summary": "Hochwasser"}))
        feed_server.etag = '"v2"'
        h.clock.advance(seconds=61)
        await starts(h, NOW, NOW + timedelta(days=7))
        [(office, kind, text)] = h.channel.notices
        assert (office, kind) == ("riesa", "calendar_conflict")
        assert a.display_reference in text and "Hochwasser" in text and "Weber" not in text
        assert "(Donnerstag, 26. November 2026)" in text, text


async def test_caldav_office_with_an_extra_closures_feed(
    feed_server: FeedServer, radicale: Radicale, caldav_credentials: None
) -> None:
    cal = radicale.new_calendar()
    add_event(cal, "training@groupware", THU.replace(hour=10), THU.replace(hour=11), "Schulung")
    options = caldav_options(radicale, cal, extra_ics=[feed_server.url])
    async with Harness(office_calendar("caldav", options), now=NOW) as h:
        free = await starts(h, NOW, NOW + timedelta(days=7), office="meissen")
    assert not [s for s in free if s.date() == TUE.date()], "closure from the feed"
    assert not [s for s in free if THU.replace(hour=10) <= s < THU.replace(hour=11)], "CalDAV"
    assert THU.replace(hour=11) in free


async def test_feed_options_are_checked_at_start(feed_server: FeedServer) -> None:
    with pytest.raises(ConfigError, match="give the feed as `url`"):
        async with Harness(office_calendar("ics", {}, office="riesa"), now=NOW):
            pass
    with pytest.raises(ConfigError, match=r"calendar\.options\.url"):
        async with Harness(office_calendar("ics", {"url": "file:///etc/passwd"}, office="riesa"),
                           now=NOW):
            pass
