"""The phone line end to end: Twilio's signed voice webhooks (speech as SpeechResult with
Confidence, keys as Digits) answered with TwiML, checked as XML, against the real Rasa NLU."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from assistant.storage.models import Appointment, VideoRequest
from assistant.testing import Harness
from assistant.testing.peers.twilio_api import (
    ACCOUNT_SID,
    FROM_NUMBER,
    PUBLIC_URL,
    FakeTwilio,
    post_signed,
    running,
    twiml,
)
from channels.voice.speech import spell
from tests.conftest import BERLIN, NOW

pytestmark = pytest.mark.rasa

CONFIG = Path(__file__).parent / "configs" / "twilio.yml"
PATH = "/webhooks/twilio/voice"
MOBILE = "+4917612345678"
LANDLINE = "+4935211234567"
SPELLED = re.compile(r"Ihre Vorgangsnummer lautet: ([^.]+)\.")


@dataclass
class Caller:
    """One phone call, as Twilio drives it: each answer's Gather action is the next request."""

    h: Harness
    client: TestClient
    api: FakeTwilio
    number: str = MOBILE
    sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    next: str = PATH
    turns: int = 0
    log: list[str] = field(default_factory=list)
    first: Element | None = None

    async def _post(self, path_qs: str, **params: str) -> Element:
        form = {"CallSid": self.sid, "AccountSid": ACCOUNT_SID, "From": self.number,
                "To": FROM_NUMBER, "Caller": self.number, "Called": FROM_NUMBER,
                "CallStatus": "in-progress", "Direction": "inbound",
                "ApiVersion": "2010-04-01", **params}
        status, body = await post_signed(self.client, path_qs, form)
        assert status == 200, body
        self.turns += 1
        root = twiml(body)
        self.first = self.first if self.first is not None else root
        gather = root.find("Gather")
        if gather is not None:
            action = gather.get("action", "")
            assert action.startswith(PUBLIC_URL + PATH + "?t="), action
            self.next = action.removeprefix(PUBLIC_URL)
        self.log.append(f"> {params or 'call'}\n< {spoken(root)}")
        return root

    async def call(self) -> Element:
        return await self._post(PATH, CallStatus="ringing")

    async def say(self, speech: str, confidence: float = 0.92) -> Element:
        return await self._post(self.next, SpeechResult=speech, Confidence=str(confidence))

    async def press(self, digits: str) -> Element:
        return await self._post(self.next, Digits=digits)

    async def silence(self) -> Element:
        return await self._post(self.next)

    def transcript(self) -> str:
        return "\n".join(self.log)


def spoken(root: Element) -> str:
    return " ".join(s.text or "" for s in root.iter("Say"))


def option_key(root: Element, label_part: str) -> str:
    """The key the line says to press for an option ("Für … drücken Sie die 2")."""
    text = spoken(root)
    m = re.search(rf"(?:Für|For) [^.]*{re.escape(label_part)}[^.]*?(?:drücken Sie die|die|press) "
                  r"(\d)", text, re.I)
    assert m, f"no option {label_part!r} in: {text}"
    return m.group(1)


@pytest.fixture
async def line(rasa_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Caller]:
    async with running(monkeypatch) as api, Harness(config=CONFIG, nlu_url=rasa_url,
                                                    now=NOW) as h:
        yield Caller(h, await h.http(), api)


async def appointments(h: Harness) -> list[Appointment]:
    async with h.ctx.db() as session:
        return list(await session.scalars(select(Appointment)))


