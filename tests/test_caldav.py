"""The CalDAV backend against a real Radicale: busy times, written bookings, cache, outages."""

from __future__ import annotations

import asyncio
import time as clock
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from assistant.booking.availability import free_slots
from assistant.booking.book import Citizen, Origin, book_now, hold
from assistant.booking.cancel import cancel
from assistant.booking.reschedule import move
from assistant.config import ConfigError
from assistant.storage.models import OutboxItem
from assistant.testing import Harness, free_port
from assistant.testing.peers.radicale import Radicale, add_event, caldav_options, events_with_uid
from assistant.values import AppointmentView
from tests.conftest import BERLIN, NOW
from tests.support.calendars import office_calendar

pytestmark = pytest.mark.usefixtures("caldav_credentials")

TUE = datetime(2026, 11, 24, tzinfo=BERLIN)  # Meißen: 08-12 and 13-18
THU = datetime(2026, 11, 26, tzinfo=BERLIN)  # Meißen: 08-12 and 13-16
ANNA = Citizen("Anna Schmidt", phone="+4935211234567", email="anna.schmidt@example.org")
ORIGIN = Origin(channel="test", sender="anna", language="de")


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute)


async def starts(h: Harness, frm: datetime, to: datetime, office: str = "meissen") -> dict:
    """Free slot starts -> their free counters."""
    return {s.start: s.free_counters
            for s in await free_slots(h.ctx, "personalausweis", office, frm, to)}


async def book(h: Harness, start: datetime, office: str = "meissen") -> AppointmentView:
    a = await book_now(h.ctx, service_id="personalausweis", office_id=office, start=start,
                       citizen=ANNA, origin=ORIGIN)
    assert a is not None
    return a


def uid(a: AppointmentView) -> str:
    return f"{a.reference}@amtsbote"


def component(cal: Any, a: AppointmentView) -> Any:
    [event] = events_with_uid(cal, uid(a))
    return event


async def test_busy_times_with_a_weekly_staff_meeting_expanded(radicale: Radicale) -> None:
    cal = radicale.new_calendar("Bürgerbüro Meißen")
    add_event(cal, "team@groupware", at(TUE, 10), at(TUE, 11), "Teambesprechung",
              rrule={"freq": "weekly"})
    add_event(cal, "note@groupware", at(TUE, 8), at(TUE, 9), "Notiz", transp="TRANSPARENT")
    add_event(cal, "old@groupware", at(TUE, 13), at(TUE, 14), "Fällt aus", status="CANCELLED")
    add_event(cal, "X1Y2Z3@amtsbote", at(TUE, 15), at(TUE, 16), "Termin X1Y-2Z3")
    add_event(cal, "trip@groupware", (THU + timedelta(days=7)).date(),
              (THU + timedelta(days=8)).date(), "Betriebsausflug")
    async with Harness(office_calendar("caldav", caldav_options(radicale, cal)), now=NOW) as h:
        free = await starts(h, NOW, NOW + timedelta(days=21))
    for week in range(3):
        day = TUE + timedelta(days=7 * week)
        assert at(day, 9, 30) in free  # ends 09:50, before the meeting
        assert at(day, 9, 45) not in free  # would end 10:05, in the meeting
        assert not [s for s in free if at(day, 10) <= s < at(day, 11)], week
        assert at(day, 11) in free
    assert at(TUE, 8) in free, "a transparent (free) entry blocks nothing"
    assert at(TUE, 13) in free, "a cancelled entry blocks nothing"
    assert at(TUE, 15) in free, "Amtsbote's own events are in the database already"
    assert not [s for s in free if s.date() == (THU + timedelta(days=7)).date()], "all-day"
    assert [s for s in free if s.date() == THU.date()]


