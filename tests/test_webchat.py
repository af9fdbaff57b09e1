"""The web chat channel over HTTP and WebSocket, without a browser (aiohttp test client).

What a citizen's browser or an attacker's page would do: the security headers of the pages,
the Origin check, oversize and broken frames, a message delivered twice, the HTTP fallback
continuing the same conversation, the kiosk's QR code. Rasa is unreachable on purpose here
(buttons and the name step need no NLU) except where free text matters (marked `rasa`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSServerHandshakeError
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from assistant.booking.appointments import to_view
from assistant.config import ConfigError, load_config
from assistant.http.app import create_app
from assistant.messages import Reply
from assistant.plugins import create_manager
from assistant.storage.models import Appointment, Conversation
from assistant.testing import Harness
from channels.webchat import qr_payload
from tests.conftest import NOW

CONFIG = Path(__file__).parent / "configs" / "webchat.yml"
OFFLINE_NLU = "http://127.0.0.1:9"
COUNTY = "https://www.kreis-meissen.example"


@pytest.fixture
async def chat() -> AsyncIterator[Harness]:
    async with Harness(CONFIG, nlu_url=OFFLINE_NLU, now=NOW) as h:
        yield h


async def hello(client: TestClient, mode: str = "page", sender: str | None = None,
                **headers: str) -> tuple[ClientWebSocketResponse, str]:
    ws = await client.ws_connect("/webchat/ws", headers=headers)
    await ws.send_json({"type": "hello", "mode": mode, "language": "de", "sender": sender})
    frame = await ws.receive_json(timeout=5)
    assert frame["type"] == "ready"
    return ws, frame["sender"]


async def say(ws: ClientWebSocketResponse, text: str, mid: str) -> dict[str, Any]:
    """Send a message; the answer frame (after the typing indicator)."""
    await ws.send_json({"type": "message", "id": mid, "text": text})
    while True:
        frame = await ws.receive_json(timeout=15)
        if frame["type"] != "typing":
            return frame


def texts(frame: dict[str, Any]) -> str:
    return "\n".join(m["text"] for m in frame["messages"])


def titles(frame: dict[str, Any]) -> list[str]:
    return [b["title"] for m in frame["messages"] for b in m["buttons"]]


def payload(frame: dict[str, Any], title_part: str) -> str:
    for m in frame["messages"]:
        for b in m["buttons"]:
            if title_part.casefold() in b["title"].casefold():
                return str(b["payload"])
    raise AssertionError(f"no button {title_part!r} in {titles(frame)}")


async def state(h: Harness, sender: str) -> dict[str, Any]:
    """The stored task under way (empty when there is none)."""
    async with h.ctx.db() as session:
        row = await session.get(Conversation, ("webchat", sender))
        return dict((row.state or {}).get("task") or {}) if row else {}


# -- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/kiosk", "/webchat/demo"])
async def test_pages_forbid_inline_scripts_and_foreign_framing(chat: Harness, path: str) -> None:
    client = await chat.http()
    response = await client.get(path)
    assert response.status == 200
    csp = response.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["default-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'self'", COUNTY]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = await response.text()
    scripts = re.findall(r"<script\b([^>]*)>", body)
    assert scripts, "the page loads its scripts"
    for attrs in scripts:
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs


async def test_page_config_cannot_break_out_of_its_script_block(tmp_path: Path) -> None:
    """A title with markup (from config.yml) is data inside the JSON block, never HTML."""
    text = CONFIG.read_text(encoding="utf-8").replace(
        "de: Landkreis Meißen – Terminservice", 'de: "</script><script>alert(1)</script>"')
    text = text.replace("../../catalogue.yml", str(Path(__file__).parents[1] / "catalogue.yml"))
    config = tmp_path / "config.yml"
    config.write_text(text, encoding="utf-8")
    async with Harness(config, nlu_url=OFFLINE_NLU, now=NOW) as h:
        body = await (await (await h.http()).get("/")).text()
    assert "<script>alert(1)" not in body
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in body  # the <title>
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in body  # the JSON block


async def test_widget_script_and_config_for_allowed_sites_only(chat: Harness) -> None:
    client = await chat.http()
    script = await client.get("/webchat/widget.js")
    assert script.status == 200 and "javascript" in script.content_type
    ok = await client.get("/webchat/config.json", headers={"Origin": COUNTY})
    assert ok.status == 200
    assert ok.headers["Access-Control-Allow-Origin"] == COUNTY
    cfg = await ok.json()
    assert cfg["title"]["de"] == "Landkreis Meißen – Terminservice"
    assert cfg["strings"]["en"]["ui.send"] == "Send"
    foreign = await client.get("/webchat/config.json", headers={"Origin": "https://evil.example"})
    assert foreign.status == 403
    assert "Access-Control-Allow-Origin" not in foreign.headers


# -- WebSocket --------------------------------------------------------------------------------


async def test_websocket_refuses_a_foreign_origin(chat: Harness) -> None:
    client = await chat.http()
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect("/webchat/ws", headers={"Origin": "https://evil.example"})
    assert refused.value.status == 403
    ws, _ = await hello(client, Origin=COUNTY)  # the county's website embeds the widget
    await ws.close()
    ws, _ = await hello(client, Origin=f"http://{client.host}:{client.port}")  # our own pages
    await ws.close()


async def test_invalid_frames_get_error_frames_and_the_socket_stays_open(chat: Harness) -> None:
    client = await chat.http()
    ws = await client.ws_connect("/webchat/ws")
    await ws.send_json({"type": "message", "id": "m0", "text": "Hallo"})
    assert (await ws.receive_json(timeout=5))["code"] == "no_session"
    await ws.send_json({"type": "hello"})
    assert (await ws.receive_json(timeout=5))["type"] == "ready"
    await ws.send_str('{"type": "message", "text": "Hallo"')
    frame = await ws.receive_json(timeout=5)
    assert frame["type"] == "error" and frame["code"] == "invalid_json"
    assert "noch einmal" in frame["text"]
    await ws.send_bytes(b"\x00\xff\x00binary")
    assert (await ws.receive_json(timeout=5))["code"] == "binary"
    await ws.send_json({"type": "message", "id": "m1", "text": {"not": "text"}})
    assert (await ws.receive_json(timeout=5))["code"] == "invalid_message"
    await ws.send_json(["not", "an", "object"])
    assert (await ws.receive_json(timeout=5))["code"] == "unknown_type"
    frame = await say(ws, "/greet", "m2")
    assert frame["type"] == "reply" and "Termin buchen" in titles(frame)
    await ws.close()


async def test_a_frame_beyond_32_kib_closes_only_that_connection(chat: Harness) -> None:
    client = await chat.http()
    ws, sender = await hello(client)
    await ws.send_str('{"type": "message", "id": "x", "text": "' + "A" * 40_000 + '"}')
    closing = await ws.receive(timeout=5)
    assert closing.type.name == "CLOSE" and closing.data == 1009  # message too big
    again, same = await hello(client, sender=sender)  # the browser reconnects and goes on
    assert same == sender
    assert (await say(again, "/greet", "y"))["type"] == "reply"


@pytest.mark.rasa
async def test_oversize_message_is_refused_politely_and_the_booking_goes_on(
        rasa_url: str) -> None:
    async with Harness(CONFIG, nlu_url=rasa_url, now=NOW) as h:
        ws, sender = await hello(await h.http())
        first = await say(ws, "Ich brauche einen Termin für einen Reisepass in Riesa", "m1")
        assert "Nächste Woche" in titles(first)
        huge = await say(ws, "Reisepass " * 300, "m2")  # 3000 characters, limit 2000
        assert huge["type"] == "reply"
        assert "zu lang" in texts(huge) and "2000" in texts(huge)
        assert (await state(h, sender))["service"] == "reisepass"
        slots = await say(ws, payload(first, "Nächste Woche"), "m3")
        assert "Andere Zeit" in titles(slots)
        assert (await state(h, sender))["step"] == "slot"
        await ws.close()


async def test_a_redelivered_message_is_answered_once(chat: Harness) -> None:
    """After a network drop the browser sends unanswered messages again with the same id."""
    client = await chat.http()
    ws, sender = await hello(client)
    await say(ws, "/book_appointment", "a1")
    first = await say(ws, '/inform{"service": "reisepass"}', "a2")
    turns = (await state(chat, sender))["turns"]
    await ws.close()
    ws, again = await hello(client, sender=sender)  # reconnected, same conversation
    assert again == sender
    repeat = await say(ws, '/inform{"service": "reisepass"}', "a2")
    assert repeat["messages"] == first["messages"]
    assert (await state(chat, sender))["turns"] == turns
    over_http = await client.post("/webchat/message", json={
        "sender": sender, "id": "a2", "text": '/inform{"service": "reisepass"}'})
    assert (await over_http.json())["messages"] == first["messages"]
    # a second worker process (its own app, the same database) knows it too
    async with TestClient(TestServer(create_app(chat.ctx, manage_lifecycle=False))) as worker:
        other = await worker.post("/webchat/message", json={
            "sender": sender, "id": "a2", "text": '/inform{"service": "reisepass"}'})
        assert (await other.json())["messages"] == first["messages"]
    assert (await state(chat, sender))["turns"] == turns
    await ws.close()


async def test_http_fallback_continues_the_websocket_conversation(chat: Harness) -> None:
    client = await chat.http()
    ws, sender = await hello(client)
    await say(ws, "/book_appointment", "b1")
    await ws.close()
    response = await client.post("/webchat/message", headers={"Origin": COUNTY}, json={
        "sender": sender, "id": "b2", "text": '/inform{"service": "reisepass"}',
        "language": "de", "mode": "widget"})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == COUNTY
    body = await response.json()
    assert body["sender"] == sender
    assert "Riesa" in " ".join(b["title"] for m in body["messages"] for b in m["buttons"])
    assert (await state(chat, sender))["service"] == "reisepass"


async def test_http_fallback_refuses_foreign_sites_and_bad_input(chat: Harness) -> None:
    client = await chat.http()
    preflight = await client.options("/webchat/message", headers={
        "Origin": COUNTY, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == COUNTY
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    foreign = await client.post("/webchat/message", headers={"Origin": "https://evil.example"},
                                json={"text": "Hallo"})
    assert foreign.status == 403
    broken = await client.post("/webchat/message", data=b"{not json",
                               headers={"Content-Type": "application/json"})
    assert broken.status == 400 and (await broken.json())["error"] == "invalid_json"
    no_text = await client.post("/webchat/message", json={"text": 42})
    assert no_text.status == 400 and (await no_text.json())["error"] == "invalid_message"
    fresh = await client.post("/webchat/message", json={"sender": "x", "text": "/greet"})
    body = await fresh.json()
    assert fresh.status == 200 and body["sender"] != "x" and len(body["sender"]) >= 16


async def test_each_connection_is_rate_limited(chat: Harness) -> None:
    client = await chat.http()
    ws, _ = await hello(client)  # the hello counts too: 20 frames a minute in the test config
    codes = []
    for _ in range(25):
        await ws.send_json({"type": "nonsense"})
        codes.append((await ws.receive_json(timeout=5))["code"])
    assert codes.count("unknown_type") == 19
    assert codes[19:] == ["rate_limited"] * 6
    await ws.send_json({"type": "ping"})
    assert (await ws.receive_json(timeout=5))["type"] == "pong"  # still connected
    other, _ = await hello(client)  # other citizens are not affected
    assert (await say(other, "/greet", "g1"))["type"] == "reply"


async def test_one_address_cannot_flood_the_server_with_new_chats() -> None:
    config = load_config(CONFIG)
    channels = copy.deepcopy(config.channels)
    channels["webchat"]["per_ip_per_minute"] = 3
    async with Harness(config.model_copy(update={"channels": channels}), nlu_url=OFFLINE_NLU,
                       now=NOW) as h:
        client = await h.http()
        sockets = [(await hello(client))[0] for _ in range(2)]
        ok = await client.post("/webchat/message", json={"text": "/greet"})
        assert ok.status == 200
        with pytest.raises(WSServerHandshakeError) as refused:
            await client.ws_connect("/webchat/ws")
        assert refused.value.status == 429
        flood = await client.post("/webchat/message", json={"text": "/greet"})
        assert flood.status == 429 and "Moment" in (await flood.json())["text"]
        assert (await say(sockets[0], "/greet", "s1"))["type"] == "reply"  # open chats go on


async def test_ending_a_session_abandons_the_conversation(chat: Harness) -> None:
    client = await chat.http()
    ws, sender = await hello(client, mode="kiosk")
    await say(ws, "/book_appointment", "k1")
    assert (await state(chat, sender))["flow"] == "book"
    await ws.send_json({"type": "end"})
    frame = await ws.receive_json(timeout=5)
    assert frame["type"] == "ready" and frame["ended"] is True and frame["sender"] != sender
    assert "flow" not in await state(chat, sender)
    greeting = await say(ws, "/greet", "k2")
    assert "Termin buchen" in titles(greeting)
    assert "flow" not in await state(chat, frame["sender"])


async def book(ws: ClientWebSocketResponse) -> dict[str, Any]:
    """Book a Reisepass in Riesa by buttons; the frame with the confirmation."""
    await say(ws, "/book_appointment", "c1")
    offices = await say(ws, '/inform{"service": "reisepass"}', "c2")
    times = await say(ws, payload(offices, "Riesa"), "c3")
    slots = await say(ws, payload(times, "Nächste Woche"), "c4")
    name = await say(ws, slots["messages"][-1]["buttons"][0]["payload"], "c5")
    assert "Namen" in texts(name)
    contact = await say(ws, "Anna Schmidt", "c6")
    summary = await say(ws, payload(contact, "Überspringen"), "c7")
    return await say(ws, payload(summary, "Ja"), "c8")


async def test_kiosk_confirmation_carries_a_qr_code_with_the_appointment(chat: Harness) -> None:
    ws, sender = await hello(await chat.http(), mode="kiosk")
    done = await book(ws)
    confirmation = next(m for m in done["messages"] if "qr" in m)
    assert confirmation["qr"]["src"].startswith("data:image/svg+xml")
    async with chat.ctx.db() as session:
        appt = await session.scalar(select(Appointment).where(Appointment.sender == sender))
    assert appt is not None and appt.channel == "webchat"
    reference = f"{appt.reference[:3]}-{appt.reference[3:]}"
    assert reference in confirmation["text"]
    assert reference in confirmation["qr"]["alt"]
    view = to_view(appt)
    reply = Reply(text="", key="book.done", language="de",
                  data={"reference": reference, "appointment": view.to_api(False)})
    ics, alt = qr_payload(chat.ctx, reply)
    assert ics.startswith("BEGIN:VEVENT") and f"Vorgangsnummer {reference}" in ics
    assert f"DTSTART:{view.start.astimezone(UTC).strftime('%Y%m%dT%H%M%S')}Z" in ics
    assert "Bürgerbüro Riesa" in ics and "Reisepass" in ics
    assert "Vorgangsnummer" in alt


async def test_page_confirmation_has_no_qr_code(chat: Harness) -> None:
    ws, _ = await hello(await chat.http(), mode="page")
    done = await book(ws)
    assert "gebucht" in texts(done)
    assert not any("qr" in m for m in done["messages"])


async def test_deliver_pushes_to_an_open_chat_only(chat: Harness) -> None:
    ws, sender = await hello(await chat.http())
    sent = await chat.ctx.call_first("deliver", ctx=chat.ctx, channel="webchat",
                                     recipient=sender, replies=[Reply(text="Erinnerung: morgen")])
    assert sent is True
    frame = await ws.receive_json(timeout=5)
    assert frame == {"type": "reply", "id": None, "messages": [
        {"text": "Erinnerung: morgen", "language": "de", "buttons": []}]}
    gone = await chat.ctx.call_first("deliver", ctx=chat.ctx, channel="webchat",
                                     recipient="nobody-is-connected-here", replies=[])
    assert gone is False


async def test_server_shutdown_closes_sockets_so_browsers_reconnect(chat: Harness) -> None:
    client = await chat.http()
    ws, _ = await hello(client)
    await chat.ctx.pm.get_plugin("webchat").server.close_all()
    message = await ws.receive(timeout=5)
    assert ws.closed or message.type.name in ("CLOSE", "CLOSED", "CLOSING")


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "error"), [
    ("    primary_color: '#ffcc00'", "contrast"),
    ("    allowed_origins: [https://www.kreis-meissen.example/termine]", "no path"),
    ("    kiosk_idle_seconds: 2", "greater than or equal"),
    ("    colour: blue", "Extra inputs"),
])
def test_settings_errors_name_the_key(tmp_path: Path, line: str, error: str) -> None:
    text = CONFIG.read_text(encoding="utf-8").replace(
        "    messages_per_minute: 20", line)
    text = text.replace("../../catalogue.yml", str(Path(__file__).parents[1] / "catalogue.yml"))
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        create_manager(load_config(path))
    assert "channels.webchat" in str(exc.value) and error in str(exc.value)