async def book_by_phone(c: Caller) -> Element:
    """A German booking by voice and keys; returns the last TwiML (the confirmation)."""
    greeting = await c.call()
    gather = greeting.find("Gather")
    assert gather is not None
    assert "Guten Tag" in spoken(greeting)
    done = await c.say("Ich brauche einen neuen Personalausweis in Meißen")
    assert "Wann passt es Ihnen?" in spoken(done), c.transcript()
    offer = await c.press(option_key(done, "nächste Woche"))
    text = spoken(offer)
    assert "Im Bürgerbüro Meißen sind diese Termine frei." in text, c.transcript()
    # Times are spoken as people say them, at most three with a key each.
    assert re.search(r"Für Montag, den 30\. November, um [^.]+ drücken Sie die 1\.", text), text
    assert "die 4" not in text and "Oder nennen Sie eine andere Zeit." in text
    name = await c.press("1")
    assert "Auf welchen Namen" in spoken(name), c.transcript()
    summary = await c.say("Anna Schmidt.", confidence=0.88)  # Twilio punctuates
    text = spoken(summary)
    assert "Ich fasse zusammen" in text and "Anna Schmidt" in text, c.transcript()
    assert "Montag, den 30. November, um" in text and "Für Ja drücken Sie die 1." in text
    return await c.press("1")


async def test_a_whole_booking_by_phone_in_german(line: Caller) -> None:
    c = line
    done = await book_by_phone(c)
    greeting = c.first
    assert greeting is not None
    gather = greeting.find("Gather")
    assert gather is not None
    assert gather.get("input") == "speech dtmf" and gather.get("language") == "de-DE"
    assert gather.get("speechTimeout") == "auto" and gather.get("method") == "POST"
    assert gather.get("actionOnEmptyResult") == "true" and gather.get("numDigits") == "1"
    hints = gather.get("hints", "")
    for phrase in ("Personalausweis", "Reisepass", "Kfz-Zulassung", "Riesa", "Großenhain",
                   "Meißen", "Ummeldung"):
        assert phrase in hints
    says = greeting.findall(".//Say")
    assert says[0].get("language") == "de-DE" and says[-1].get("language") == "en-GB"
    assert says[-1].text == "For English, press 9."
    assert "Für einen neuen Termin drücken Sie die 1." in spoken(greeting)
    text = spoken(done)
    assert "Ihr Termin ist gebucht: Personalausweis, am Montag, den 30. November" in text
    assert "per SMS" in text, c.transcript()
    m = SPELLED.search(text)
    assert m and re.fullmatch(r"[A-Za-zäöü]+, [A-Za-zäöü]+, [A-Za-zäöü]+ – "
                              r"[A-Za-zäöü]+, [A-Za-zäöü]+, [A-Za-zäöü]+", m.group(1)), text
    assert c.turns == 6, c.transcript()
    [a] = await appointments(c.h)
    assert a.channel == "voice" and a.phone == MOBILE and a.sender == f"{MOBILE}/{c.sid}"
    # The confirmation SMS goes out from the outbox, through the Messages API.
    await c.h.run_outbox_now()
    [sms] = c.api.messages
    assert sms["to"] == MOBILE and a.reference[:3] in sms["body"]
    assert sms["body"].startswith("Ihr Termin: Personalausweis, Montag, 30. November")
    # "wiederholen" reads the reference code again.
    again = await c.say("wiederholen")
    assert SPELLED.search(spoken(again)).group(1) == m.group(1)


async def test_a_landline_caller_hears_the_reference_twice_and_gets_no_sms(line: Caller) -> None:
    c = line
    c.number = LANDLINE
    done = await book_by_phone(c)
    text = spoken(done)
    m = SPELLED.search(text.replace("Bitte notieren Sie Ihre Vorgangsnummer:",
                                    "Ihre Vorgangsnummer lautet:"))
    assert m and f"Ich wiederhole: {m.group(1)}." in text, c.transcript()
    assert "Bitte bringen Sie mit:" in text
    await c.h.run_outbox_now()
    assert c.api.messages == []


