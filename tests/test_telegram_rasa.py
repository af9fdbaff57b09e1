"""Free-text conversations through Telegram with the real trained Rasa server: a citizen books,
reschedules and cancels by typing, mixing in taps on the inline buttons."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from assistant.booking import references
from assistant.storage.models import Appointment
from assistant.testing import Harness
from assistant.testing.peers.telegram_api import FakeTelegram
from tests.conftest import BERLIN
from tests.support.telegram import RIESA_CHAT, STAFF_CHAT, running, say, text_of

pytestmark = pytest.mark.rasa
ANNA, BEN, SAM = 6661001, 6661002, 6661003


@pytest.fixture
async def api() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        fake.group(STAFF_CHAT)
        fake.group(RIESA_CHAT)
        yield fake


async def _appointments(h: Harness) -> list[Appointment]:
    async with h.ctx.db() as session:
        return list(await session.scalars(select(Appointment).order_by(Appointment.id)))


async def test_book_reschedule_and_cancel_by_free_text(
        api: FakeTelegram, monkeypatch: pytest.MonkeyPatch, rasa_url: str) -> None:
    async with running(api, monkeypatch, nlu_url=rasa_url) as h:
        r = await say(api, ANNA, api.message(ANNA, "Guten Tag, ich brauche einen neuen "
                                                   "Personalausweis in Riesa"))
        assert "Wann passt es Ihnen" in text_of(r), text_of(r)
        r = await say(api, ANNA, api.message(ANNA, "morgen vormittag"))
        assert "Diese Termine sind im Bürgerbüro Riesa frei" in text_of(r)
        r = await say(api, ANNA, api.click(ANNA, "Di. 24.11."))  # tap a time ...
        assert "Namen" in text_of(r)
        r = await say(api, ANNA, api.message(ANNA, "Anna Schmidt"))  # ... type the rest
        r = await say(api, ANNA, api.message(ANNA, "0151 23456789"))
        assert "Bitte prüfen Sie" in text_of(r) and "+4915123456789" in text_of(r)
        r = await say(api, ANNA, api.message(ANNA, "ja, bitte buchen"))
        assert "Ihr Termin ist gebucht" in text_of(r)
        code = references.find(text_of(r))
        assert code
        ref = references.display(code)
        [a] = await _appointments(h)
        assert (a.channel, a.sender, a.office_id) == ("telegram", str(ANNA), "riesa")
        assert a.start.astimezone(BERLIN).day == 24 and a.start.astimezone(BERLIN).hour < 12

        # Another chat (a relative's phone) moves it: reference plus the name are needed.
        r = await say(api, BEN, api.message(BEN, "Ich muss meinen Termin verschieben"))
        assert "Vorgangsnummer" in text_of(r)
        r = await say(api, BEN, api.message(BEN, ref.replace("-", "").lower()))
        assert "Nachname" in text_of(r)
        r = await say(api, BEN, api.message(BEN, "Schmidt"))
        assert "Wann würde es Ihnen stattdessen passen" in text_of(r)
        r = await say(api, BEN, api.message(BEN, "am Donnerstag nachmittag"))
        r = await say(api, BEN, api.click(BEN, "Do. 26.11."))
        assert "verschieben" in text_of(r)
        r = await say(api, BEN, api.message(BEN, "ja"))
        assert "ist verschoben auf Donnerstag, 26. November" in text_of(r)
        [a] = await _appointments(h)
        assert a.start.astimezone(BERLIN).day == 26 and a.start.astimezone(BERLIN).hour >= 12

        r = await say(api, ANNA, api.message(ANNA, f"Bitte sagen Sie meinen Termin {ref} ab"))
        r = await say(api, ANNA, api.message(ANNA, "Anna Schmidt"))
        assert "wirklich absagen" in text_of(r)
        r = await say(api, ANNA, api.click(ANNA, "Ja"))
        assert "ist abgesagt" in text_of(r)
        [a] = await _appointments(h)
        assert a.status == "cancelled"


async def test_english_telegram_user_is_answered_in_english(
        api: FakeTelegram, monkeypatch: pytest.MonkeyPatch, rasa_url: str) -> None:
    async with running(api, monkeypatch, nlu_url=rasa_url) as h:
        r = await say(api, SAM, api.message(SAM, "I need a passport appointment in Meißen",
                                            language_code="en-US"))
        assert "When would suit you" in text_of(r), text_of(r)
        r = await say(api, SAM, api.click(SAM, "Next week", language_code="en-US"))
        assert "These times are free" in text_of(r)
        r = await say(api, SAM, api.message(SAM, "1", language_code="en-US"))
        r = await say(api, SAM, api.message(SAM, "Sam Okafor", language_code="en-US"))
        r = await say(api, SAM, api.click(SAM, "Skip", language_code="en-US"))
        assert "Shall I book" in text_of(r)
        r = await say(api, SAM, api.message(SAM, "yes", language_code="en-US"))
        assert "Your appointment is booked" in text_of(r)
        [a] = await _appointments(h)
        assert (a.language, a.service_id, a.office_id) == ("en", "reisepass", "meissen")
