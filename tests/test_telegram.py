"""The Telegram channel against the local Bot API fake
(assistant/testing/peers/telegram_api.py).

Webhook updates are posted to the running web app the way Telegram posts them; polling runs
against the fake's getUpdates. Rasa is unreachable here on purpose: buttons and the
name/contact steps need no NLU (free-text flows with the real Rasa: test_telegram_rasa.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from assistant.booking import references
from assistant.config import ConfigError
from assistant.i18n import t
from assistant.messages import Reply
from assistant.storage.models import Appointment
from assistant.testing import Harness, free_port
from assistant.testing.peers.telegram_api import FakeTelegram
from tests.conftest import BERLIN, NOW
from tests.support.telegram import RIESA_CHAT, SECRET, STAFF_CHAT, running, say, text_of

ANNA, SAM = 5551001, 5551002


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as api:
        api.group(STAFF_CHAT, "Bürgerbüros Team")
        api.group(RIESA_CHAT, "Bürgerbüro Riesa Team")
        yield api


def callback_datas(messages: list[dict[str, Any]]) -> list[str]:
    return [b["callback_data"] for m in messages
            for row in m.get("reply_markup", {}).get("inline_keyboard", []) for b in row
            if "callback_data" in b]


async def appointments(h: Harness) -> list[Appointment]:
    async with h.ctx.db() as session:
        return list(await session.scalars(select(Appointment).order_by(Appointment.id)))


async def book_with_buttons(tg: FakeTelegram, chat: int, when: str = "Nächste Woche") -> str:
    """A whole booking by tapping buttons, typing only name and e-mail; the reference."""
    r = await say(tg, chat, tg.message(chat, "/start"))
    assert "Guten Tag! Ich bin Amtsbote" in text_of(r)
    r = await say(tg, chat, tg.click(chat, "Termin buchen"))
    assert "Personalausweis" in tg.buttons(chat)
    r = await say(tg, chat, tg.click(chat, "Personalausweis"))
    r = await say(tg, chat, tg.click(chat, "Riesa"))
    assert "Wann passt es Ihnen" in text_of(r)
    datas = callback_datas(r)
    assert all(len(d.encode()) <= 64 for d in datas)
    assert any(d.startswith("k:") for d in datas), datas  # time ranges are longer than 64 bytes
    r = await say(tg, chat, tg.click(chat, when))
    assert "Diese Termine sind im Bürgerbüro Riesa frei" in text_of(r)
    slot_titles = [b["text"] for row in r[-1]["reply_markup"]["inline_keyboard"] for b in row]
    r = await say(tg, chat, tg.click(chat, slot_titles[0]))
    assert "Auf welchen Namen" in text_of(r)
    r = await say(tg, chat, tg.message(chat, "Anna Schmidt"))
    assert "E-Mail" in text_of(r)
    r = await say(tg, chat, tg.message(chat, "anna.schmidt@example.org"))
    assert "Anna Schmidt" in text_of(r)
    r = await say(tg, chat, tg.click(chat, "Ja"))
    assert "Ihr Termin ist gebucht" in text_of(r), text_of(r)
    code = references.find(text_of(r))
    assert code
    return references.display(code)


# -- set-up -------------------------------------------------------------------------------------


async def test_startup_sets_webhook_with_secret_and_commands_in_both_languages(
        tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        port_url = f"{tg.webhook['url']}" if tg.webhook else ""
        assert port_url.endswith("/webhooks/telegram")
        assert tg.webhook is not None and tg.webhook["secret_token"] == SECRET
        assert tg.webhook["allowed_updates"] == ["message", "callback_query"]
        de = tg.commands[("default", "de")]
        en = tg.commands[("default", "")]
        assert [c["command"] for c in de] == ["start", "help", "abbrechen"]
        assert [c["command"] for c in en] == ["start", "help", "abbrechen"]
        assert de[2]["description"] == t("telegram.command.abbrechen", "de")
        assert en[2]["description"] == t("telegram.command.abbrechen", "en")
        assert de[2]["description"] != en[2]["description"]


async def test_settings_errors_name_the_key(tg: FakeTelegram,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="webhook_secret"):
        async with running(tg, monkeypatch, TELEGRAM_WEBHOOK_SECRET=""):
            pass
    with pytest.raises(ConfigError, match="token"):
        async with running(tg, monkeypatch, TELEGRAM_TOKEN="not-a-token"):
            pass
    with pytest.raises(ConfigError, match="webhook_secret"):
        async with running(tg, monkeypatch, TELEGRAM_WEBHOOK_SECRET="has spaces and ümlauts"):
            pass


# -- conversations by buttons -------------------------------------------------------------------


async def test_book_by_buttons_then_reminder_arrives_in_the_chat(
        tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch) as h:
        ref = await book_with_buttons(tg, ANNA)
        [a] = await appointments(h)
        assert (a.channel, a.sender, a.office_id, a.service_id, a.status) == (
            "telegram", str(ANNA), "riesa", "personalausweis", "booked")
        assert a.start.astimezone(BERLIN).date() >= datetime(2026, 11, 30).date()

        # Every tap was answered, and every tapped keyboard now shows the choice instead.
        queries = tg.called("answerCallbackQuery")
        assert len(queries) == 6 and all(q.status == 200 for q in queries)
        tapped = [m for m in tg.messages(ANNA) if "edit_date" in m]
        assert len(tapped) == 6
        assert all("reply_markup" not in m and "→ " in m["text"] for m in tapped)
        assert "→ Personalausweis" in text_of(tapped)

        # The reminder goes to the same Telegram chat, a day before.
        h.clock.now = a.start - timedelta(hours=23)
        await h.run_outbox_now()
        await tg.wait_for(lambda: "Erinnerung" in tg.texts(ANNA))
        assert ref in tg.messages(ANNA)[-1]["text"]


async def test_reschedule_and_cancel_by_buttons(tg: FakeTelegram,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch) as h:
        ref = await book_with_buttons(tg, ANNA)
        r = await say(tg, SAM, tg.message(SAM, "/start", language_code="de"))
        r = await say(tg, SAM, tg.click(SAM, "verschieben"))
        assert "Vorgangsnummer" in text_of(r)
        r = await say(tg, SAM, tg.message(SAM, ref.lower()))
        assert "Nachname" in text_of(r)
        r = await say(tg, SAM, tg.message(SAM, "Schmidt"))
        assert "Wann würde es Ihnen stattdessen passen" in text_of(r)
        r = await say(tg, SAM, tg.click(SAM, "So bald wie möglich"))
        r = await say(tg, SAM, tg.click(SAM, "Mo. 23.11."))
        r = await say(tg, SAM, tg.click(SAM, "Ja"))
        assert "ist verschoben auf Montag, 23. November" in text_of(r), text_of(r)
        [a] = await appointments(h)
        assert a.start.astimezone(BERLIN).date() == NOW.date()

        r = await say(tg, SAM, tg.click(SAM, "absagen"))
        r = await say(tg, SAM, tg.message(SAM, ref))
        r = await say(tg, SAM, tg.message(SAM, "anna.schmidt@example.org"))
        assert "wirklich absagen" in text_of(r)
        r = await say(tg, SAM, tg.click(SAM, "Ja"))
        assert "ist abgesagt" in text_of(r)
        [a] = await appointments(h)
        assert a.status == "cancelled"


async def test_start_help_and_abbrechen_commands(tg: FakeTelegram,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        r = await say(tg, SAM, tg.message(SAM, "/start", language_code="en-GB"))
        assert "Hello! I am Amtsbote" in text_of(r)
        assert "Book an appointment" in tg.buttons(SAM)
        r = await say(tg, ANNA, tg.message(ANNA, "/start@AmtsboteBot"))
        assert "Guten Tag" in text_of(r)
        r = await say(tg, ANNA, tg.message(ANNA, "/help"))
        assert "zurück" in text_of(r)
        r = await say(tg, ANNA, tg.click(ANNA, "Termin buchen"))
        r = await say(tg, ANNA, tg.message(ANNA, "/abbrechen"))
        assert text_of(r).startswith(t("flow.aborted", "de"))


async def test_expired_button_is_answered_and_changes_nothing(
        tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        await say(tg, ANNA, tg.message(ANNA, "/start"))
        menu = tg.messages(ANNA)[-1]
        r = await say(tg, ANNA, tg.callback(ANNA, menu, "k:unknownKey12345"))
        assert r == []
        [answer] = tg.called("answerCallbackQuery")
        assert answer.params["text"] == t("telegram.button_expired", "de")


# -- robustness ---------------------------------------------------------------------------------


async def test_duplicate_update_is_handled_once(tg: FakeTelegram,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        update = tg.message(ANNA, "/help")
        first = await say(tg, ANNA, update)
        assert first
        again = await say(tg, ANNA, update)
        assert again == []


async def test_stickers_photos_and_voice_get_a_polite_answer(
        tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        r = await say(tg, ANNA, tg.sticker(ANNA))
        assert text_of(r) == t("telegram.not_text", "de")
        r = await say(tg, SAM, tg.sticker(SAM, language_code="en"))
        assert text_of(r) == t("telegram.not_text", "en")
        r = await say(tg, ANNA, tg.message(ANNA, voice={
            "file_id": "AwACAgIAAxkBAAIvoice", "file_unique_id": "AgADvoice", "duration": 3}))
        assert text_of(r) == t("telegram.not_text", "de")
        r = await say(tg, ANNA, tg.message(ANNA, location={"latitude": 51.16,
                                                           "longitude": 13.47}))
        assert text_of(r) == t("telegram.not_text", "de")
        r = await say(tg, ANNA, tg.message(ANNA, "/help"))  # the conversation goes on
        assert "zurück" in text_of(r)


async def test_webhook_refuses_wrong_or_missing_secret(tg: FakeTelegram,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        update = tg.message(ANNA, "/help")
        assert await tg.push(update, secret="wrong-secret") == 403
        assert await tg.push(update, secret=SECRET[:-1]) == 403
        assert await tg.push(update, secret=None) == 403
        assert tg.messages(ANNA) == []
        # The refused deliveries were not recorded: the real one is still handled.
        assert await tg.push(update) == 200
        assert "zurück" in tg.texts(ANNA)


async def test_bad_bodies_and_unknown_update_types(tg: FakeTelegram,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        assert await tg.push(b"{not json") == 400
        assert await tg.push(b"[1, 2]") == 400
        assert await tg.push({"message": {"text": "no update_id"}}) == 400
        poll = {"update_id": 990001, "poll": {"id": "1", "question": "?", "options": [],
                                              "total_voter_count": 0, "is_closed": False,
                                              "is_anonymous": True, "type": "regular",
                                              "allows_multiple_answers": False}}
        assert await tg.push(poll) == 200
        edited = tg.message(ANNA, "/help")
        edited["edited_message"] = edited.pop("message")
        assert await tg.push(edited) == 200
        assert await tg.push({"update_id": 990002, "message": "garbage"}) == 200
        assert tg.called("sendMessage") == []
        r = await say(tg, ANNA, tg.message(ANNA, "x" * 3000))  # over the dialogue's limit
        assert "zu lang" in text_of(r)


async def test_flood_control_429_is_waited_out(tg: FakeTelegram,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        tg.fail_next("sendMessage", 429, retry_after=1)
        r = await say(tg, ANNA, tg.message(ANNA, "/help"))
        assert len(r) == 1 and "zurück" in text_of(r)
        first, second = tg.called("sendMessage")[:2]
        assert (first.status, second.status) == (429, 200)
        assert second.at - first.at >= 1.0


async def test_group_chats_are_not_conversations(tg: FakeTelegram,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        r = await say(tg, STAFF_CHAT, tg.message(STAFF_CHAT, "Termin buchen", from_id=ANNA))
        assert r == []
        r = await say(tg, STAFF_CHAT, tg.message(STAFF_CHAT, "/start", from_id=ANNA))
        assert text_of(r) == t("telegram.private_only", "de")
        assert tg.messages(ANNA) == []


async def test_token_never_reaches_the_log(tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(tg, monkeypatch):
        await say(tg, ANNA, tg.message(ANNA, "/start"))
    assert "sendMessage" in caplog.text  # httpx did log the requests ...
    secret_part = tg.token.split(":")[1]
    assert secret_part not in caplog.text  # ... without the token
    assert SECRET not in caplog.text


# -- delivery and staff notices -----------------------------------------------------------------


async def test_deliver_hook_sends_to_the_chat(tg: FakeTelegram,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch) as h:
        await say(tg, ANNA, tg.message(ANNA, "/start"))
        long_text = "\n".join(f"Zeile {i}: " + "ä" * 60 for i in range(100))  # > 4096
        ok = await h.ctx.call_first("deliver", ctx=h.ctx, channel="telegram",
                                    recipient=str(ANNA),
                                    replies=[Reply(text="Ihre Bestätigung"),
                                             Reply(text=long_text)])
        assert ok is True
        sent = tg.messages(ANNA)
        assert sent[-3]["text"] == "Ihre Bestätigung"
        assert sent[-2]["text"] + sent[-1]["text"] == long_text  # split at a line end
        nobody = await h.ctx.call_first("deliver", ctx=h.ctx, channel="telegram",
                                        recipient="424242", replies=[Reply(text="Hallo")])
        assert nobody is False  # Telegram: chat not found


async def test_staff_notices_for_a_person_and_for_video(tg: FakeTelegram,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(tg, monkeypatch):
        r = await say(tg, ANNA, tg.message(ANNA, "/request_human"))
        assert "telefonisch" in text_of(r)
        await tg.wait_for(lambda: tg.messages(STAFF_CHAT) and tg.messages(RIESA_CHAT))
        [notice] = tg.messages(STAFF_CHAT)  # one request, one post, though five offices
        assert "Meißen" in notice["text"] and "Großenhain" in notice["text"]
        assert "über telegram" in notice["text"]
        [riesa] = tg.messages(RIESA_CHAT)
        assert "Riesa" in riesa["text"] and "Meißen" not in riesa["text"]

        r = await say(tg, ANNA, tg.click(ANNA, "Videogespräch"))
        r = await say(tg, ANNA, tg.click(ANNA, "Jetzt sprechen"))
        assert "https://meet.jit.si/amtsbote-" in text_of(r)
        link = r[-1]["reply_markup"]["inline_keyboard"][0][0]
        assert link["text"] == t("telegram.open_video", "de")
        assert link["url"].startswith("https://meet.jit.si/amtsbote-")
        await tg.wait_for(lambda: len(tg.messages(STAFF_CHAT)) == 2)
        assert "Videoanfrage" in tg.messages(STAFF_CHAT)[-1]["text"]
        assert "https://meet.jit.si/amtsbote-" in tg.messages(STAFF_CHAT)[-1]["text"]


# -- polling and a Telegram that is down --------------------------------------------------------


async def test_polling_survives_a_restart_without_losing_or_repeating(
        tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/polling.sqlite3"
    first = tg.queue(tg.message(ANNA, "/start"))
    async with running(tg, monkeypatch, mode="polling", database_url=db):
        assert tg.webhook is None and tg.called("deleteWebhook")
        await tg.wait_for(lambda: "Guten Tag" in tg.texts(ANNA))
        tg.queue(tg.click(ANNA, "Termin buchen"))
        await tg.wait_for(lambda: "Wofür brauchen Sie den Termin" in tg.texts(ANNA))
    answered = len(tg.messages(ANNA))
    while_down = tg.queue(tg.message(SAM, "/help", language_code="en"))
    polls_before = len(tg.called("getUpdates"))

    async with running(tg, monkeypatch, mode="polling", database_url=db):
        await tg.wait_for(lambda: tg.messages(SAM))
        resumed = tg.called("getUpdates")[polls_before]
        assert resumed.params["offset"] > first["update_id"]  # the offset came from the DB
        assert resumed.params["offset"] <= while_down["update_id"]
    assert len(tg.messages(ANNA)) == answered  # nothing of Anna's was answered twice
    assert "back" in tg.texts(SAM)


async def test_polling_after_a_crash_before_the_offset_was_saved(
        tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path}/crash.sqlite3"
    async with running(tg, monkeypatch, mode="polling", database_url=db) as h:
        update = tg.queue(tg.message(ANNA, "/help"))
        await tg.wait_for(lambda: any(c.params.get("offset", 0) > update["update_id"]
                                      for c in tg.called("getUpdates")))  # offset saved
        # Simulate a crash right after the answer: the new offset never reached the database
        # and Telegram never saw a getUpdates confirming the update, so it hands it out again.
        await h.ctx.set_state("telegram", "polling", {})
    tg.pending.insert(0, update)
    polls_before = len(tg.called("getUpdates"))
    async with running(tg, monkeypatch, mode="polling", database_url=db):
        tg.queue(tg.message(SAM, "/help"))
        await tg.wait_for(lambda: tg.messages(SAM))
    handed_out = [u["update_id"] for c in tg.called("getUpdates")[polls_before:]
                  for u in c.result or []]
    assert update["update_id"] in handed_out
    assert len(tg.messages(ANNA)) == 1  # seen again, answered once


async def test_telegram_down_at_start_then_back(tg: FakeTelegram,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    async with running(tg, monkeypatch, api_url=f"http://127.0.0.1:{port}") as h:
        client = await h.http()
        resp = await client.post("/webhooks/telegram", json=tg.message(ANNA, "/help"),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert resp.status == 503  # Telegram retries such a delivery later
        reply = await h.say("/help", sender="someone")  # the rest of Amtsbote works
        assert reply
        async with FakeTelegram(port=port) as back:
            await back.wait_for(lambda: back.webhook is not None, seconds=30)
            assert back.webhook is not None and back.webhook["secret_token"] == SECRET