async def test_english_by_pressing_nine(line: Caller) -> None:
    c = line
    await c.call()
    switched = await c.press("9")
    gather = switched.find("Gather")
    assert gather is not None and gather.get("language") == "en-GB", c.transcript()
    assert "continue in English" in spoken(switched)
    assert all(s.get("language") == "en-GB" for s in switched.iter("Say"))
    time = await c.say("I need an appointment for a new passport in Riesa")
    assert "When would suit you?" in spoken(time), c.transcript()
    offer = await c.press(option_key(time, "next week"))
    assert "These times are free at" in spoken(offer), c.transcript()
    await c.press("1")
    summary = await c.say("John Smith")
    assert "To sum up" in spoken(summary), c.transcript()
    done = await c.press("1")
    assert "Your appointment is booked: Passport" in spoken(done), c.transcript()
    assert "Your reference is:" in spoken(done)


async def test_unsure_speech_is_confirmed_before_it_is_used(line: Caller) -> None:
    c = line
    await c.call()
    time = await c.say("Ich brauche einen neuen Personalausweis in Meißen")
    await c.press(option_key(time, "nächste Woche"))
    await c.press("1")
    check = await c.say("Anna Schmitt", confidence=0.31)
    expected = "Habe ich richtig verstanden: Anna Schmitt? Drücken Sie 1 für ja, 2 für nein."
    assert spoken(check) == expected, c.transcript()
    again = await c.press("2")
    assert "Bitte sagen Sie es noch einmal" in spoken(again)
    assert "Auf welchen Namen" in spoken(again)
    check = await c.say("Anna Schmidt", confidence=0.4)
    summary = await c.say("ja")
    assert "Ich fasse zusammen" in spoken(summary) and "Anna Schmidt" in spoken(summary), \
        c.transcript()


async def test_silence_reprompts_twice_then_offers_staff_then_ends(line: Caller) -> None:
    c = line
    greeting = await c.call()
    first = await c.silence()
    assert spoken(first).startswith("Ich habe Sie leider nicht gehört.")
    assert "Für einen neuen Termin drücken Sie die 1." in spoken(first)
    second = await c.silence()
    assert spoken(second).startswith("Ich habe Sie leider nicht gehört.")
    assert spoken(second).count("nicht gehört") == 1
    offer = await c.silence()
    assert "drücken Sie die 0" in spoken(offer) and "immer noch nicht" in spoken(offer)
    end = await c.silence()
    assert end.find("Hangup") is not None and end.find("Gather") is None
    assert greeting.find("Redirect") is not None  # no input and no webhook: asked again


async def test_zero_puts_the_caller_through_while_the_office_is_open(line: Caller) -> None:
    c = line
    await c.call()
    transfer = await c.press("0")
    dial = transfer.find("Dial")
    assert dial is not None, c.transcript()
    assert (dial.text or "").strip() == "+4935217250"
    assert dial.get("action", "").startswith(PUBLIC_URL + PATH + "?t=")
    assert "Ich verbinde Sie mit dem Bürgerbüro Meißen" in spoken(transfer)
    # Nobody answers: a call back is offered instead.
    c.next = dial.get("action", "").removeprefix(PUBLIC_URL)
    failed = await c._post(c.next, DialCallStatus="no-answer")
    assert "niemand erreichbar" in spoken(failed) and "zurückrufen" in spoken(failed)


async def test_staff_out_of_hours_records_a_call_back(line: Caller) -> None:
    c = line
    c.h.clock.now = datetime(2026, 11, 25, 19, 30, tzinfo=BERLIN)  # Wednesday evening
    await c.call()
    offer = await c.say("Ich möchte mit einem Mitarbeiter sprechen")
    assert offer.find("Dial") is None
    assert "Sollen wir Sie unter der Nummer zurückrufen" in spoken(offer), c.transcript()
    done = await c.press("1")
    assert "ruft Sie zu den nächsten Öffnungszeiten zurück" in spoken(done)
    async with c.h.ctx.db() as session:
        [request] = list(await session.scalars(select(VideoRequest)))
    assert request.kind == "callback" and request.callback_number == MOBILE
    assert any(MOBILE in text for _, _, text in c.h.channel.notices)


