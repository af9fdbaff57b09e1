"""The Matrix channel against a real Synapse: citizens chat with the bot in direct rooms.

Each test registers its own bot account and citizens on the session's Synapse and runs the
real application (`Harness`) with tests/configs/matrix.yml. Tests marked `rasa` talk to the
real trained Rasa server; the others run with Rasa unreachable (the bot's degraded mode, in
which numbered options still carry a whole booking).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from assistant.booking import references
from assistant.config import load_config
from assistant.i18n import t
from assistant.storage.models import Appointment
from assistant.testing import Harness
from assistant.testing.peers.synapse import ChatClient, MatrixUser, Message, Synapse
from tests.conftest import BERLIN, NOW

CONFIG = Path(__file__).parent / "configs" / "matrix.yml"
NLU_DOWN = "http://127.0.0.1:9"


def said(key: str, lang: str = "de") -> str:
    """The fixed beginning of a catalog text (up to its first placeholder)."""
    return t(key, lang).split("{")[0].strip()


def bodies(messages: list[Message]) -> str:
    return "\n".join(m.body for m in messages)


def number_of(messages: list[Message], title_part: str) -> str:
    """The number the bot gave the option whose title contains `title_part`."""
    for m in reversed(messages):
        for number, title in re.findall(r"^(\d+) – (.+)$", m.body, re.M):
            if title_part.casefold() in title.casefold():
                return number
    raise AssertionError(f"no option {title_part!r} in {bodies(messages)!r}")


def reference_in(messages: list[Message]) -> str:
    code = references.find(bodies(messages))
    assert code, bodies(messages)
    return references.display(code)


@pytest.fixture
async def bot(synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MatrixUser:
    """A fresh bot account; the variables an office would set for it."""
    user = await synapse.register(f"amtsbote{tmp_path.name[-6:].lower()}")
    monkeypatch.setenv("MATRIX_TEST_HOMESERVER", synapse.url)
    monkeypatch.setenv("MATRIX_TEST_USER_ID", user.user_id)
    monkeypatch.setenv("MATRIX_TEST_PASSWORD", user.password)
    monkeypatch.setenv("MATRIX_TEST_STORE_KEY", "test store passphrase")
    monkeypatch.setenv("MATRIX_TEST_STORE", str(tmp_path / "matrix-store"))
    monkeypatch.delenv("MATRIX_TEST_ACCESS_TOKEN", raising=False)
    return user


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """One database across restarts of the bot within a test."""
    return f"sqlite+aiosqlite:///{tmp_path}/amtsbote.sqlite3"


@pytest.fixture
async def anna(synapse: Synapse) -> AsyncIterator[ChatClient]:
    async with ChatClient(synapse, await synapse.register()) as client:
        yield client


def running(db_url: str, nlu_url: str = NLU_DOWN, **kw: object) -> Harness:
    return Harness(config=CONFIG, nlu_url=nlu_url, database_url=db_url, now=NOW, **kw)  # type: ignore[arg-type]


async def appointments(h: Harness) -> list[Appointment]:
    async with h.ctx.db() as session:
        return list(await session.scalars(select(Appointment).order_by(Appointment.id)))


async def chat(client: ChatClient, room: str, bot: MatrixUser, text: str) -> list[Message]:
    await client.send(room, text)
    return await client.receive(room, bot.user_id)


async def book_with_numbers(client: ChatClient, room: str, bot: MatrixUser,
                            when: str = "Nächste Woche") -> str:
    """A booking driven only by numbered options (works with or without Rasa)."""
    menu = await client.receive(room, bot.user_id)
    r = await chat(client, room, bot, number_of(menu, "Termin buchen"))
    r = await chat(client, room, bot, number_of(r, "Reisepass"))
    r = await chat(client, room, bot, number_of(r, "Riesa"))
    r = await chat(client, room, bot, number_of(r, when))
    assert said("slot.offer") in bodies(r)
    r = await chat(client, room, bot, "1")
    assert said("book.ask_name") in bodies(r)
    r = await chat(client, room, bot, "Anna Schmidt")
    r = await chat(client, room, bot, number_of(r, "Überspringen"))
    assert said("book.summary") in bodies(r)
    r = await chat(client, room, bot, number_of(r, "Ja"))
    assert said("book.done") in bodies(r)
    return reference_in(r)


# -- booking, restart, no repeats ------------------------------------------------------------


@pytest.mark.rasa
async def test_booking_by_chat_survives_a_restart_mid_conversation(
        synapse: Synapse, bot: MatrixUser, anna: ChatClient, db_url: str, rasa_url: str) -> None:
    async with running(db_url, rasa_url) as h:
        room = await anna.open_chat(bot.user_id)
        greeting = await anna.receive(room, bot.user_id)
        assert said("greet") in bodies(greeting)
        assert number_of(greeting, "Termin buchen") == "1"
        # Formatted body with a plain-text fallback; options as a numbered list.
        assert greeting[-1].formatted_body and '<ol start="1">' in greeting[-1].formatted_body
        r = await chat(anna, room, bot, "Guten Tag, ich brauche bitte einen neuen Personalausweis")
        assert said("book.ask_office").split(" für")[0] in bodies(r)
        r = await chat(anna, room, bot, number_of(r, "Riesa"))
        assert said("book.ask_time") in bodies(r)
        r = await chat(anna, room, bot, "morgen vormittag")
        assert "Diese Termine sind im Bürgerbüro Riesa frei" in bodies(r)
        assert "1. Dienstag, 24. November" in bodies(r)
        offered = re.findall(r"^2\. (.+) \(", bodies(r), re.M)[0]
    # The bot is down; the citizen answers anyway.
    await anna.send(room, "2")
    async with running(db_url, rasa_url) as h:
        after = await anna.receive(room, bot.user_id)
        # Answered once, where the conversation stood: no second greeting, no second offer.
        assert bodies(after) == t("book.ask_name", "de")
        r = await chat(anna, room, bot, "Anna <b>Schmidt</b>")  # markup is never a name
        assert said("name.invalid") in bodies(r)
        r = await chat(anna, room, bot, "Anna Schmidt")
        r = await chat(anna, room, bot, "anna.schmidt@example.org")
        assert "Anna Schmidt" in bodies(r) and offered in bodies(r)
        summary = next(m for m in r if "Anna" in m.body)
        assert summary.formatted_body and "Anna Schmidt" in summary.formatted_body
        assert "<b>Schmidt" not in summary.formatted_body
        r = await chat(anna, room, bot, "ja, bitte buchen")
        assert said("book.done") in bodies(r)
        ref = reference_in(r)
        [a] = await appointments(h)
        assert references.display(a.reference) == ref
        assert (a.channel, a.sender, a.office_id, a.service_id) == (
            "matrix", room, "riesa", "personalausweis")
        assert a.start.astimezone(BERLIN).date().isoformat() == "2026-11-24"
        assert await anna.silence(room, bot.user_id, 3) == []


async def test_a_stale_sync_token_repeats_nothing(
        bot: MatrixUser, anna: ChatClient, db_url: str) -> None:
    """A crash after answering but before saving the sync token: the events come again and
    are recognised by their event ids."""
    async with running(db_url) as h:
        room = await anna.open_chat(bot.user_id)
        await anna.receive(room, bot.user_id)
        old = await h.ctx.get_state("matrix", "sync")
        assert old and old["next_batch"]
        await chat(anna, room, bot, "1")
        r = await chat(anna, room, bot, "2")
        assert said("book.ask_office").split(" für")[0] in bodies(r)
    async with running(db_url) as h:
        await h.ctx.set_state("matrix", "sync", old)
    async with running(db_url) as h:
        await _until_async(lambda: h.ctx.get_state("matrix", "sync"), lambda s: s != old)
        assert await anna.silence(room, bot.user_id, 1) == []  # the old events came again
        r = await chat(anna, room, bot, number_of(r, "Meißen"))
        assert len(r) == 1 and said("book.ask_time") in r[0].body


async def test_messages_sent_while_the_bot_was_down_for_long_are_all_answered(
        bot: MatrixUser, anna: ChatClient, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """More messages than one sync carries (a limited timeline): the gap is fetched."""
    import channels.matrix

    monkeypatch.setattr(channels.matrix, "TIMELINE_LIMIT", 2)
    async with running(db_url):
        room = await anna.open_chat(bot.user_id)
        await anna.receive(room, bot.user_id)
    for _ in range(4):  # menu: book; services: Personalausweis; offices: Meißen; time: asap
        await anna.send(room, "1")
    async with running(db_url):
        got: list[Message] = []
        while said("slot.offer") not in bodies(got):
            got += await anna.receive(room, bot.user_id)
        got += await anna.silence(room, bot.user_id, 2)
    text = bodies(got)
    asked = [text.find(said(k).split(" für")[0]) for k in
             ("book.ask_service", "book.ask_office", "book.ask_time", "slot.offer")]
    assert -1 not in asked and asked == sorted(asked), text  # each answered, in order
    assert text.count(said("book.ask_service")) == 1


async def test_bookings_work_by_numbers_when_rasa_is_down(
        bot: MatrixUser, anna: ChatClient, db_url: str) -> None:
    async with running(db_url) as h:
        room = await anna.open_chat(bot.user_id)
        ref = await book_with_numbers(anna, room, bot)
        [a] = await appointments(h)
        assert references.display(a.reference) == ref and a.service_id == "reisepass"


async def test_the_bot_ignores_its_own_messages(
        synapse: Synapse, bot: MatrixUser, anna: ChatClient, db_url: str) -> None:
    """A clerk using the bot's account on another device writes in the room: no answer."""
    async with running(db_url):
        room = await anna.open_chat(bot.user_id)
        await anna.receive(room, bot.user_id)
        second = MatrixUser(bot.user_id, bot.password, bot.access_token, bot.device_id)
        async with ChatClient(synapse, second) as clerk:
            sent = {await clerk.send(room, "Termin buchen"), await clerk.send(room, "1")}
        seen = await anna.silence(room, bot.user_id, 4)
        assert {m.event_id for m in seen} == sent  # the two messages themselves, no answer


