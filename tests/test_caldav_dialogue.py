"""A citizen books, reschedules and cancels by chat (real Rasa); staff see it in Radicale."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from assistant.booking import references
from assistant.storage.models import Appointment
from assistant.testing import Harness, buttons, texts
from assistant.testing.peers.radicale import Radicale, add_event, caldav_options, events_with_uid
from tests.conftest import BERLIN, NOW
from tests.support.calendars import office_calendar

pytestmark = [pytest.mark.rasa, pytest.mark.usefixtures("caldav_credentials")]


async def test_chat_booking_appears_moves_and_disappears_in_the_office_calendar(
    rasa_url: str, radicale: Radicale
) -> None:
    cal = radicale.new_calendar("Bürgerbüro Riesa")
    # Staff blocked Tuesday morning until 10:00 by hand in their groupware.
    add_event(cal, "meeting@groupware", datetime(2026, 11, 24, 8, 0, tzinfo=BERLIN),
              datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN), "Dienstberatung")
    config = office_calendar("caldav", caldav_options(radicale, cal), office="riesa")
    async with Harness(config, nlu_url=rasa_url, now=NOW) as h:
        r = await h.say("Guten Tag, ich brauche einen neuen Personalausweis in Riesa", "anna")
        r = await h.say("morgen vormittag", "anna")
        assert "Diese Termine sind im Bürgerbüro Riesa frei" in texts(r)
        offered = [b.title for b in buttons(r) if b.title.startswith("Di. 24.11.")]
        assert offered and all(t.split()[-1] >= "10:00" for t in offered), offered
        r = await h.say("1", "anna")
        r = await h.say("Anna Schmidt", "anna")
        r = await h.say("anna.schmidt@example.org", "anna")
        r = await h.say("ja, bitte buchen", "anna")
        assert "Ihr Termin ist gebucht" in texts(r)
        code = references.find(texts(r))
        assert code
        ref = references.display(code)
        await h.run_outbox_now()
        [event] = events_with_uid(cal, f"{code}@amtsbote")
        assert str(event.icalendar_component["summary"]) == f"Termin {ref} – Personalausweis"

        r = await h.say(f"Ich muss meinen Termin {ref} verschieben", "anna")
        r = await h.say("Schmidt", "anna")
        r = await h.say("am Donnerstag nachmittag", "anna")
        r = await h.say("1", "anna")
        r = await h.say("ja", "anna")
        assert "ist verschoben auf Donnerstag, 26. November" in texts(r)
        await h.run_outbox_now()
        async with h.ctx.db() as session:
            a = await session.scalar(select(Appointment))
        [event] = events_with_uid(cal, f"{code}@amtsbote")
        assert event.icalendar_component.decoded("dtstart") == a.start.astimezone(BERLIN)
        assert a.start.astimezone(BERLIN).day == 26

        r = await h.say(f"Bitte sagen Sie meinen Termin {ref} ab", "anna")
        r = await h.say("Anna Schmidt", "anna")
        r = await h.say("ja", "anna")
        assert "ist abgesagt" in texts(r)
        await h.run_outbox_now()
        assert events_with_uid(cal, f"{code}@amtsbote") == []
