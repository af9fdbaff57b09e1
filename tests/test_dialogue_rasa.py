"""Whole conversations in German and English against the real trained Rasa server."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from assistant.booking import references
from assistant.storage.models import Appointment, Event
from assistant.testing import Harness, button, buttons, texts
from tests.conftest import BERLIN

pytestmark = pytest.mark.rasa


async def _appointments(h: Harness) -> list[Appointment]:
    async with h.ctx.db() as session:
        return list(await session.scalars(select(Appointment).order_by(Appointment.id)))


def _reference(replies) -> str:  # type: ignore[no-untyped-def]
    code = references.find(texts(replies))
    assert code, texts(replies)
    return references.display(code)


async def book_by_text_de(h: Harness, sender: str = "anna") -> str:
    r = await h.say("Guten Tag, ich brauche bitte einen neuen Personalausweis", sender)
    assert "Bürgerbüro" in texts(r)
    assert "Bürgerbüro Riesa" in [b.title for b in buttons(r)]
    r = await h.say("in Riesa", sender)
    assert "Wann passt es Ihnen" in texts(r)
    r = await h.say("morgen vormittag", sender)
    assert "Diese Termine sind im Bürgerbüro Riesa frei" in texts(r)
    offered = [b.title for b in buttons(r)]
    assert any(t.startswith("Di. 24.11.") for t in offered), offered
    r = await h.say("2", sender)
    assert "Namen" in texts(r)
    r = await h.say("Anna Schmidt", sender)
    assert "E-Mail" in texts(r)
    r = await h.say("anna.schmidt@example.org", sender)
    assert "Bitte prüfen Sie" in texts(r) and "Anna Schmidt" in texts(r)
    r = await h.say("ja, bitte buchen", sender)
    assert "Ihr Termin ist gebucht" in texts(r)
    assert "Personalausweis oder Reisepass" in texts(r) or "Passfoto" in texts(r)
    return _reference(r)


async def test_book_by_free_text_in_german(harness: Harness) -> None:
    ref = await book_by_text_de(harness)
    [a] = await _appointments(harness)
    assert references.display(a.reference) == ref
    assert (a.service_id, a.office_id, a.status, a.channel) == (
        "personalausweis", "riesa", "booked", "test")
    start = a.start.astimezone(BERLIN)
    assert start.date().isoformat() == "2026-11-24" and 8 <= start.hour < 12
    assert a.email == "anna.schmidt@example.org"
    async with harness.ctx.db() as session:
        event = await session.scalar(select(Event).where(Event.kind == "booked"))
    assert event is not None and event.turns and event.turns >= 6 and event.language == "de"


async def test_one_message_fills_service_office_and_time(harness: Harness) -> None:
    r = await harness.say("perso riesa morgen vormittag")
    assert "Diese Termine sind im Bürgerbüro Riesa frei" in texts(r)
    assert all(b.title.startswith("Di. 24.11.") for b in buttons(r)[:-1])


async def test_book_in_simple_english_with_buttons(harness: Harness) -> None:
    r = await harness.say("Hello, I want make appointment for passport", "sam")
    assert "office" in texts(r)
    r = await harness.click(button(r, "Meißen"), "sam")
    assert "When would suit you" in texts(r)
    r = await harness.click(button(r, "Next week"), "sam")
    assert "These times are free" in texts(r)
    r = await harness.click(buttons(r)[0], "sam")
    r = await harness.say("Sam Okafor", "sam")
    r = await harness.click(button(r, "Skip"), "sam")
    assert "Shall I book" in texts(r)
    r = await harness.say("yes", "sam")
    assert "Your appointment is booked" in texts(r)
    [a] = await _appointments(harness)
    assert (a.service_id, a.office_id, a.language) == ("reisepass", "meissen", "en")
    assert a.start.astimezone(BERLIN).date() >= datetime(2026, 11, 30).date()


async def test_reschedule_then_check_then_cancel_by_free_text(harness: Harness) -> None:
    ref = await book_by_text_de(harness)
    code_typed = ref.replace("-", "").lower()
    r = await harness.say("Ich kann leider nicht, ich muss meinen Termin verschieben", "anna2")
    assert "Vorgangsnummer" in texts(r)
    r = await harness.say(code_typed, "anna2")
    assert "Nachname" in texts(r)
    r = await harness.say("Schmidt", "anna2")
    assert "Ihr Termin" in texts(r) and "Wann würde es Ihnen stattdessen passen" in texts(r)
    r = await harness.say("am Donnerstag nachmittag", "anna2")
    assert "Do. 26.11." in " ".join(b.title for b in buttons(r))
    r = await harness.say("1", "anna2")
    assert "verschieben" in texts(r)
    r = await harness.say("ja", "anna2")
    assert "ist verschoben auf Donnerstag, 26. November" in texts(r)
    [a] = await _appointments(harness)
    assert a.start.astimezone(BERLIN).hour >= 12 and a.start.astimezone(BERLIN).day == 26

    r = await harness.say(f"When is my appointment {ref}?", "anna3")
    assert "last name" in texts(r)
    r = await harness.say("schmidt", "anna3")
    assert "Thursday 26 November" in texts(r)

    r = await harness.say(f"Bitte sagen Sie meinen Termin {ref} ab", "anna4")
    r = await harness.say("Anna Schmidt", "anna4")
    assert "wirklich absagen" in texts(r)
    r = await harness.say("ja", "anna4")
    assert "ist abgesagt" in texts(r)
    [a] = await _appointments(harness)
    assert a.status == "cancelled"


async def test_cancel_in_english(harness: Harness) -> None:
    ref = await book_by_text_de(harness)
    r = await harness.say("I need to cancel my appointment please", "en1")
    assert "reference" in texts(r)
    r = await harness.say(ref, "en1")
    r = await harness.say("anna.schmidt@example.org", "en1")
    assert "really want to cancel" in texts(r)
    r = await harness.say("yes", "en1")
    assert "is cancelled" in texts(r)


async def test_reference_alone_reveals_nothing_and_guessing_is_throttled(harness: Harness) -> None:
    ref = await book_by_text_de(harness)
    r = await harness.say(f"Termin {ref} absagen", "mallory")
    r = await harness.say("Müller", "mallory")
    wrong_name = texts(r)
    assert "Anna" not in wrong_name and "24.11" not in wrong_name and "Riesa" not in wrong_name
    r = await harness.say("Termin ZZZ-Z9Z absagen", "mallory2")
    r = await harness.say("Müller", "mallory2")
    assert texts(r) == wrong_name  # unknown reference and wrong name look the same
    for _ in range(5):
        r = await harness.say(ref, "mallory")
        if "Nachname" in texts(r):
            r = await harness.say("Meier", "mallory")
    # Locked: a neutral answer with the offices' phone numbers (issue 14).
    assert "keine Auskunft" in texts(r) and "+49 3525 700-0" in texts(r)
    r = await harness.say(ref, "mallory")
    if "Nachname" in texts(r):
        r = await harness.say("Schmidt", "mallory")  # even the right name is refused now
    assert "Anna" not in texts(r) and "abgesagt" not in texts(r)
    [a] = await _appointments(harness)
    assert a.status == "booked"


async def test_corrections_switches_back_and_abort(harness: Harness) -> None:
    r = await harness.say("Ich möchte einen Termin für die Kfz-Zulassung in Großenhain")
    assert "Wann passt es Ihnen" in texts(r)
    r = await harness.say("Dienstag")
    assert "Di. 24.11." in " ".join(b.title for b in buttons(r))
    r = await harness.say("nein, lieber Donnerstag")
    assert "Do. 26.11." in " ".join(b.title for b in buttons(r))
    r = await harness.say("zurück")
    assert "Wann passt es Ihnen" in texts(r) or "Di. 24.11." in " ".join(
        b.title for b in buttons(r))
    r = await harness.say("Was muss ich dafür mitbringen?")
    assert "Zulassungsbescheinigung" in texts(r)
    r = await harness.say("abbrechen")
    assert "abgebrochen" in texts(r)
    r = await harness.say("neu starten")
    assert "von vorn" in texts(r)


async def test_no_free_time_offers_nearest_and_other_offices(harness: Harness) -> None:
    # Meißen is closed on Wednesdays: the bot says so, and offers the nearest times around it
    # and other offices.
    r = await harness.say("Reisepass in Meißen am Mittwoch um 10 Uhr")
    text = texts(r)
    assert "Bürgerbüro Meißen ist am Mittwoch, 25. November 2026 geschlossen" in text
    titles = [b.title for b in buttons(r)]
    assert any(t.startswith(("Di. 24.11.", "Do. 26.11.")) for t in titles), titles
    assert any("Riesa" in t or "Großenhain" in t or "Radebeul" in t for t in titles), titles


async def test_service_info_and_opening_hours(harness: Harness) -> None:
    r = await harness.say("Was muss ich für einen Reisepass mitbringen und was kostet das?")
    assert "biometrisches Passfoto" in texts(r) and "70,00 €" in texts(r)
    r = await harness.say("Wann hat das Bürgerbüro Coswig geöffnet?")
    assert "Dienstag: 08:30–12:00, 13:00–18:00" in texts(r)
    r = await harness.say("what are the opening hours in Riesa")
    assert "Saturday: 09:00–12:00" in texts(r)


async def test_video_call_now_is_visible_to_staff(harness: Harness) -> None:
    r = await harness.say("Ich möchte lieber per Video mit jemandem sprechen")
    r = await harness.click(button(r, "Jetzt sprechen"))
    assert "https://meet.jit.si/amtsbote-" in texts(r)
    client = await harness.http()
    import os

    os.environ["AMTSBOTE_API_TOKEN"] = "staff-secret"
    resp = await client.get("/api/v1/video-requests",
                            headers={"Authorization": "Bearer staff-secret"})
    [req] = await resp.json()
    assert req["status"] == "waiting" and req["staff_url"].startswith("https://meet.jit.si/")
    assert harness.channel.notices, "staff were told"


async def test_video_appointment_carries_the_link(harness: Harness) -> None:
    r = await harness.say("Ich möchte eine Videoberatung zum Wohngeld")
    r = await harness.click(button(r, "Videotermin"))
    if "Bürgerbüro" in texts(r) and "Riesa" in " ".join(b.title for b in buttons(r)):
        r = await harness.click(button(r, "Riesa"))
    r = await harness.click(button(r, "Nächste Woche"))
    r = await harness.click(buttons(r)[0])
    r = await harness.say("Erika Mustermann")
    r = await harness.click(button(r, "Überspringen"))
    assert "per Video" in texts(r)
    r = await harness.say("ja")
    assert "meet.jit.si" in texts(r)
    [a] = await _appointments(harness)
    assert a.mode == "video" and a.video_url and a.service_id == "wohngeld"