# -- reschedule and cancel -------------------------------------------------------------------


@pytest.mark.rasa
async def test_reschedule_and_cancel_by_chat(
        bot: MatrixUser, anna: ChatClient, db_url: str, rasa_url: str) -> None:
    async with running(db_url, rasa_url) as h:
        room = await anna.open_chat(bot.user_id)
        ref = await book_with_numbers(anna, room, bot, when="Diese Woche")
        [before] = await appointments(h)

        # The conversation remembers the appointment just booked: no code asked again.
        r = await chat(anna, room, bot, "Ich möchte meinen Termin verschieben")
        assert ref in bodies(r) and said("reschedule.ask_time") in bodies(r)
        r = await chat(anna, room, bot, "nächste Woche")
        assert said("slot.offer").split("{")[0] in bodies(r)
        r = await chat(anna, room, bot, "1")
        assert said("reschedule.confirm") in bodies(r)
        r = await chat(anna, room, bot, number_of(r, "Ja"))
        assert said("reschedule.done") in bodies(r)
        [moved] = await appointments(h)
        assert moved.start - before.start >= timedelta(days=1) and moved.status == "booked"

        r = await chat(anna, room, bot, "Bitte sagen Sie meinen Termin ab")
        assert ref in bodies(r) and said("cancel.confirm") in bodies(r)
        r = await chat(anna, room, bot, "ja")
        assert said("cancel.done") in bodies(r)
        [cancelled] = await appointments(h)
        assert cancelled.status == "cancelled"


