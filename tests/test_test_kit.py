"""The test kit as a plugin author uses it: a channel of their own, defined here, driven
through the kit's pytest fixtures `amtsbote` (the real application) and `scripted_rasa` (Rasa's
stand-in); the assertions are on what the citizen's messenger receives.

Like a test in a plugin's own repository, this module imports only the plugin API
(`assistant.plugin`) and the kit (`assistant.testing`), and nothing from tests/.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from assistant.plugin import Context, Incoming, Reply, hookimpl
from assistant.testing import BERLIN, Harness, ScriptedRasa

ANNA = "anna"
REQUEST = "Ich brauche einen neuen Ausweis in Riesa"


class MiniChat:
    """A messenger channel in one class: its webhook hands a message to the dialogue and
    answers with the replies (text and buttons); messages Amtsbote starts itself (reminders)
    are posted to the messenger, here kept in `sent`."""

    name = "minichat"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    @hookimpl
    def register_routes(self, app: web.Application, ctx: Context) -> None:
        async def webhook(request: web.Request) -> web.Response:
            body = await request.json()
            replies = await ctx.dialogue.handle(Incoming(self.name, body["from"], body["text"]))
            return web.json_response([{"text": r.text,
                                       "buttons": {b.title: b.payload for b in r.buttons}}
                                      for r in replies])

        app.router.add_post("/webhooks/minichat", webhook)

    @hookimpl
    def deliver(self, ctx: Context, channel: str, recipient: str,
                replies: list[Reply]) -> Awaitable[bool] | None:
        if channel != self.name:
            return None

        async def post() -> bool:
            self.sent += [(recipient, r.text) for r in replies]
            return True

        return post()


@pytest.fixture
def minichat() -> MiniChat:
    return MiniChat()


@pytest.fixture
def amtsbote_plugins(minichat: MiniChat) -> list[Any]:
    """The kit's `amtsbote` registers these plugins."""
    return [minichat]


class Citizen:
    """Anna on her messenger: what she writes and taps, what she reads."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.messages: list[dict[str, Any]] = []

    async def write(self, text: str) -> str:
        resp = await self.client.post("/webhooks/minichat", json={"from": ANNA, "text": text})
        assert resp.status == 200
        self.messages = await resp.json()
        return "\n".join(m["text"] for m in self.messages)

    async def tap(self, title: str) -> str:
        payloads = {t: p for m in self.messages for t, p in m["buttons"].items()}
        assert title in payloads, f"no button {title!r} in {list(payloads)}"
        return await self.write(payloads[title])

    def buttons(self) -> list[str]:
        return [t for m in self.messages for t in m["buttons"]]


async def book(anna: Citizen) -> tuple[str, str]:
    """A booking in the chat: the first slot next week. The slot's button title and the last
    answer."""
    said = await anna.write(REQUEST)
    assert said.startswith("Wann passt es Ihnen?"), said
    said = await anna.tap("Nächste Woche")
    assert "Diese Termine sind im Bürgerbüro Riesa frei" in said, said
    slot = anna.buttons()[0]
    assert "Auf welchen Namen" in await anna.tap(slot)
    await anna.write("Anna Schmidt")
    said = await anna.write("anna.schmidt@example.org")
    assert "Bitte prüfen Sie" in said and "Anna Schmidt" in said, said
    return slot, await anna.tap("Ja")


async def test_a_citizen_books_through_the_plugins_channel(
        amtsbote: Harness, scripted_rasa: ScriptedRasa) -> None:
    scripted_rasa.script[REQUEST] = ("book_appointment",
                                     {"service": "Personalausweis", "office": "Riesa"})
    anna = Citizen(await amtsbote.http())
    _, said = await book(anna)
    assert "Ihr Termin ist gebucht" in said and "Bürgerbüro Riesa" in said, said
    assert "Vorgangsnummer" in said
    # Only the free-text request needed Rasa: the rest were taps and answers to questions.
    assert scripted_rasa.received == [REQUEST]


async def test_the_reminder_reaches_the_citizen_through_the_plugin_when_the_clock_says_so(
        amtsbote: Harness, scripted_rasa: ScriptedRasa, minichat: MiniChat) -> None:
    scripted_rasa.script[REQUEST] = ("book_appointment",
                                     {"service": "Personalausweis", "office": "Riesa"})
    anna = Citizen(await amtsbote.http())
    slot, said = await book(anna)
    reference = next(line for line in said.splitlines() if line.startswith("Vorgangsnummer"))
    reference = reference.split(":")[1].strip()
    start = datetime.strptime(slot.split(" ", 1)[1], "%d.%m. %H:%M").replace(
        year=amtsbote.ctx.now().year, tzinfo=BERLIN)  # "Mo. 30.11. 08:00"
    assert start > amtsbote.ctx.now()
    amtsbote.clock.now = start - timedelta(hours=24, minutes=1)
    await amtsbote.run_outbox_now()
    assert minichat.sent == []
    amtsbote.clock.now = start - timedelta(hours=24)
    await amtsbote.run_outbox_now()
    [(to, text)] = minichat.sent
    assert to == ANNA and text.startswith("Erinnerung") and reference in text, text


async def test_what_the_script_does_not_know_is_not_understood(
        amtsbote: Harness, scripted_rasa: ScriptedRasa) -> None:
    scripted_rasa.script[REQUEST] = "book_appointment"
    anna = Citizen(await amtsbote.http())
    said = await anna.write("Blubb")
    assert said.startswith("Das habe ich leider nicht verstanden"), said
    assert "Termin buchen" in anna.buttons()
    # The script's texts match whatever the case and spacing.
    said = await anna.write("  ich brauche einen neuen AUSWEIS   in Riesa")
    assert said.startswith("Wann passt es Ihnen?"), said