async def test_booking_is_written_moved_and_removed(radicale: Radicale) -> None:
    cal = radicale.new_calendar()
    async with Harness(office_calendar("caldav", caldav_options(radicale, cal)), now=NOW) as h:
        a = await book(h, at(TUE, 10))
        assert events_with_uid(cal, uid(a)) == [], "written by the outbox, not while booking"
        await h.run_outbox_now()
        event = component(cal, a)
        ev = event.icalendar_component
        assert str(ev["summary"]) == f"Termin {a.display_reference} – Personalausweis"
        assert ev.decoded("dtstart") == at(TUE, 10) and ev.decoded("dtend") == at(TUE, 10, 20)
        assert ev["dtstart"].params["TZID"] == "Europe/Berlin"
        assert "BEGIN:VTIMEZONE" in event.data and "TZID:Europe/Berlin" in event.data
        for personal in ("Schmidt", "1234567", "example.org"):
            assert personal not in event.data, "personal_data defaults to none"
        # Its own event does not block the other two counters.
        assert (await starts(h, at(TUE, 10), at(TUE, 10)))[at(TUE, 10)] == (2, 3)

        token = await hold(h.ctx, "meissen", at(THU, 14), at(THU, 14, 20))
        assert token and await move(h.ctx, a.id, token, at(THU, 14), at(THU, 14, 20), ORIGIN)
        await h.run_outbox_now()
        ev = component(cal, a).icalendar_component
        assert ev.decoded("dtstart") == at(THU, 14)

        assert await cancel(h.ctx, a.id, ORIGIN)
        await h.run_outbox_now()
        assert events_with_uid(cal, uid(a)) == []


async def test_cancelled_can_stay_visible_marked_cancelled(radicale: Radicale) -> None:
    cal = radicale.new_calendar()
    options = caldav_options(radicale, cal, on_cancel="mark_cancelled")
    async with Harness(office_calendar("caldav", options), now=NOW) as h:
        a = await book(h, at(TUE, 10))
        await h.run_outbox_now()
        await cancel(h.ctx, a.id, ORIGIN)
        await h.run_outbox_now()
        ev = component(cal, a).icalendar_component
        assert str(ev["status"]) == "CANCELLED"
        assert str(ev["summary"]).startswith("Abgesagt: Termin")
        h.clock.advance(minutes=2)
        assert (await starts(h, at(TUE, 10), at(TUE, 10)))[at(TUE, 10)] == (1, 2, 3)


@pytest.mark.parametrize("level", ["name", "full"])
async def test_personal_data_only_as_far_as_configured(radicale: Radicale, level: str) -> None:
    cal = radicale.new_calendar()
    options = caldav_options(radicale, cal, personal_data=level)
    async with Harness(office_calendar("caldav", options), now=NOW) as h:
        a = await book(h, at(TUE, 10))
        await h.run_outbox_now()
        ev = component(cal, a).icalendar_component
    assert "Anna Schmidt" in str(ev["summary"])
    assert ("+4935211234567" in str(ev["description"])) is (level == "full")
    assert ("anna.schmidt@example.org" in str(ev["description"])) is (level == "full")


async def test_hand_entered_event_blocks_its_slot_after_the_cache_time(radicale: Radicale) -> None:
    cal = radicale.new_calendar()
    options = caldav_options(radicale, cal, cache_seconds=60)
    async with Harness(office_calendar("caldav", options), now=NOW) as h:
        assert at(TUE, 11) in await starts(h, at(TUE, 8), at(TUE, 12))
        add_event(cal, "training@groupware", at(TUE, 11), at(TUE, 11, 30), "Schulung")
        h.clock.advance(seconds=30)
        assert at(TUE, 11) in await starts(h, at(TUE, 8), at(TUE, 12)), "cached"
        h.clock.advance(seconds=31)
        free = await starts(h, at(TUE, 8), at(TUE, 12))
        assert at(TUE, 11) not in free and at(TUE, 11, 15) not in free
        assert at(TUE, 11, 30) in free


