"""The SMS channel end to end: signed Twilio webhooks in, TwiML out, reminders through the
Messages API (local fake), against the real Rasa NLU."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from assistant import metrics
from assistant.storage.models import Appointment, Conversation
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
from assistant.text_channels import is_gsm7, segments
from tests.conftest import NOW

pytestmark = pytest.mark.rasa

CONFIG = Path(__file__).parent / "configs" / "twilio.yml"
ANNA = "+4917612345678"
PATH = "/webhooks/twilio/sms"
CODE = re.compile(r"\b([A-Z2-9]{3}-[A-Z2-9]{3})\b")


@dataclass
class Phone:
    """A citizen's phone texting the office's Twilio number."""

    h: Harness
    client: TestClient
    api: FakeTwilio
    log: list[str] = field(default_factory=list)

    def params(self, body: str, sender: str = ANNA, sid: str | None = None,
               **extra: str) -> dict[str, str]:
        return {"MessageSid": sid or "SM" + secrets.token_hex(16), "SmsSid": sid or "",
                "AccountSid": ACCOUNT_SID, "From": sender, "To": FROM_NUMBER, "Body": body,
                "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01",
                "FromCountry": "DE", **extra}

    async def raw(self, params: dict[str, str], **kw: str) -> tuple[int, str]:
        return await post_signed(self.client, PATH, params, **kw)

    async def text(self, body: str, sender: str = ANNA, sid: str | None = None,
                   **extra: str) -> list[str]:
        """Send one SMS; the reply messages (each checked to be at most 3 GSM-7 segments)."""
        status, xml = await self.raw(self.params(body, sender, sid, **extra))
        assert status == 200, xml
        messages = [m.text or "" for m in twiml(xml).findall("Message")]
        self.log.append(f"> {body}\n" + "\n".join(f"< {m}" for m in messages))
        for m in messages:
            assert segments(m) <= 3, f"reply longer than 3 SMS: {m!r}"
        return messages

    def transcript(self) -> str:
        return "\n".join(self.log)


@pytest.fixture
async def phone(rasa_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Phone]:
    async with running(monkeypatch) as api, Harness(config=CONFIG, nlu_url=rasa_url,
                                                    now=NOW) as h:
        yield Phone(h, await h.http(), api)


async def appointments(h: Harness) -> list[Appointment]:
    async with h.ctx.db() as session:
        return list(await session.scalars(select(Appointment).order_by(Appointment.id)))


async def book_by_sms(p: Phone, sender: str = ANNA) -> str:
    """Book a Personalausweis in Meißen next week by SMS; the reference code."""
    first = "\n".join(await p.text("Ich brauche einen Termin für einen Personalausweis in Meißen",
                                   sender))
    assert "Wann passt es Ihnen?" in first, p.transcript()
    assert "3: Nächste Woche" in first and "Antworten Sie mit 1, 2 oder 3." in first
    offer = "\n".join(await p.text("3", sender))
    assert "Freie Termine im Bürgerbüro Meißen" in offer, p.transcript()
    assert "1: " in offer and "Antworten Sie mit" in offer
    assert "Namen" in "\n".join(await p.text("1", sender)), p.transcript()
    summary = "\n".join(await p.text("Anna Schmidt", sender))
    # The number is known: no question for a contact, it goes straight to the summary.
    assert "Bitte prüfen" in summary and "Anna Schmidt" in summary, p.transcript()
    assert "1: Ja" in summary and "2: Nein" in summary
    done = "\n".join(await p.text("1", sender))
    assert "Gebucht: Personalausweis" in done, p.transcript()
    m = CODE.search(done)
    assert m, p.transcript()
    return m.group(1)


async def test_book_reschedule_and_cancel_by_sms(phone: Phone) -> None:
    p = phone
    reference = await book_by_sms(p)
    [booked] = await appointments(p.h)
    assert booked.channel == "sms" and booked.sender == ANNA
    assert booked.phone == ANNA  # the sender's number is the appointment's contact
    assert booked.status == "booked"

    # Reschedule in the same conversation: the name given at booking is remembered, so the
    # reference code is enough (another number is asked for the name, see below).
    moved = "\n".join(await p.text(f"Ich möchte meinen Termin {reference} verschieben"))
    assert "Nachname" not in moved, p.transcript()
    assert "1: " in moved, p.transcript()
    offer = "\n".join(await p.text("3"))
    assert "Freie Termine" in offer, p.transcript()
    confirm = "\n".join(await p.text("2"))
    assert "verschieben" in confirm and "1: Ja" in confirm, p.transcript()
    done = "\n".join(await p.text("ja"))
    assert f"Verschoben: Ihr Termin {reference}" in done, p.transcript()
    [moved_appointment] = await appointments(p.h)
    assert moved_appointment.start != booked.start

    # Cancel with the code alone, from the booking number.
    ask = "\n".join(await p.text(f"absagen {reference}"))
    assert "wirklich absagen" in ask and "1: Ja" in ask, p.transcript()
    done = "\n".join(await p.text("1"))
    assert f"Ihr Termin {reference} ist abgesagt" in done, p.transcript()
    [cancelled] = await appointments(p.h)
    assert cancelled.status == "cancelled"


async def test_reminder_goes_out_by_sms_until_the_citizen_sends_stop(phone: Phone) -> None:
    p = phone
    reference = await book_by_sms(p)
    [a] = await appointments(p.h)
    await p.h.run_outbox_now()
    assert p.api.messages == []  # the booking itself was confirmed in the TwiML reply
    p.h.clock.now = a.start - timedelta(hours=23)
    await p.h.run_outbox_now()
    [reminder] = p.api.messages
    assert reminder["to"] == ANNA and reminder["from"] == FROM_NUMBER
    assert reminder["body"].startswith("Erinnerung: Personalausweis am ")
    assert reference in reminder["body"] and is_gsm7(reminder["body"])


async def test_a_reminder_is_retried_when_twilio_is_down(phone: Phone) -> None:
    p = phone
    await book_by_sms(p)
    [a] = await appointments(p.h)
    await p.h.run_outbox_now()
    p.api.fail_next = 1
    p.h.clock.now = a.start - timedelta(hours=23)
    await p.h.run_outbox_now()
    assert p.api.messages == [] and p.api.requests == 1
    p.h.clock.advance(minutes=30)
    await p.h.run_outbox_now()
    [reminder] = p.api.messages
    assert reminder["body"].startswith("Erinnerung:")


async def test_stop_start_and_help_keywords(phone: Phone) -> None:
    p = phone
    [help_text] = await p.text("HILFE")
    assert "+49 3521 725-0" in help_text and "STOP" in help_text
    reference = await book_by_sms(p)
    [stop] = await p.text("STOPP")
    assert "keine SMS mehr" in stop and "START" in stop
    assert await p.text("Wann ist mein Termin?") == []  # silence after STOP
    assert "Telefon: +49 3521 725-0" in (await p.text("Hilfe"))[0]  # HELP always answers
    assert await p.text("stop") != []  # repeating STOP confirms again, nothing else
    [a] = await appointments(p.h)
    p.h.clock.now = a.start - timedelta(hours=23)
    await p.h.run_outbox_now()
    assert p.api.messages == [], "no reminder after STOP"
    [start] = await p.text("START")
    assert "wieder SMS" in start
    ask = "\n".join(await p.text(f"Wann ist mein Termin {reference}?"))
    assert "Nachname" in ask, p.transcript()  # the sender's number is no proof by default
    check = "\n".join(await p.text("Schmidt"))
    assert reference in check, p.transcript()
    [english] = await p.text("HELP")
    assert "Phone: +49 3521 725-0" in english


async def test_english_booking_by_sms(phone: Phone) -> None:
    p = phone
    first = "\n".join(await p.text("Hello, I need an appointment for a new passport in Riesa"))
    assert "When would suit you?" in first and "Reply with 1, 2 or 3." in first, p.transcript()
    offer = "\n".join(await p.text("3"))
    assert "Free times at" in offer, p.transcript()
    await p.text("2")
    summary = "\n".join(await p.text("John Smith"))
    assert "Please check" in summary and "1: Yes" in summary, p.transcript()
    done = "\n".join(await p.text("yes"))
    assert "Booked: Passport" in done and CODE.search(done), p.transcript()


async def test_twilio_retrying_a_webhook_books_once_and_gets_the_same_answer(
        phone: Phone) -> None:
    p = phone
    await p.text("Ich brauche einen Termin für einen Reisepass in Riesa")
    await p.text("3")
    await p.text("1")
    await p.text("Anna Schmidt")
    params = p.params("1", sid="SM" + "7" * 32)
    before = metrics.MESSAGES.labels("sms")._value.get()
    first = await p.raw(params)
    again = await p.raw(params)
    assert first[0] == again[0] == 200
    assert first[1] == again[1] and "Gebucht" in first[1]
    assert metrics.MESSAGES.labels("sms")._value.get() - before == 1
    assert len(await appointments(p.h)) == 1


async def test_unsigned_or_wrongly_signed_requests_are_refused(phone: Phone) -> None:
    p = phone
    params = p.params("Ich brauche einen Personalausweis")
    response = await p.client.post(PATH, data=params)
    assert response.status == 403
    assert (await p.raw(params, token="not-the-auth-token"))[0] == 403
    # Signed for the internal address instead of the public URL Twilio was given.
    internal = str(p.client.make_url(PATH))
    assert (await p.raw(params, signed_url=internal))[0] == 403
    # A signature over other parameters (a tampered body).
    from assistant.testing.peers.twilio_api import sign
    signature = sign(PUBLIC_URL + PATH, {**params, "Body": "harmlos"})
    response = await p.client.post(PATH, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status == 403
    async with p.h.ctx.db() as session:
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 0


async def test_bad_input_gets_a_clear_answer_and_loses_nothing(phone: Phone) -> None:
    p = phone
    [empty] = await p.text("")
    assert "leer" in empty
    [media] = await p.text("", NumMedia="1", MediaContentType0="image/jpeg",
                           MediaUrl0="https://api.twilio.com/media/ME1")
    assert "nur Text" in media
    too_long = "\n".join(await p.text("Termin " * 400))
    assert "zu lang" in too_long
    binary = "\n".join(await p.text("\x00\x01\x02\x03 abc"))
    assert "nur Text" in binary
    # A sender that is no phone number (alphanumeric or withheld) gets no answer.
    assert await p.text("Hallo", sender="VODAFONE") == []
    assert await p.text("Hallo", sender="anonymous") == []
    status, _ = await p.raw({k: v for k, v in p.params("Hallo").items()
                             if k not in {"MessageSid", "SmsSid"}})
    assert status == 400
    # The conversation is still there after all that: a booking works as usual.
    await book_by_sms(p)


async def test_another_number_cannot_see_or_cancel_an_appointment(phone: Phone) -> None:
    p = phone
    reference = await book_by_sms(p)
    stranger = "+4915112345678"
    ask = "\n".join(await p.text(f"absagen {reference}", sender=stranger))
    assert "Nachname" in ask and "Anna" not in ask, p.transcript()
    wrong = "\n".join(await p.text("Müller", sender=stranger))
    assert "keinen gebuchten Termin" in wrong and "Personalausweis" not in wrong
    [a] = await appointments(p.h)
    assert a.status == "booked"


async def test_send_sms_uses_the_messages_api_and_raises_when_twilio_is_down(
        phone: Phone) -> None:
    p = phone
    sid = await p.h.ctx.call_first("send_sms", ctx=p.h.ctx, to=ANNA, body="Test äöü €")
    assert sid.startswith("SM") and p.api.messages[-1]["body"] == "Test äöü €"
    p.api.fail_next = 1
    with pytest.raises(Exception, match="Service unavailable"):
        await p.h.ctx.call_first("send_sms", ctx=p.h.ctx, to=ANNA, body="Noch ein Test")
    assert len(p.api.messages) == 1


async def test_a_number_answers_the_last_question_only_while_the_conversation_lasts(
        phone: Phone) -> None:
    p = phone
    menu = "\n".join(await p.text("Hallo"))
    assert "3: Termin absagen" in menu, p.transcript()
    ask = "\n".join(await p.text("3"))
    assert "Vorgangsnummer" in ask, p.transcript()
    await p.text("abbrechen")
    await p.text("Hallo")
    p.h.clock.advance(hours=30)  # days later "3" no longer means "Termin absagen"
    later = "\n".join(await p.text("3"))
    assert "Vorgangsnummer" not in later, p.transcript()
