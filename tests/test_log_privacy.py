"""No personal data in the server log (issue 14): whole conversations with a name, a phone
number and an e-mail address, a failed check with a wrong name, staff bookings and a database
error with those values bound; the complete log output at DEBUG must not contain any of them."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from sqlalchemy import select

from assistant.booking import references
from assistant.http.app import errors
from assistant.storage.models import Appointment
from assistant.testing import Harness, texts

STAFF = {"Authorization": "Bearer staff-secret"}
NAME, PHONE, EMAIL = "Xaverius Quappendorf", "0171 4455123", "xaverius.quappendorf@example.org"
NAME2, PHONE2 = "Hermine Zwirbelkraut", "0152 27788991"
WRONG = "Bratwurstmeier"
STAFF_CITIZEN = {"name": "Ottokar Wendeltreppe", "phone": "0351 9182736",
                 "email": "o.wendeltreppe@example.net"}
# Every value and the parts a log line could show of it (E.164, the last name alone, ...).
PERSONAL = ["Xaverius", "Quappendorf", "4455123", "Hermine", "Zwirbelkraut", "27788991",
            WRONG, "Ottokar", "Wendeltreppe", "9182736", "example.org", "example.net"]


def _reference(replies) -> str:  # type: ignore[no-untyped-def]
    code = references.find(texts(replies))
    assert code, texts(replies)
    return references.display(code)


async def _book(h: Harness, sender: str, name_and_contact: str, contact: str | None) -> str:
    r = await h.say("Guten Tag, ich brauche bitte einen neuen Personalausweis", sender)
    r = await h.say("in Riesa", sender)
    r = await h.say("morgen vormittag", sender)
    assert "Diese Termine" in texts(r), texts(r)
    r = await h.say("2", sender)
    assert "Namen" in texts(r), texts(r)
    r = await h.say(name_and_contact, sender)
    if contact is not None:
        assert "E-Mail" in texts(r), texts(r)
        r = await h.say(contact, sender)
    assert "Bitte prüfen Sie" in texts(r), texts(r)
    r = await h.say("ja, bitte buchen", sender)
    assert "Ihr Termin ist gebucht" in texts(r), texts(r)
    return _reference(r)


@pytest.mark.rasa
async def test_personal_data_never_reaches_the_log(
        harness: Harness, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", "staff-secret")
    caplog.set_level(logging.DEBUG)  # the root logger: every logger that does not say otherwise
    h = harness
    client = await h.http()

    # A booking by chat with a name and an e-mail address, one with a name and a phone number.
    ref = await _book(h, "xq", NAME, EMAIL)
    ref2 = await _book(h, "hz", f"{NAME2}, {PHONE2}", None)
    async with h.ctx.db() as session:
        booked = {a.citizen_name: a for a in await session.scalars(select(Appointment))}
    assert booked[NAME].email == EMAIL and booked[NAME2].phone == "+4915227788991"

    # A failed check with a wrong last name, then the right one; a contact given as proof.
    r = await h.say(f"Wann ist mein Termin {ref}?", "mallory")
    assert "Nachname" in texts(r), texts(r)
    r = await h.say(WRONG, "mallory")
    assert "Quappendorf" not in texts(r)
    r = await h.say(f"Wann ist mein Termin {ref}?", "xq2")
    r = await h.say("Quappendorf", "xq2")
    assert "24." in texts(r), texts(r)
    r = await h.say(f"Ich möchte meinen Termin {ref2} absagen", "hz2")
    r = await h.say(PHONE2, "hz2")

    # The REST channel: a name and a phone number in one message.
    for text in ("Ich brauche einen Termin", f"Ich heiße {NAME}, Telefon {PHONE}"):
        resp = await client.post("/webhooks/rest/webhook", json={"sender": "rest-xq",
                                                                  "message": text})
        assert resp.status == 200

    # Staff book by hand, once successfully and once refused (422) and malformed (400).
    start = (h.clock.now + timedelta(days=1)).replace(hour=10, minute=0)
    resp = await client.post("/api/v1/appointments", headers=STAFF, json={
        "service": "meldebescheinigung", "office": "riesa", "start": start.isoformat(),
        "citizen": STAFF_CITIZEN})
    assert resp.status == 201, await resp.text()
    resp = await client.post("/api/v1/appointments", headers=STAFF, json={
        "service": "meldebescheinigung", "office": "riesa",
        "start": start.replace(minute=7).isoformat(), "citizen": STAFF_CITIZEN})
    assert resp.status == 422
    resp = await client.post("/api/v1/appointments", headers=STAFF, json={
        "service": "meldebescheinigung", "office": "riesa", "start": start.isoformat(),
        "citizen": {**STAFF_CITIZEN, "email": "o.wendeltreppe(at)example.net"}})
    assert resp.status == 400

    # Notifications and reminders go out (or fail) with the outbox.
    await h.run_outbox_now()

    # A database error with the citizen's data bound, as an unhandled error of a request
    # (the middleware logs it with its traceback).
    async def duplicate(_: web.Request) -> web.Response:
        async with h.ctx.db() as session:
            a = booked[NAME]
            session.add(Appointment(
                reference=a.reference, office_id=a.office_id, service_id=a.service_id,
                start=a.start, end=a.end, counter=a.counter, channel="test", sender="xq",
                language="de", citizen_name=NAME, name_key="quappendorf", phone="+491714455123",
                email=EMAIL, created_at=a.created_at, updated_at=a.updated_at))
            await session.commit()
        return web.json_response({})

    resp = await errors(make_mocked_request("POST", "/api/v1/appointments"), duplicate)
    assert resp.status == 500
    assert "IntegrityError" in caplog.text  # the error is logged, only without the values

    log = caplog.text
    assert {"aiohttp.access", "assistant.http.app"} <= {r.name for r in caplog.records}
    found = [p for p in PERSONAL if re.search(re.escape(p), log, re.IGNORECASE)]
    assert not found, [line for line in log.splitlines()
                       if any(p.casefold() in line.casefold() for p in found)][:10]


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///:memory:",
                                 "postgresql+asyncpg://postgres@127.0.0.1:5432/test"])
async def test_both_engines_hide_bound_parameters(url: str) -> None:
    from assistant.storage import db

    engine = db.create_engine(url)  # connects only when used
    try:
        assert engine.sync_engine.hide_parameters
    finally:
        await engine.dispose()
