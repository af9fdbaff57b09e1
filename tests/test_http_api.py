"""The HTTP surface: REST webhook (Rasa format), public API, staff API, bad input."""

from __future__ import annotations

from datetime import datetime

import pytest

from assistant.booking import book
from assistant.testing import Harness
from tests.conftest import BERLIN, NOW

STAFF = {"Authorization": "Bearer staff-secret"}


@pytest.fixture(autouse=True)
def staff_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", "staff-secret")


async def test_catalogue_endpoints_use_stable_ids(offline_harness: Harness) -> None:
    client = await offline_harness.http()
    offices = await (await client.get("/api/v1/offices")).json()
    riesa = next(o for o in offices if o["id"] == "riesa")
    assert "kfz_zulassung" in riesa["services"] and riesa["opening_hours"]["sat"] == ["09:00-12:00"]
    # The yearly Christmas closure, as its next repetition by the app's clock.
    assert riesa["closures"] == [{"start": "2026-12-24", "end": "2026-12-31", "every": "year"}]
    offline_harness.clock.now = datetime(2029, 12, 30, 12, 0, tzinfo=BERLIN)
    riesa = next(o for o in await (await client.get("/api/v1/offices")).json()
                 if o["id"] == "riesa")
    assert riesa["closures"] == [{"start": "2029-12-24", "end": "2029-12-31", "every": "year"}]
    services = await (await client.get("/api/v1/services")).json()
    kfz = next(s for s in services if s["id"] == "kfz_zulassung")
    assert set(kfz["offices"]) == {"meissen", "riesa", "grossenhain"}
    spec = await (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/slots" in spec["paths"] and "/webhooks/rest/webhook" in spec["paths"]


async def test_slots_respect_hours_holidays_and_bookings(offline_harness: Harness) -> None:
    client = await offline_harness.http()
    resp = await client.get("/api/v1/slots", params={"service": "personalausweis",
                                                      "office": "coswig", "from": "2026-11-24",
                                                      "to": "2026-11-24"})
    slots = (await resp.json())["slots"]
    starts = [s["start"] for s in slots]
    assert starts[0] == "2026-11-24T08:30:00+01:00"
    assert "2026-11-24T12:00:00+01:00" not in starts  # lunch break
    assert starts[-1] == "2026-11-24T17:30:00+01:00"  # 20 minutes before 18:00, on the grid
    # Taking the first slot removes it (Coswig has one counter).
    await book.book_now(offline_harness.ctx, service_id="personalausweis", office_id="coswig",
                        start=datetime.fromisoformat(slots[0]["start"]),
                        citizen=book.Citizen("Max Muster"),
                        origin=book.Origin(channel="test", sender="x", language="de"))
    again = (await (await client.get("/api/v1/slots", params={
        "service": "personalausweis", "office": "coswig", "from": "2026-11-24",
        "to": "2026-11-24"})).json())["slots"]
    assert again[0]["start"] == "2026-11-24T09:00:00+01:00"  # 08:30–08:50 is taken
    # Christmas Day and the second Christmas holiday: nothing anywhere.
    xmas = (await (await client.get("/api/v1/slots", params={
        "service": "personalausweis", "from": "2026-12-25", "to": "2026-12-26"})).json())["slots"]
    assert xmas == []
    bad = await client.get("/api/v1/slots", params={"service": "nope"})
    assert bad.status == 400 and "services" in await bad.json()


async def test_rest_webhook_speaks_rasa_format_and_handles_bad_input(
        offline_harness: Harness) -> None:
    client = await offline_harness.http()
    resp = await client.post("/webhooks/rest/webhook", json={"sender": "s1", "message": "/greet"})
    body = await resp.json()
    assert resp.status == 200 and body[0]["recipient_id"] == "s1"
    assert body[0]["buttons"][0] == {"title": "Termin buchen", "payload": "/book_appointment"}

    bad = await client.post("/webhooks/rest/webhook", data=b"{not json",
                            headers={"Content-Type": "application/json"})
    assert bad.status == 400 and (await bad.json())["error"] == "invalid JSON"
    wrong = await client.post("/webhooks/rest/webhook", json={"sender": "s1", "message": 42})
    assert wrong.status == 400
    binary = await client.post("/webhooks/rest/webhook", data=b"\x00\xff\xfe" * 10,
                               headers={"Content-Type": "application/json"})
    assert binary.status == 400

    # A conversation in progress survives an over-long message and an unknown payload.
    r = await client.post("/webhooks/rest/webhook",
                          json={"sender": "s2", "message": '/book_appointment{"service": '
                                                          '"reisepass"}'})
    assert "Bürgerbüro" in (await r.json())[0]["text"]
    long = await client.post("/webhooks/rest/webhook", json={"sender": "s2", "message": "x" * 2001})
    long_text = " ".join(m["text"] for m in await long.json())
    assert long.status == 200 and "zu lang" in long_text and "Bürgerbüro" in long_text
    unknown = await client.post("/webhooks/rest/webhook", json={"sender": "s2",
                                                                "message": "/hack{\"x\": 1}"})
    assert "kenne ich nicht" in (await unknown.json())[0]["text"]
    r = await client.post("/webhooks/rest/webhook",
                          json={"sender": "s2", "message": '/inform{"office": "riesa"}'})
    assert "Wann passt es Ihnen" in (await r.json())[0]["text"]
    huge = await client.post("/webhooks/rest/webhook", data=b"x" * 200_000,
                             headers={"Content-Type": "application/json"})
    assert huge.status == 413


async def test_rasa_down_the_citizen_carries_on_with_buttons(offline_harness: Harness) -> None:
    h = offline_harness
    r = await h.say("Ich brauche einen Termin")
    assert "Knöpfe" in r[0].text and r[0].buttons
    r = await h.click(r[0].buttons[0])  # Termin buchen
    r = await h.say('/inform{"service": "personalausweis"}')
    r = await h.say('/inform{"office": "coswig"}')
    r = await h.click(r[-1].buttons[0])  # so bald wie möglich
    assert "Diese Termine" in r[-1].text
    r = await h.click(r[-1].buttons[0])
    r = await h.say("Karl Krause")  # names need no NLU
    r = await h.say("/skip")
    r = await h.say("/affirm")
    assert "gebucht" in r[0].text


async def test_staff_api_needs_the_token_and_shows_appointments(offline_harness: Harness) -> None:
    client = await offline_harness.http()
    start = NOW.replace(day=24, hour=10)
    created = await client.post("/api/v1/appointments", headers=STAFF, json={
        "service": "meldebescheinigung", "office": "riesa", "start": start.isoformat(),
        "citizen": {"name": "Else Walter", "phone": "0351 4455667"}, "staff_seconds": 240})
    assert created.status == 201
    ref = (await created.json())["reference"]
    assert (await client.get(f"/api/v1/appointments/{ref}")).status == 401
    wrong = await client.get(f"/api/v1/appointments/{ref}",
                             headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    got = await (await client.get(f"/api/v1/appointments/{ref.lower().replace('-', '')}",
                                  headers=STAFF)).json()
    assert got["citizen"]["name"] == "Else Walter" and got["citizen"]["phone"] == "+493514455667"
    assert datetime.fromisoformat(got["start"]) == start
    day = await (await client.get("/api/v1/appointments", headers=STAFF,
                                  params={"office": "riesa", "date": "2026-11-24"})).json()
    assert [a["reference"] for a in day] == [ref]
    taken = await client.post("/api/v1/appointments", headers=STAFF, json={
        "service": "meldebescheinigung", "office": "riesa", "start": start.isoformat(),
        "citizen": {"name": "A B"}})
    assert taken.status == 201  # second counter
    third = await client.post("/api/v1/appointments", headers=STAFF, json={
        "service": "meldebescheinigung", "office": "riesa", "start": start.isoformat(),
        "citizen": {"name": "C D"}})
    assert third.status == 409 and (await third.json())["code"] == "slot_taken"
    # The whole body is checked before anything is stored (tests/test_start_validation.py).
    bad = await client.post("/api/v1/appointments", headers=STAFF, json={
        "service": "meldebescheinigung", "office": "riesa", "start": start.isoformat(),
        "citizen": {"name": "E F", "email": {"x": 1}}, "staff_seconds": 60})
    assert bad.status == 400 and (await bad.json())["field"] == "citizen.email"
    off_grid = await client.post("/api/v1/appointments", headers=STAFF, json={
        "service": "meldebescheinigung", "office": "riesa",
        "start": start.replace(minute=7).isoformat(), "citizen": {"name": "E F"}})
    assert off_grid.status == 422 and (await off_grid.json())["code"] == "off_grid"
    stats = await (await client.get("/api/v1/stats", headers=STAFF)).json()
    assert stats["kinds"]["booked"]["total"] == 2
    assert stats["kinds"]["booked"]["via_amtsbote"] == 0
    assert stats["kinds"]["staff_time"]["clerk_minutes_avg"] == 4.0


async def test_health_and_metrics(offline_harness: Harness) -> None:
    client = await offline_harness.http()
    health = await (await client.get("/healthz")).json()
    assert health == {"status": "ok", "database": "ok", "nlu": "down"}
    await offline_harness.say("/greet")
    metrics = await (await client.get("/metrics")).text()
    assert "amtsbote_messages_total" in metrics
