"""One validation of an appointment's start for every way in (issue 13; issue 14 item 1).

The staff API, the chat, the appointment page and the domain services all refuse a start the
slot search would not offer: off the grid, in the past, too soon, beyond the horizon, outside
the opening hours, on a closure or a public holiday. A refused start stores nothing. A staff
override (with a reason, audited) lifts opening hours and closures only.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from assistant.booking import availability, book, occupancy, reschedule
from assistant.booking.slots import candidate_starts, cells, find_free_slots, later
from assistant.booking.validation import (
    CODES,
    InvalidStart,
    StaffOverride,
    on_grid,
    start_problem,
)
from assistant.config import BookingCfg, Office, Service, load_config
from assistant.retention import Policy, purge
from assistant.storage.models import Appointment, Event, Occupancy, OutboxItem
from assistant.testing import ROOT, Harness, button, texts
from tests.conftest import BERLIN, NOW

STAFF = {"Authorization": "Bearer staff-secret"}
URL = "/api/v1/appointments"
TUE = datetime(2026, 11, 24, tzinfo=BERLIN)  # NOW is Monday 23 November 2026, 09:00
CITIZEN = book.Origin(channel="test", sender="c1", language="de")
CLERK = book.Origin(channel="phone", sender=None, language="de", actor="staff")


@pytest.fixture(autouse=True)
def staff_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", "staff-secret")


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness(nlu_url="http://127.0.0.1:9", now=NOW) as harness:
        yield harness


def body(start: str | datetime, **extra: Any) -> dict[str, Any]:
    return {"service": "personalausweis", "office": "riesa",
            "start": start if isinstance(start, str) else start.isoformat(),
            "citizen": {"name": "Else Walter", "phone": "0351 4455667"}, **extra}


async def counts(h: Harness) -> dict[str, int]:
    async with h.ctx.db() as session:
        return {m.__tablename__: int(await session.scalar(
            select(func.count()).select_from(m)) or 0)
            for m in (Appointment, Occupancy, Event, OutboxItem)}


NOTHING = {"appointments": 0, "occupancy": 0, "events": 0, "outbox": 0}


async def assert_no_overlap(h: Harness, office: str) -> list[Appointment]:
    """No two booked appointments of the office share a counter at the same time."""
    async with h.ctx.db() as session:
        rows = list(await session.scalars(
            select(Appointment).where(Appointment.office_id == office,
                                      Appointment.status == "booked")
            .order_by(Appointment.counter, Appointment.start)))
    for a, b in itertools.pairwise(rows):
        if a.counter == b.counter:
            assert a.end <= b.start, f"{a.start}-{a.end} and {b.start} on counter {a.counter}"
    return rows


# -- the staff API -------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "code"), [
    ("2026-11-24T08:07:00+01:00", "off_grid"),  # Tuesday, Riesa open, off the 15-minute grid
    ("2026-11-24T08:00:30+01:00", "off_grid"),  # seconds
    ("2020-11-24T10:00:00+01:00", "past"),
    ("2026-11-23T08:30:00+01:00", "past"),  # today, half an hour ago
    ("2026-11-23T09:30:00+01:00", "too_soon"),  # 60 minutes' notice
    ("2026-11-29T03:00:00+01:00", "closed"),  # Sunday night
    ("2026-11-24T12:30:00+01:00", "closed"),  # lunch break
    ("2026-11-24T11:45:00+01:00", "closed"),  # 20 minutes do not fit before 12:00
    ("2026-12-28T10:00:00+01:00", "closure"),  # Riesa's closure between the years
    ("2027-01-01T10:00:00+01:00", "holiday"),  # New Year's Day (a Friday)
    ("2027-03-01T10:00:00+01:00", "beyond_horizon"),  # more than 90 days ahead
    ("9999-01-04T10:00:00+01:00", "beyond_horizon"),
    ("9999-12-31T23:45:00-01:00", "beyond_horizon"),  # UTC would be year 10000
    ("0001-01-01T00:30:00+01:00", "past"),  # UTC would be year 0
])
async def test_an_unbookable_start_is_422_with_its_code_and_stores_nothing(
        h: Harness, start: str, code: str) -> None:
    client = await h.http()
    response = await client.post(URL, headers=STAFF, json=body(start, staff_seconds=60))
    assert response.status == 422, await response.text()
    answer = await response.json()
    assert answer["code"] == code and answer["field"] == "start" and answer["error"]
    assert await counts(h) == NOTHING


@pytest.mark.parametrize(("changes", "field"), [
    ({"staff_seconds": "abc"}, "staff_seconds"),
    ({"staff_seconds": "240"}, "staff_seconds"),
    ({"staff_seconds": -1}, "staff_seconds"),
    ({"staff_seconds": 10**12}, "staff_seconds"),  # would overflow the database column
    ({"staff_seconds": True}, "staff_seconds"),
    ({"citizen": {"name": "Else Walter", "email": {"a": 1}}}, "citizen.email"),
    ({"citizen": {"name": "Else Walter", "email": "else at example"}}, "citizen.email"),
    ({"citizen": {"name": "Else Walter", "phone": 4935214455667}}, "citizen.phone"),
    ({"citizen": {"name": "Else Walter", "phone": "kein Telefon"}}, "citizen.phone"),
    ({"citizen": {"name": "   "}}, "citizen.name"),
    ({"citizen": {"phone": "0351 4455667"}}, "citizen.name"),
    ({"citizen": "Else Walter"}, "citizen"),
    ({"start": "morgen um 10"}, "start"),
    ({"start": 1795510800}, "start"),
    ({"service": 7}, "service"),
    ({"service": "nope"}, "service"),
    ({"office": "atlantis"}, "office"),
    ({"language": "fr"}, "language"),
    ({"channel": "x" * 40}, "channel"),
    ({"override": {}}, "override.reason"),
    ({"override": {"reason": "   "}}, "override.reason"),
    ({"override": "Abendtermin"}, "override"),
    ({"staf_seconds": 60}, "staf_seconds"),  # a typo is not silently ignored
])
async def test_a_bad_body_is_400_naming_the_field_and_stores_nothing(
        h: Harness, changes: dict[str, Any], field: str) -> None:
    client = await h.http()
    response = await client.post(URL, headers=STAFF,
                                 json=body(TUE.replace(hour=10), staff_seconds=60) | changes)
    assert response.status == 400, await response.text()
    answer = await response.json()
    assert answer["field"] == field and field in answer["error"]
    assert await counts(h) == NOTHING


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe\x00", b"", b"null"])
async def test_a_body_that_is_no_json_object_is_400(h: Harness, raw: bytes) -> None:
    client = await h.http()
    response = await client.post(URL, data=raw,
                                 headers={**STAFF, "Content-Type": "application/json"})
    assert response.status == 400 and "error" in await response.json()
    assert await counts(h) == NOTHING


async def test_a_service_the_office_does_not_offer_is_422(h: Harness) -> None:
    client = await h.http()
    response = await client.post(URL, headers=STAFF, json=body(
        TUE.replace(hour=10)) | {"service": "aufenthaltstitel"})  # only in Meißen
    assert response.status == 422
    assert (await response.json())["code"] == "service_not_offered"
    assert await counts(h) == NOTHING


async def test_a_valid_start_books_and_a_full_slot_is_409(h: Harness) -> None:
    client = await h.http()
    start = TUE.replace(hour=10)
    local = await client.post(URL, headers=STAFF, json=body("2026-11-24T10:00:00"))  # no offset
    assert local.status == 201
    assert datetime.fromisoformat((await local.json())["start"]) == start
    utc = await client.post(URL, headers=STAFF, json=body("2026-11-24T09:00:00Z"))
    assert utc.status == 201  # the same instant, Riesa's second counter
    full = await client.post(URL, headers=STAFF, json=body(start))
    assert full.status == 409
    assert await full.json() == {"error": "slot not free", "code": "slot_taken"}
    assert len(await assert_no_overlap(h, "riesa")) == 2


async def test_the_duration_comes_from_the_service(h: Harness) -> None:
    client = await h.http()
    kfz = await client.post(URL, headers=STAFF, json=body(TUE.replace(hour=10)) | {
        "service": "kfz_zulassung", "end": "2026-11-24T10:05:00+01:00"})
    assert kfz.status == 400  # no client-chosen end
    kfz = await client.post(URL, headers=STAFF, json=body(TUE.replace(hour=10)) | {
        "service": "kfz_zulassung"})
    answer = await kfz.json()
    assert datetime.fromisoformat(answer["end"]) - datetime.fromisoformat(answer["start"]) \
        == timedelta(minutes=30)


async def test_the_openapi_spec_describes_the_body_and_the_errors(h: Harness) -> None:
    client = await h.http()
    spec = await (await client.get("/api/v1/openapi.json")).json()
    post = spec["paths"]["/api/v1/appointments"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewAppointment"}
    assert {"201", "400", "401", "409", "422"} <= set(post["responses"])
    schemas = spec["components"]["schemas"]
    new = schemas["NewAppointment"]
    assert set(new["required"]) == {"service", "office", "start", "citizen"}
    assert new["additionalProperties"] is False
    assert new["properties"]["staff_seconds"]["anyOf"][0]["minimum"] == 0
    assert set(schemas["StartError"]["properties"]["code"]["enum"]) == set(CODES)
    for ref in ("CitizenIn", "OverrideIn", "BodyError"):
        assert ref in schemas


# -- the chat and the API on the same counters ---------------------------------------------------


async def chat_pick(h: Harness, sender: str, office: str, start: datetime) -> list:
    """A citizen asks for `start` at `office` and gets it (held), picking it from the offered
    slots if the chat does not take the free exact time at once."""
    await h.say("/book_appointment", sender=sender)
    await h.say('/inform{"service": "personalausweis"}', sender=sender)
    await h.say(f'/inform{{"office": "{office}"}}', sender=sender)
    exact = start.isoformat()
    r = await h.say(f'/inform{{"start": "{exact}", "end": "{exact}"}}', sender=sender)
    if "Diese Termine" in texts(r):
        r = await h.click(button(r, start.strftime("%d.%m. %H:%M")), sender=sender)
    assert "Namen" in texts(r), texts(r)
    assert set(cells(start, later(start, timedelta(minutes=20)))) <= await held(h, office)
    return r


async def held(h: Harness, office: str) -> set[datetime]:
    """The cells held (not yet booked) at the office."""
    async with h.ctx.db() as session:
        return set(await session.scalars(select(Occupancy.cell).where(
            Occupancy.office_id == office, Occupancy.hold.is_not(None))))


async def chat_finish(h: Harness, sender: str, name: str) -> str:
    await h.say(name, sender=sender)
    await h.say("/skip", sender=sender)
    return texts(await h.say("/affirm", sender=sender))


async def test_an_api_booking_at_0807_never_overlaps_a_chat_booking_at_the_grid(
        h: Harness) -> None:
    """Coswig has one counter and opens at 08:30: the chat books 08:30, the API cannot
    squeeze in at 08:37 (refused), nor at 08:30 (taken)."""
    client = await h.http()
    slot = TUE.replace(hour=8, minute=30)
    await chat_pick(h, "anna", "coswig", slot)
    done = await chat_finish(h, "anna", "Anna Berger")
    assert "gebucht" in done, done
    before = await counts(h)
    off = await client.post(URL, headers=STAFF, json=body(
        slot.replace(minute=37)) | {"office": "coswig"})
    assert off.status == 422 and (await off.json())["code"] == "off_grid"
    same = await client.post(URL, headers=STAFF, json=body(slot) | {"office": "coswig"})
    assert same.status == 409
    assert await counts(h) == before
    [a] = await assert_no_overlap(h, "coswig")
    assert a.start == slot and a.channel == "test"


async def test_chat_hold_and_api_booking_at_the_same_slot_share_no_counter(h: Harness) -> None:
    client = await h.http()
    slot = TUE.replace(hour=10)
    # Coswig (one counter): the chat holds the slot, the API gets 409, the chat books it.
    await chat_pick(h, "anna", "coswig", slot)
    api = await client.post(URL, headers=STAFF, json=body(slot) | {"office": "coswig"})
    assert api.status == 409
    assert "gebucht" in await chat_finish(h, "anna", "Anna Berger")
    # Riesa (two counters): the API books first, the chat gets the other counter.
    assert (await client.post(URL, headers=STAFF, json=body(slot))).status == 201
    await chat_pick(h, "ben", "riesa", slot)
    assert "gebucht" in await chat_finish(h, "ben", "Ben Bauer")
    full = await client.post(URL, headers=STAFF, json=body(slot))
    assert full.status == 409
    assert len(await assert_no_overlap(h, "coswig")) == 1
    riesa = await assert_no_overlap(h, "riesa")
    assert [a.start for a in riesa] == [slot, slot] and {a.counter for a in riesa} == {1, 2}


async def test_a_chat_that_holds_a_slot_can_confirm_it_after_the_notice_passed(
        h: Harness) -> None:
    """The notice is checked when the slot is held; confirming a few minutes later, when the
    start is less than 60 minutes away, still books it."""
    await h.say("/book_appointment", sender="anna")
    await h.say('/inform{"service": "personalausweis"}', sender="anna")
    r = await h.say('/inform{"office": "coswig"}', sender="anna")
    r = await h.click(button(r, "So bald wie möglich"), sender="anna")
    r = await h.click(button(r, "23.11. 10:00"), sender="anna")  # 60 minutes from NOW
    h.clock.advance(minutes=3)
    assert await held(h, "coswig")
    assert "gebucht" in await chat_finish(h, "anna", "Anna Berger")
    assert not await held(h, "coswig")  # the hold became the appointment
    [a] = await assert_no_overlap(h, "coswig")
    assert a.start == NOW.replace(hour=10)


# -- the domain services -------------------------------------------------------------------------


async def test_book_now_raises_for_an_unbookable_start_before_writing(h: Harness) -> None:
    for start, code in ((TUE.replace(hour=8, minute=7), "off_grid"),
                        (TUE.replace(hour=20), "closed"),
                        (TUE.replace(year=2020), "past"),
                        (TUE.replace(hour=10).replace(tzinfo=None), "no_timezone")):
        with pytest.raises(InvalidStart) as err:
            await book.book_now(h.ctx, service_id="personalausweis", office_id="riesa",
                                start=start, citizen=book.Citizen("A B"), origin=CITIZEN)
        assert err.value.code == code
    with pytest.raises(InvalidStart) as err:
        await book.book_now(h.ctx, service_id="personalausweis", office_id="riesa",
                            start=TUE.replace(hour=20), citizen=book.Citizen("A B"),
                            origin=CITIZEN, override=StaffOverride("Abendtermin"))
    assert err.value.code == "override_not_allowed"  # citizens cannot override
    assert await counts(h) == NOTHING


async def test_hold_confirm_and_move_refuse_what_the_slot_search_would_not_offer(
        h: Harness) -> None:
    twenty = timedelta(minutes=20)
    for start in (TUE.replace(hour=8, minute=7), TUE.replace(hour=20),
                  datetime(2026, 12, 28, 10, tzinfo=BERLIN), NOW - timedelta(hours=1),
                  NOW + timedelta(minutes=30), datetime(2027, 6, 1, 10, tzinfo=BERLIN)):
        assert await book.hold(h.ctx, "riesa", start, start + twenty) is None, start
    slot = TUE.replace(hour=10)
    assert await book.hold(h.ctx, "riesa", slot, slot + timedelta(minutes=7)) is None  # length
    assert await book.hold(h.ctx, "riesa", slot, slot + twenty,
                           service_id="kfz_zulassung") is None  # Kfz takes 30 minutes
    assert await counts(h) == NOTHING
    # A hold for 10:00 confirmed as 08:07: refused, and the hold is let go.
    token = await book.hold(h.ctx, "riesa", slot, slot + twenty)
    assert token
    off = TUE.replace(hour=8, minute=7)
    assert await book.confirm(h.ctx, token, service_id="personalausweis", office_id="riesa",
                              start=off, end=off + twenty, citizen=book.Citizen("A B"),
                              origin=CITIZEN) is None
    assert await counts(h) == NOTHING
    # A hold for 10:00 confirmed as 11:00: the appointment gets 11:00's cells, not 10:00's.
    token = await book.hold(h.ctx, "riesa", slot, slot + twenty)
    eleven = TUE.replace(hour=11)
    b = await book.confirm(h.ctx, token or "", service_id="personalausweis", office_id="riesa",
                           start=eleven, end=eleven + twenty, citizen=book.Citizen("C D"),
                           origin=CITIZEN)
    assert b is not None
    async with h.ctx.db() as session:
        taken = set(await session.scalars(select(Occupancy.cell)))
    assert taken == set(cells(eleven, eleven + twenty))
    a = await book.book_now(h.ctx, service_id="personalausweis", office_id="riesa", start=slot,
                            citizen=book.Citizen("A B"), origin=CITIZEN)
    assert a is not None
    # Moving it: not off the grid, not into the past, not into a closure, with any token.
    for start in (TUE.replace(hour=9, minute=7), NOW - timedelta(days=1),
                  datetime(2026, 12, 29, 10, tzinfo=BERLIN)):
        assert await reschedule.move(h.ctx, a.id, "", start, start + twenty, CITIZEN) is None
        token = await book.hold(h.ctx, "riesa", start, start + twenty)
        assert token is None
    assert await reschedule.move(h.ctx, a.id, "", TUE.replace(hour=9),
                                 TUE.replace(hour=9, minute=30), CITIZEN) is None  # length
    rows = await assert_no_overlap(h, "riesa")
    assert sorted(r.start for r in rows) == [slot, eleven]


async def test_an_off_grid_interval_takes_the_cells_of_the_grid(h: Harness) -> None:
    """Defence in depth: even written past the services, 08:37–08:57 collides with a booking at
    08:30 on the same counter, because cells are aligned to the 5-minute grid."""
    slot = TUE.replace(hour=8, minute=30)
    assert await book.book_now(h.ctx, service_id="personalausweis", office_id="coswig",
                               start=slot, citizen=book.Citizen("A B"), origin=CITIZEN)
    assert cells(slot.replace(minute=37), slot.replace(minute=57))[0] == \
        slot.replace(minute=35).astimezone(UTC)
    async with h.ctx.db() as session:
        taken = await occupancy.take(session, "coswig", 1, slot.replace(minute=37),
                                     slot.replace(minute=57), now=h.ctx.now())
        await session.rollback()
    assert taken is None


# -- the staff override --------------------------------------------------------------------------


async def test_a_staff_override_books_an_evening_appointment_and_is_audited(
        h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    client = await h.http()
    evening = TUE.replace(hour=18)  # Meißen closes at 18:00 on Tuesdays
    caplog.set_level(logging.INFO)
    plain = await client.post(URL, headers=STAFF, json=body(evening) | {"office": "meissen"})
    assert plain.status == 422 and (await plain.json())["code"] == "closed"
    reason = {"reason": "Abendtermin für Berufstätige"}
    blank = await client.post(URL, headers=STAFF, json=body(evening) | {
        "office": "meissen", "override": {"reason": " "}})
    assert blank.status == 400 and (await blank.json())["field"] == "override.reason"
    assert await counts(h) == NOTHING
    done = await client.post(URL, headers=STAFF, json=body(evening) | {
        "office": "meissen", "override": reason})
    assert done.status == 201, await done.text()
    a = await done.json()
    assert datetime.fromisoformat(a["start"]) == evening
    # The reason is kept with the appointment and shown to staff, also later.
    assert a["override_reason"] == "Abendtermin für Berufstätige"
    again = await client.get(f"{URL}/{a['reference']}", headers=STAFF)
    assert (await again.json())["override_reason"] == "Abendtermin für Berufstätige"
    day = await client.get(URL, headers=STAFF, params={"office": "meissen",
                                                       "date": evening.date().isoformat()})
    assert [x["override_reason"] for x in await day.json()] == ["Abendtermin für Berufstätige"]
    async with h.ctx.db() as session:
        events = list(await session.scalars(select(Event).where(Event.kind == "start_override")))
    [event] = events
    assert (event.office_id, event.service_id, event.actor) == ("meissen", "personalausweis",
                                                                 "staff")
    # The reason is free text that may name the citizen: the log says that there was one.
    assert "(closed)" in caplog.text and "Abendtermin für Berufstätige" not in caplog.text
    assert "Else Walter" not in caplog.text
    stats = await (await client.get("/api/v1/stats", headers=STAFF)).json()
    assert stats["kinds"]["start_override"]["total"] == 1


@pytest.mark.parametrize(("start", "office", "status", "code"), [
    (datetime(2026, 11, 24, 18, 7, tzinfo=BERLIN), "meissen", 422, "off_grid"),
    (datetime(2026, 11, 23, 7, 0, tzinfo=BERLIN), "meissen", 422, "past"),
    (datetime(2026, 11, 23, 9, 45, tzinfo=BERLIN), "meissen", 422, "too_soon"),
    (datetime(2027, 5, 4, 18, 0, tzinfo=BERLIN), "meissen", 422, "beyond_horizon"),
    (datetime(2026, 11, 29, 19, 0, tzinfo=BERLIN), "meissen", 201, None),  # Sunday evening
    (datetime(2026, 12, 28, 10, 0, tzinfo=BERLIN), "riesa", 201, None),  # in the closure
    (datetime(2027, 1, 1, 10, 0, tzinfo=BERLIN), "riesa", 201, None),  # New Year's Day
])
async def test_an_override_lifts_hours_and_closures_only(
        h: Harness, start: datetime, office: str, status: int, code: str | None) -> None:
    client = await h.http()
    response = await client.post(URL, headers=STAFF, json=body(start) | {
        "office": office, "override": {"reason": "Sondertermin"}})
    assert response.status == status, await response.text()
    if code:
        assert (await response.json())["code"] == code
        assert await counts(h) == NOTHING


async def test_an_override_never_overlaps_and_is_recorded_only_when_needed(h: Harness) -> None:
    client = await h.http()
    evening = TUE.replace(hour=18, minute=30)
    override = {"office": "coswig", "override": {"reason": "Sondertermin"}}
    assert (await client.post(URL, headers=STAFF, json=body(evening) | override)).status == 201
    again = await client.post(URL, headers=STAFF, json=body(evening.replace(minute=45))
                              | override)
    assert again.status == 409  # Coswig's one counter is taken until 18:50
    normal = await client.post(URL, headers=STAFF, json=body(TUE.replace(hour=10)) | override)
    assert normal.status == 201  # an ordinary slot needs no override: not recorded
    assert (await normal.json())["override_reason"] is None
    async with h.ctx.db() as session:
        kinds = list(await session.scalars(select(Event.kind).order_by(Event.id)))
    assert kinds == ["booked", "start_override", "booked"]
    assert len(await assert_no_overlap(h, "coswig")) == 2


async def test_staff_can_move_an_appointment_to_the_evening_with_an_override(
        h: Harness) -> None:
    a = await book.book_now(h.ctx, service_id="personalausweis", office_id="meissen",
                            start=TUE.replace(hour=10), citizen=book.Citizen("A B"),
                            origin=CITIZEN)
    assert a is not None
    evening, end = TUE.replace(hour=18, minute=15), TUE.replace(hour=18, minute=35)
    assert await book.hold(h.ctx, "meissen", evening, end) is None
    assert await reschedule.move(h.ctx, a.id, "", evening, end, CLERK) is None
    why = StaffOverride("Bürger kann nur abends")
    assert await reschedule.move(h.ctx, a.id, "", evening, end, CITIZEN, override=why) is None
    token = await book.hold(h.ctx, "meissen", evening, end, override=why)
    assert token
    moved = await reschedule.move(h.ctx, a.id, token, evening, end, CLERK, override=why)
    assert moved is not None and moved.start == evening
    assert moved.override_reason == "Bürger kann nur abends"
    assert "override_reason" not in moved.to_api(include_personal=False)  # not to the citizen
    async with h.ctx.db() as session:
        assert await session.scalar(select(func.count()).select_from(Event).where(
            Event.kind == "start_override")) == 1
    # Moved back into the opening hours, the appointment needs no reason any more.
    back = TUE.replace(hour=10, minute=30)
    token = await book.hold(h.ctx, "meissen", back, back + timedelta(minutes=20))
    assert token
    moved = await reschedule.move(h.ctx, a.id, token, back, back + timedelta(minutes=20), CLERK)
    assert moved is not None and moved.override_reason is None


async def test_the_override_reason_is_never_logged_and_goes_with_the_personal_data(
        h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = await h.http()
    reason = "Frau Walter pflegt ihre Mutter, kommt nur abends"
    done = await client.post(URL, headers=STAFF, json=body(TUE.replace(hour=18)) | {
        "office": "meissen", "override": {"reason": f"  {reason} "}})
    assert done.status == 201, await done.text()
    assert (await done.json())["override_reason"] == reason  # stored trimmed
    assert reason not in caplog.text and "pflegt" not in caplog.text
    h.clock.advance(days=3)  # a day after the appointment: its personal data is due
    await purge(h.ctx.db, Policy.from_config(h.ctx.config), h.ctx.now())
    async with h.ctx.db() as session:
        row = await session.scalar(select(Appointment))
    assert row is not None and row.anonymized_at is not None and row.override_reason is None


# -- validate_start, unit by unit ----------------------------------------------------------------


def office(**changes: Any) -> Office:
    return Office.model_validate({
        "id": "amt", "name": {"de": "Amt", "en": "Office"},
        "address": {"street": "Markt 1", "postcode": "01662", "city": "Meißen"},
        "opening_hours": {"mon": ["08:00-12:00"], "tue": ["08:00-12:00", "13:00-18:00"],
                          "sat": ["09:00-12:00"], "sun": ["01:00-04:00"]},
        "closures": [{"start": "2026-12-28", "end": "2027-01-02", "every": "year"}],
        "services": ["ausweis"], **changes})


AMT = office()
AUSWEIS = Service.model_validate({
    "id": "ausweis", "name": {"de": "Ausweis", "en": "ID"}, "duration_minutes": 20,
    "documents": {"de": [], "en": []}, "fee": {"de": "-", "en": "-"}})
PASS = AUSWEIS.model_copy(update={"id": "pass"})
CFG = BookingCfg()  # 60 minutes' notice, 90 days, 15-minute grid, Saxony


def code(start: datetime, now: datetime = NOW, **kw: Any) -> str | None:
    found = start_problem(kw.pop("office", AMT), kw.pop("service", AUSWEIS),
                          kw.pop("booking", CFG), start, now=now, **kw)
    return found.code if found else None


def test_every_code() -> None:
    tue = TUE.replace(hour=10)
    assert code(tue) is None
    assert code(tue, service=PASS) == "service_not_offered"
    assert code(tue.replace(tzinfo=None)) == "no_timezone"
    assert code(tue.replace(year=2020)) == "past"
    assert code(NOW + timedelta(minutes=45)) == "too_soon"
    assert code(NOW + timedelta(days=91)) == "beyond_horizon"
    assert code(tue, end=tue + timedelta(minutes=25)) == "duration"
    assert code(tue, end=tue + timedelta(minutes=20)) is None
    assert code(tue.replace(minute=7)) == "off_grid"
    assert code(tue.replace(second=1)) == "off_grid"
    assert code(tue.replace(microsecond=1)) == "off_grid"
    assert code(datetime(2026, 12, 29, 10, tzinfo=BERLIN)) == "closure"
    assert code(datetime(2026, 12, 25, 10, tzinfo=BERLIN)) == "holiday"  # a Friday
    assert code(tue.replace(hour=12, minute=30)) == "closed"
    assert code(tue.replace(hour=11, minute=45)) == "closed"  # ends 12:05
    assert code(tue.replace(hour=17, minute=30)) is None  # ends 17:50
    assert code(tue.replace(hour=17, minute=45)) == "closed"
    assert code(datetime(2026, 11, 25, 10, tzinfo=BERLIN)) == "closed"  # Wednesday
    assert code(tue, override=StaffOverride("")) == "override_reason"
    assert code(tue, override=StaffOverride("  \n")) == "override_reason"
    assert {"unknown_office", "unknown_service", "override_not_allowed"} <= set(CODES)


def test_the_boundaries_of_notice_and_horizon_are_bookable() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
    assert code(now.replace(hour=10), now) is None  # exactly 60 minutes
    assert code(now.replace(hour=9, minute=45), now) == "too_soon"
    assert code(now.replace(hour=9, minute=45), now, notice=False) is None  # held already
    assert code(now.replace(hour=8, minute=45), now, notice=False) == "past"
    five = timedelta(minutes=5)  # the chat holds a slot offered up to a hold's length ago
    assert code(now.replace(hour=10), now + five, grace=five) is None
    assert code(now.replace(hour=10), now + five + timedelta(seconds=1), grace=five) == "too_soon"
    saturday = datetime(2027, 2, 20, 11, 30, tzinfo=BERLIN)  # open 09:00-12:00
    assert code(saturday, saturday - timedelta(days=90)) is None
    assert code(saturday, saturday - timedelta(days=90, minutes=1)) == "beyond_horizon"


def test_the_override_lifts_hours_closures_and_holidays_only() -> None:
    why = StaffOverride("Abendtermin")
    tue = TUE.replace(hour=18, minute=15)
    assert code(tue) == "closed" and code(tue, override=why) is None
    assert code(tue.replace(minute=10), override=why) == "off_grid"  # 13:00 + 15-minute steps
    assert code(datetime(2026, 11, 25, 19, 0, tzinfo=BERLIN), override=why) is None  # Wed
    assert code(datetime(2026, 11, 25, 19, 5, tzinfo=BERLIN), override=why) == "off_grid"
    assert code(datetime(2026, 12, 29, 10, tzinfo=BERLIN), override=why) is None  # closure
    assert code(datetime(2026, 12, 25, 10, tzinfo=BERLIN), override=why) is None  # holiday
    assert code(NOW - timedelta(hours=1), override=why) == "past"
    assert code(NOW + timedelta(minutes=30), override=why) == "too_soon"
    assert code(NOW + timedelta(days=100), override=why) == "beyond_horizon"
    assert code(TUE.replace(hour=10), service=PASS, override=why) == "service_not_offered"


def test_year_boundaries_and_the_ends_of_time() -> None:
    # A closure repeated every year across New Year: 28.12.–2.1., in any year.
    now = datetime(2027, 12, 20, 9, tzinfo=BERLIN)
    assert code(datetime(2027, 12, 27, 10, tzinfo=BERLIN), now) is None  # Monday before
    assert code(datetime(2027, 12, 28, 10, tzinfo=BERLIN), now) == "closure"  # Tuesday
    assert code(datetime(2028, 1, 1, 10, tzinfo=BERLIN), now) == "closure"  # Sat, holiday too
    assert code(datetime(2028, 1, 3, 10, tzinfo=BERLIN), now) is None  # Monday after
    # Without the closure, New Year's Day is a holiday and the Saturday after it is open.
    plain = office(closures=[])
    assert code(datetime(2027, 1, 1, 10, tzinfo=BERLIN), office=plain) == "holiday"  # Friday
    assert code(datetime(2028, 1, 1, 10, tzinfo=BERLIN), now, office=plain) == "holiday"
    assert code(datetime(2027, 1, 2, 10, tzinfo=BERLIN), office=plain) is None
    # New Year's Eve to New Year's Day in UTC: 2027-01-04 07:00 UTC is 08:00 in Berlin.
    assert code(datetime(2027, 1, 4, 7, tzinfo=UTC), office=plain) is None
    assert code(datetime(2026, 12, 31, 23, tzinfo=UTC), office=plain) == "holiday"  # 00:00
    for far in (datetime(9999, 12, 31, 23, 45, tzinfo=BERLIN),
                datetime(9999, 12, 31, 23, 45, tzinfo=UTC),
                datetime.fromisoformat("9999-12-31T23:45:00-01:00"),
                datetime(10_000 - 1, 1, 4, 10, tzinfo=BERLIN)):
        assert code(far) == "beyond_horizon", far
    for early in (datetime(1, 1, 1, tzinfo=UTC), datetime.fromisoformat("0001-01-01T00:30+01:00"),
                  datetime(2026, 11, 23, 7, 59, tzinfo=UTC)):
        assert code(early) == "past", early


def test_the_grid_survives_the_change_to_summer_time() -> None:
    """Sunday 28 March 2027: at 02:00 the clocks jump to 03:00. The office is open 01:00–04:00
    on Sundays: two real hours that night."""
    night = office(closures=[])
    now = datetime(2027, 3, 27, 12, tzinfo=BERLIN)
    day = list(candidate_starts(night, AUSWEIS, CFG, datetime(2027, 3, 28, tzinfo=BERLIN),
                                datetime(2027, 3, 28, 23, 59, tzinfo=BERLIN)))
    assert [s.strftime("%H:%M%z") for s in day] == [
        "01:00+0100", "01:15+0100", "01:30+0100", "01:45+0100",
        "03:00+0200", "03:15+0200", "03:30+0200"]
    assert len({s.astimezone(UTC) for s in day}) == len(day)  # no instant twice
    for s in day:
        assert code(s, now, office=night) is None, s
    # 01:45 + 20 real minutes ends at 03:05 summer time: inside the hours.
    assert later(day[3], timedelta(minutes=20)).strftime("%H:%M%z") == "03:05+0200"
    assert code(datetime(2027, 3, 28, 1, 50, tzinfo=BERLIN), now, office=night) == "off_grid"
    assert code(datetime(2027, 3, 28, 3, 45, tzinfo=BERLIN), now, office=night) == "closed"
    assert code(datetime(2027, 3, 28, 1, 0, tzinfo=UTC), now, office=night) is None  # 03:00
    # The Monday after is Easter Monday; on Tuesday 08:00 summer time is 06:00 UTC, and a
    # stale +01:00 offset names 09:00.
    assert code(datetime(2027, 3, 29, 8, tzinfo=BERLIN), now, office=night) == "holiday"
    assert code(datetime(2027, 3, 30, 8, tzinfo=BERLIN), now, office=night) is None
    assert code(datetime(2027, 3, 30, 6, tzinfo=UTC), now, office=night) is None
    assert code(datetime.fromisoformat("2027-03-30T08:00:00+01:00"), now, office=night) is None
    assert code(datetime.fromisoformat("2027-03-30T11:45:00+01:00"), now,
                office=night) == "closed"  # 12:45 summer time
    assert code(datetime.fromisoformat("2027-03-30T08:07:00+02:00"), now,
                office=night) == "off_grid"


def test_the_grid_survives_the_change_to_winter_time() -> None:
    """Sunday 31 October 2027: at 03:00 the clocks go back to 02:00, so 02:00–03:00 happens
    twice and the office open 01:00–04:00 is open four real hours. (In Saxony the day is
    Reformation Day; an office in Bavaria is open.)"""
    night = office(closures=[])
    now = datetime(2027, 10, 30, 12, tzinfo=BERLIN)
    assert code(datetime(2027, 10, 31, 1, tzinfo=BERLIN), now, office=night) == "holiday"
    bavaria = CFG.model_copy(update={"holiday_subdivision": "BY"})
    day = list(candidate_starts(night, AUSWEIS, bavaria, datetime(2027, 10, 31, tzinfo=BERLIN),
                                datetime(2027, 10, 31, 23, 59, tzinfo=BERLIN)))
    assert len(day) == 15 and len({s.astimezone(UTC) for s in day}) == 15  # 01:00…03:30
    twice = [s for s in day if s.hour == 2 and s.minute == 30]
    assert [s.strftime("%z") for s in twice] == ["+0200", "+0100"]
    def at(t: datetime, when: datetime = now) -> str | None:
        return code(t, when, office=night, booking=bavaria)

    for s in day:
        assert at(s) is None, s
    summer = datetime.fromisoformat("2027-10-31T02:30:00+02:00")
    winter = datetime.fromisoformat("2027-10-31T02:30:00+01:00")
    assert at(summer) is None and at(winter) is None
    # The notice counts real minutes: at 02:30 summer time, 02:15 winter time is 45 minutes
    # ahead (too soon), 02:30 winter time an hour (fine), 02:15 summer time past.
    assert at(winter.replace(minute=15), summer) == "too_soon"
    assert at(winter, summer) is None
    assert at(summer.replace(minute=15), summer) == "past"
    assert at(datetime(2027, 10, 31, 3, 45, tzinfo=BERLIN)) == "closed"


@pytest.mark.parametrize(("frm", "the_office"), [
    (datetime(2026, 11, 23, 9, tzinfo=BERLIN), "real"),
    (datetime(2026, 12, 21, 0, tzinfo=BERLIN), "real"),  # Christmas, closures, New Year
    (datetime(2027, 3, 26, 0, tzinfo=BERLIN), "night"),  # summer time
    (datetime(2027, 10, 29, 0, tzinfo=BERLIN), "night"),  # winter time
])
def test_the_validation_accepts_exactly_what_the_slot_search_offers(
        frm: datetime, the_office: str) -> None:
    """Every 5 minutes over two weeks: valid if and only if the slot search has it."""
    cfg = load_config(ROOT / "config.yml")
    offices = cfg.offices if the_office == "real" else [office(closures=[])]
    now = frm - timedelta(days=1)
    for o in offices:
        for s in (cfg.service(o.services[0]) if the_office == "real" else AUSWEIS,
                  cfg.service("kfz_zulassung") or AUSWEIS):
            if s.id not in o.services:
                continue
            offered = {t.astimezone(UTC) for t in candidate_starts(
                o, s, cfg.booking, frm, frm + timedelta(days=14))}
            assert offered
            t = frm.astimezone(UTC)
            while t < frm + timedelta(days=14):
                ok = start_problem(o, s, cfg.booking, t, now=now) is None
                assert ok == (t in offered), (o.id, s.id, t.astimezone(BERLIN))
                t += timedelta(minutes=5)


async def test_free_slots_and_validation_agree_with_bookings(h: Harness) -> None:
    """Slots the search returns (with its notice and horizon) are all valid starts."""
    meissen, service = h.ctx.config.office("meissen"), h.ctx.config.service("kfz_zulassung")
    assert meissen and service
    async with h.ctx.db() as session:
        found = await find_free_slots(session, meissen, service, h.ctx.config.booking, NOW,
                                      NOW + timedelta(days=120), NOW, [], limit=2000)
    assert found and all(start_problem(meissen, service, h.ctx.config.booking, s.start,
                                       now=NOW, end=s.end) is None for s in found)
    assert max(s.start for s in found) <= NOW + timedelta(days=90)
    offer = await availability.offer(h.ctx, "kfz_zulassung", "meissen", None, None)
    assert all(on_grid(meissen, h.ctx.config.booking, s.start) for s in offer.slots)