async def test_clash_with_a_booking_is_reported_to_staff_once(radicale: Radicale) -> None:
    cal = radicale.new_calendar()
    async with Harness(office_calendar("caldav", caldav_options(radicale, cal)), now=NOW) as h:
        a = await book(h, at(TUE, 10))
        await h.run_outbox_now()
        await starts(h, at(TUE, 8), at(TUE, 12))
        add_event(cal, "assembly@groupware", at(TUE, 9, 30), at(TUE, 10, 30),
                  "Personalversammlung")
        h.clock.advance(seconds=61)
        await starts(h, at(TUE, 8), at(TUE, 12))
        [(office, kind, text)] = h.channel.notices
        assert (office, kind) == ("meissen", "calendar_conflict")
        assert a.display_reference in text and "Personalversammlung" in text
        assert "Schmidt" not in text
        h.clock.advance(seconds=61)
        await starts(h, at(TUE, 8), at(TUE, 12))
        assert len(h.channel.notices) == 1, "reported once, not at every refresh"
        # Nothing was resolved silently: the booking and its event stay.
        assert component(cal, a) is not None
        assert (await h.ctx.call_first(
            "calendar_busy", ctx=h.ctx, backend="caldav", office=h.ctx.config.office("meissen"),
            start=at(TUE, 8), end=at(TUE, 12)))[0].summary == "Personalversammlung"


async def test_server_down_booking_succeeds_and_event_appears_once(
    radicale_server: Radicale,
) -> None:
    server = radicale_server
    cal = server.new_calendar()
    add_event(cal, "training@groupware", at(TUE, 11), at(TUE, 11, 30), "Schulung")
    async with Harness(office_calendar("caldav", caldav_options(server, cal)), now=NOW) as h:
        assert at(TUE, 11) not in await starts(h, at(TUE, 8), at(TUE, 12))
        server.stop()
        h.clock.advance(seconds=61)
        t0 = clock.monotonic()
        free = await starts(h, at(TUE, 8), at(TUE, 12))
        assert at(TUE, 11) not in free, "the last known busy times are used"
        assert at(TUE, 10) in free
        a = await book(h, at(TUE, 10))
        assert clock.monotonic() - t0 < 3, "the citizen does not wait for the calendar"
        await h.run_outbox_now()
        async with h.ctx.db() as session:
            item = await session.scalar(select(OutboxItem).where(OutboxItem.kind == "calendar"))
        assert item is not None and item.done_at is None and item.attempts == 1
        assert "CalendarWriteError" in (item.last_error or "")
        assert "not-checked" not in (item.last_error or "")
        gone = await book(h, at(TUE, 10, 30))
        await h.run_outbox_now()

        server.start()
        # Cancelled when the server is back but before the failed create is retried: the
        # delete runs first, the late create must not bring the event back.
        await cancel(h.ctx, gone.id, ORIGIN)
        assert await h.run_outbox_now() >= 1
        h.clock.advance(minutes=1)
        await h.run_outbox_now()
        h.clock.advance(minutes=1)
        await h.run_outbox_now()
        async with h.ctx.db() as session:
            pending = await session.scalars(select(OutboxItem).where(
                OutboxItem.kind == "calendar", OutboxItem.done_at.is_(None)))
            assert list(pending) == []
        assert len(events_with_uid(cal, uid(a))) == 1
        assert events_with_uid(cal, uid(gone)) == []
        # The same create again (a second worker, a retry after a lost answer): still one.
        office = h.ctx.config.office("meissen")
        await h.ctx.call_first("calendar_create_event", ctx=h.ctx, backend="caldav",
                               office=office, appointment=a)
        assert len(events_with_uid(cal, uid(a))) == 1


async def test_never_readable_calendar_means_no_busy_times_and_a_log(
    caplog: pytest.LogCaptureFixture, radicale: Radicale
) -> None:
    options = {"url": f"http://127.0.0.1:{free_port()}/amtsbote/meissen/",
               "username_env": "TEST_CALDAV_USER", "password_env": "TEST_CALDAV_PASSWORD"}
    async with Harness(office_calendar("caldav", options), now=NOW) as h:
        free = await starts(h, at(TUE, 8), at(TUE, 12))
        assert at(TUE, 10) in free
        assert await book(h, at(TUE, 10))
    assert "unreadable and nothing cached" in caplog.text
    assert "not-checked" not in caplog.text