async def test_star_repeats_and_unknown_keys_are_explained(line: Caller) -> None:
    c = line
    greeting = await c.call()
    repeat = await c.press("*")
    assert "Für einen neuen Termin drücken Sie die 1." in spoken(repeat)
    assert spoken(repeat) in spoken(greeting) or "Guten Tag" in spoken(repeat)
    unknown = await c.press("7")
    assert spoken(unknown).startswith("Diese Taste ist hier nicht belegt.")
    booking = await c.press("1")
    assert "Wofür brauchen Sie den Termin?" in spoken(booking), c.transcript()


async def test_a_redelivered_webhook_is_answered_once(line: Caller) -> None:
    c = line
    await c.call()
    path = c.next
    first = await c.say("Ich brauche einen neuen Personalausweis in Meißen")
    c.next = path
    again = await c.say("Ich brauche einen neuen Personalausweis in Meißen")
    assert spoken(first) == spoken(again)
    assert first.find("Gather").get("action") == again.find("Gather").get("action")


async def test_unsigned_requests_are_refused(line: Caller) -> None:
    c = line
    form = {"CallSid": c.sid, "From": MOBILE, "To": FROM_NUMBER, "AccountSid": ACCOUNT_SID}
    assert (await c.client.post(PATH, data=form)).status == 403
    assert (await post_signed(c.client, PATH, form, token="wrong"))[0] == 403
    status, _ = await post_signed(c.client, PATH + "?t=1", form, signed_url=PUBLIC_URL + PATH)
    assert status == 403  # the query string is signed too
    assert (await post_signed(c.client, PATH, {"From": MOBILE}))[0] == 400


async def test_booked_appointment_reminder_goes_to_the_mobile_caller_by_sms(
        line: Caller) -> None:
    c = line
    await book_by_phone(c)
    [a] = await appointments(c.h)
    await c.h.run_outbox_now()
    c.h.clock.now = a.start - timedelta(hours=23)
    await c.h.run_outbox_now()
    bodies = c.api.bodies(MOBILE)
    assert len(bodies) == 2 and bodies[1].startswith("Erinnerung: Personalausweis")


async def test_cancel_by_phone_spelling_the_reference(line: Caller) -> None:
    c = line
    await book_by_phone(c)
    [a] = await appointments(c.h)
    c.sid, c.next, c.first = "CA" + secrets.token_hex(16), PATH, None  # a second call
    await c.call()
    ask = await c.say("Ich möchte meinen Termin absagen")
    assert "Wie lautet Ihre Vorgangsnummer?" in spoken(ask), c.transcript()
    spelled = spell(a.reference, "de").replace(" – ", ", ").replace(",", "")
    # Caller ID is no proof of identity (it can be spoofed): the last name is asked.
    proof = await c.say(spelled)
    assert "Nachname" in spoken(proof), c.transcript()
    confirm = await c.say("Schmidt")
    text = spoken(confirm)
    assert "Ich habe Ihren Termin gefunden: Personalausweis" in text, c.transcript()
    assert "wirklich absagen" in text and "Für Ja drücken Sie die 1." in text
    done = await c.press("1")
    assert "Ihr Termin ist abgesagt" in spoken(done), c.transcript()
    [cancelled] = await appointments(c.h)
    assert cancelled.status == "cancelled"


async def test_the_call_state_is_forgotten_when_the_call_ends(line: Caller) -> None:
    c = line
    await c.call()
    await c.say("Ich brauche einen neuen Personalausweis in Meißen")
    assert await c.h.ctx.get_state("voice", c.sid)
    form = {"CallSid": c.sid, "CallStatus": "completed", "AccountSid": ACCOUNT_SID,
            "From": MOBILE, "To": FROM_NUMBER, "CallDuration": "42"}
    assert (await c.client.post(PATH + "/status", data=form)).status == 403
    status, _ = await post_signed(c.client, PATH + "/status", form)
    assert status == 204
    assert await c.h.ctx.get_state("voice", c.sid) == {}