# -- staff room, reminders -------------------------------------------------------------------


@pytest.mark.rasa
async def test_staff_room_hears_when_a_citizen_asks_for_a_person(
        synapse: Synapse, bot: MatrixUser, anna: ChatClient, db_url: str, rasa_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with ChatClient(synapse, await synapse.register("clerk")) as clerk:
        staff = await clerk.open_chat(bot.user_id, name="Bürgerbüros – Amtsbote")
        monkeypatch.setenv("MATRIX_TEST_STAFF_ROOM", staff)
        async with running(db_url, rasa_url):
            room = await anna.open_chat(bot.user_id)
            await anna.receive(room, bot.user_id)
            r = await chat(anna, room, bot, "Ich möchte bitte mit einem Menschen sprechen")
            assert said("human") in bodies(r)
            [notice] = await clerk.receive(staff, bot.user_id, count=1)
            assert notice.msgtype == "m.notice"
            assert t("staff.human_request", "de", channel="matrix") in notice.body
            # Posted once for all offices, not once per office; no greeting in the staff room.
            assert await clerk.silence(staff, bot.user_id, 2) == []
            assert "Bürgerbüro Meißen" in notice.body and "Bürgerbüro Riesa" in notice.body


async def test_reminder_reaches_the_citizens_room(
        bot: MatrixUser, anna: ChatClient, db_url: str) -> None:
    async with running(db_url) as h:
        room = await anna.open_chat(bot.user_id)
        ref = await book_with_numbers(anna, room, bot)
        [a] = await appointments(h)
        h.clock.now = a.start - timedelta(hours=23)
        await h.run_outbox_now()
        [reminder] = await anna.receive(room, bot.user_id, count=1)
        assert said("reminder") in reminder.body and ref in reminder.body


# -- rooms the bot should not converse in, bad input ------------------------------------------


async def test_group_rooms_get_a_pointer_to_a_direct_chat(
        synapse: Synapse, bot: MatrixUser, anna: ChatClient, db_url: str) -> None:
    async with running(db_url):
        friend = await synapse.register()
        room = await anna.open_chat(bot.user_id, friend.user_id, name="Familie Schmidt")
        [hint] = await anna.receive(room, bot.user_id, count=1)
        assert hint.body == t("matrix.direct_only", "de")
        await anna.send(room, "Ich brauche einen Termin, mein Name ist Anna Schmidt")
        assert await anna.silence(room, bot.user_id, 3) == []  # told once, data not processed


async def test_the_bot_leaves_a_chat_the_citizen_left(
        synapse: Synapse, bot: MatrixUser, anna: ChatClient, db_url: str) -> None:
    async with running(db_url), ChatClient(synapse, bot) as bot_elsewhere:
        room = await anna.open_chat(bot.user_id)
        await anna.receive(room, bot.user_id)
        await anna.client.room_leave(room)
        for _ in range(100):
            joined = await bot_elsewhere.client.joined_rooms()
            if room not in joined.rooms:
                break
            await asyncio.sleep(0.1)
        assert room not in joined.rooms


async def test_pictures_get_a_clear_answer_and_the_conversation_goes_on(
        bot: MatrixUser, anna: ChatClient, db_url: str) -> None:
    async with running(db_url):
        room = await anna.open_chat(bot.user_id)
        menu = await anna.receive(room, bot.user_id)
        await anna.send(room, content={"msgtype": "m.image", "body": "ausweis.jpg",
                                       "url": "mxc://amtsbote.test/abcdef"})
        [answer] = await anna.receive(room, bot.user_id, count=1)
        assert answer.body == t("matrix.not_text", "de")
        r = await chat(anna, room, bot, number_of(menu, "Termin buchen"))
        assert said("book.ask_service") in bodies(r)


async def test_encrypted_direct_chat(
        synapse: Synapse, bot: MatrixUser, db_url: str, tmp_path: Path) -> None:
    store = tmp_path / "anna-keys"
    store.mkdir()
    async with ChatClient(synapse, await synapse.register(), encryption=True,
                          store_dir=store) as anna, running(db_url):
        room = await anna.open_chat(bot.user_id, encrypted=True)
        greeting = await anna.receive(room, bot.user_id)
        assert said("greet") in bodies(greeting) and all(m.encrypted for m in greeting)
        r = await chat(anna, room, bot, number_of(greeting, "Termin buchen"))
        assert said("book.ask_service") in bodies(r) and all(m.encrypted for m in r)


async def test_without_encryption_support_the_citizen_is_told_how_to_reach_the_bot(
        synapse: Synapse, bot: MatrixUser, db_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATRIX_TEST_ENCRYPTION", "false")
    store = tmp_path / "anna-keys"
    store.mkdir()
    async with ChatClient(synapse, await synapse.register(), encryption=True,
                          store_dir=store) as anna, running(db_url):
        room = await anna.open_chat(bot.user_id, encrypted=True)
        [hint] = await anna.receive(room, bot.user_id, count=1)
        assert hint.body == t("matrix.encryption_off", "de") and not hint.encrypted


async def test_a_homeserver_that_is_down_does_not_stop_the_app_or_leak_the_password(
        bot: MatrixUser, db_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("MATRIX_TEST_HOMESERVER", "http://127.0.0.1:9")
    caplog.set_level(logging.DEBUG)
    async with running(db_url) as h:
        r = await h.say("1", sender="web-visitor", channel="rest")  # other channels still work
        assert r
        await _until(lambda: "unreachable" in caplog.text)
    assert bot.password not in caplog.text and "test store passphrase" not in caplog.text


async def test_invites_from_other_homeservers_can_be_refused(
        synapse: Synapse, bot: MatrixUser, anna: ChatClient, db_url: str) -> None:
    config = load_config(CONFIG)
    matrix = {**config.channels["matrix"], "allowed_servers": ["kreis-meissen.example"]}
    config = config.model_copy(update={"channels": {**config.channels, "matrix": matrix}})
    async with Harness(config=config, nlu_url=NLU_DOWN, database_url=db_url, now=NOW):
        room = await anna.open_chat(bot.user_id)
        assert await anna.silence(room, bot.user_id, 4) == []
        members = await anna.client.joined_members(room)
        assert bot.user_id not in [m.user_id for m in members.members]


async def _until_async(value: Callable[[], Awaitable[object]], check: Callable[[object], bool],
                       seconds: float = 30.0) -> None:
    for _ in range(int(seconds * 10)):
        if check(await value()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def _until(check: object, seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 10)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")