def per_counter_calendars(radicale: Radicale) -> tuple[Any, dict[int, Any], dict[str, Any]]:
    """An office calendar and one per counter, found by display name."""
    tag = radicale.new_calendar().url.path.strip("/").rsplit("-", 1)[-1]
    office_cal = radicale.new_calendar(f"Bürgerbüro {tag}")
    counter = {n: radicale.new_calendar(f"Schalter {n} {tag}") for n in (1, 2, 3)}
    options = {**caldav_options(radicale), "calendar": f"Bürgerbüro {tag}",
               "counters": {n: f"Schalter {n} {tag}" for n in (1, 2, 3)}}
    return office_cal, counter, options


async def test_one_calendar_per_counter(radicale: Radicale) -> None:
    office_cal, counter, options = per_counter_calendars(radicale)
    add_event(counter[1], "c1@groupware", at(TUE, 10), at(TUE, 11), "Pause Schalter 1")
    add_event(counter[2], "c2@groupware", at(TUE, 10), at(TUE, 11), "Pause Schalter 2")
    add_event(office_cal, "all@groupware", at(THU, 10), at(THU, 11), "Teambesprechung")
    async with Harness(office_calendar("caldav", options), now=NOW) as h:
        free = await starts(h, NOW, NOW + timedelta(days=4))
        assert free[at(TUE, 10)] == (3,), "a counter's entry blocks only that counter"
        assert not [s for s in free if at(THU, 10) <= s < at(THU, 11)], "office entry: all"
        a1, a2 = await book(h, at(TUE, 11)), await book(h, at(TUE, 11))
        await h.run_outbox_now()
        assert (a1.counter, a2.counter) == (1, 2)
        assert len(events_with_uid(counter[1], uid(a1))) == 1
        assert len(events_with_uid(counter[2], uid(a2))) == 1
        assert events_with_uid(office_cal, uid(a1)) == []
        # a1 moves to 11:30, where counter 1 is taken: its event follows it to counter 2.
        await book(h, at(TUE, 11, 30))
        token = await hold(h.ctx, "meissen", at(TUE, 11, 30), at(TUE, 11, 50))
        moved = await move(h.ctx, a1.id, token, at(TUE, 11, 30), at(TUE, 11, 50), ORIGIN)
        assert moved is not None and moved.counter == 2
        await h.run_outbox_now()
        assert events_with_uid(counter[1], uid(a1)) == []
        [event] = events_with_uid(counter[2], uid(a1))
        assert event.icalendar_component.decoded("dtstart") == at(TUE, 11, 30)
        # An entry in counter 2's calendar clashes with a1 (now at counter 2), not with a3.
        add_event(counter[2], "c2b@groupware", at(TUE, 11, 40), at(TUE, 12), "Telefondienst")
        h.clock.advance(seconds=61)
        await starts(h, at(TUE, 8), at(TUE, 12))
        [(_, kind, text)] = h.channel.notices
        assert kind == "calendar_conflict" and a1.display_reference in text
        assert "Schalter 2" in text


async def test_booking_lands_on_the_counter_the_calendar_left_free(radicale: Radicale) -> None:
    _, counter, options = per_counter_calendars(radicale)
    add_event(counter[1], "c1@groupware", at(TUE, 10), at(TUE, 11), "Pause Schalter 1")
    async with Harness(office_calendar("caldav", options), now=NOW) as h:
        assert (await starts(h, at(TUE, 10), at(TUE, 10)))[at(TUE, 10)] == (2, 3)
        a = await book(h, at(TUE, 10))
        assert a.counter == 2


async def test_bad_options_stop_the_start_with_a_clear_message(
    radicale: Radicale, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"calendar\.options\.calender.*unknown key"):
        async with Harness(office_calendar("caldav", {**caldav_options(radicale),
                                                      "calender": "x"}), now=NOW):
            pass
    monkeypatch.delenv("TEST_CALDAV_PASSWORD")
    with pytest.raises(ConfigError, match="TEST_CALDAV_PASSWORD is not set"):
        async with Harness(office_calendar("caldav", caldav_options(radicale)), now=NOW):
            pass
    monkeypatch.setenv("TEST_CALDAV_PASSWORD", "x")
    with pytest.raises(ConfigError, match="no calendar for counter"):
        async with Harness(office_calendar("caldav", {**caldav_options(radicale),
                                                      "counters": {1: "Schalter 1"}}), now=NOW):
            pass


async def test_calendar_is_kept_fresh_in_the_background(radicale: Radicale) -> None:
    """With background refresh on, a clash is noticed without any citizen searching slots."""
    cal = radicale.new_calendar()
    config = office_calendar("caldav", caldav_options(radicale, cal, cache_seconds=0.2),
                             plugins={"caldav": {"background_refresh": True}})
    async with Harness(config, now=NOW) as h:
        a = await book(h, at(TUE, 10))
        await h.run_outbox_now()
        add_event(cal, "assembly@groupware", at(TUE, 10), at(TUE, 11), "Personalversammlung")
        for _ in range(100):  # up to 10 s of real time; the clock of the harness stands still
            if h.channel.notices:
                break
            await asyncio.sleep(0.1)
        [(_, kind, text)] = h.channel.notices
        assert kind == "calendar_conflict" and a.display_reference in text


async def test_second_server_xandikos(xandikos: Any) -> None:
    cal = xandikos.new_calendar("Bürgerbüro Meißen")
    add_event(cal, "team@groupware", at(TUE, 10), at(TUE, 11), "Teambesprechung",
              rrule={"freq": "weekly"})
    options = {**caldav_options(xandikos, cal), "url": xandikos.principal_url}
    async with Harness(office_calendar("caldav", options), now=NOW) as h:
        free = await starts(h, NOW, NOW + timedelta(days=14))
        for day in (TUE, TUE + timedelta(days=7)):
            assert not [s for s in free if at(day, 10) <= s < at(day, 11)]
            assert at(day, 11) in free
        a = await book(h, at(TUE, 11))
        await h.run_outbox_now()
        assert len(events_with_uid(cal, uid(a))) == 1
        await cancel(h.ctx, a.id, ORIGIN)
        await h.run_outbox_now()
        assert events_with_uid(cal, uid(a)) == []


async def test_admin_check_reads_each_calendar_once(radicale: Radicale) -> None:
    from plugins.calendar_caldav import check

    cal = radicale.new_calendar()
    add_event(cal, "team@groupware", at(TUE, 10), at(TUE, 11), "Teambesprechung")
    ok, lines = check(office_calendar("caldav", caldav_options(radicale, cal)), NOW)
    assert ok and lines[0].startswith("meissen: ok – 1 calendar(s)") and "1 busy" in lines[0]
    down = {**caldav_options(radicale), "url": f"http://127.0.0.1:{free_port()}/amtsbote/x/"}
    ok, lines = check(office_calendar("caldav", down), NOW)
    assert not ok and lines[0].startswith("meissen: FAILED – http://127.0.0.1/…")
    assert "not-checked" not in lines[0]


async def test_refresh_reads_in_full_only_when_staff_changed_something(radicale: Radicale) -> None:
    """Amtsbote's own writes do not make it re-read a big calendar: a sync-collection REPORT
    lists what changed, and only other entries cause a full read."""
    cal = radicale.new_calendar()
    async with Harness(office_calendar("caldav", caldav_options(radicale, cal)), now=NOW) as h:
        caldav = h.ctx.pm.get_plugin("caldav")
        cache = caldav.office_runtime(h.ctx, h.ctx.config.office("meissen")).caches[0]
        await starts(h, at(TUE, 8), at(TUE, 12))
        assert (cache.fetches, cache.checks) == (1, 0)
        await book(h, at(TUE, 9))
        await h.run_outbox_now()
        h.clock.advance(seconds=61)
        await starts(h, at(TUE, 8), at(TUE, 12))
        assert (cache.fetches, cache.checks) == (1, 1), "only Amtsbote's own event changed"
        add_event(cal, "training@groupware", at(TUE, 11), at(TUE, 11, 30), "Schulung")
        h.clock.advance(seconds=61)
        free = await starts(h, at(TUE, 8), at(TUE, 12))
        assert (cache.fetches, cache.checks) == (2, 2)
        assert at(TUE, 11) not in free
        h.clock.advance(days=1, seconds=1)  # the read window must reach the new horizon's end
        await starts(h, h.clock.now, h.clock.now + timedelta(days=2))
        assert cache.fetches == 3
