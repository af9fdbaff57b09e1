"""Issue 14, abuse: guessing last names across sender ids, flooding with new senders, staff
requests from one client, X-Forwarded-For only from trusted proxies, kiosk terminals."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, make_mocked_request
from sqlalchemy import func, select

from assistant.booking import book, check, escalate, references
from assistant.config import Config, load_config
from assistant.http.common import client_address
from assistant.http.openapi import SPEC
from assistant.storage.models import Event, VerificationFailure, VideoRequest
from assistant.testing import Harness, ScriptedRasa
from tests.conftest import BERLIN, NOW

ROOT = Path(__file__).resolve().parent.parent
OFFLINE_NLU = "http://127.0.0.1:9"  # payloads and names need no NLU
TUE_9 = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)
ORIGIN = book.Origin(channel="test", sender="clerk", language="de")
WRONG = ["Becker", "Wagner", "Hoffmann", "Schulz", "Koch", "Bauer", "Richter", "Neumann",
         "Schwarz", "Zimmermann", "Braun", "Hartmann"]
LOCKED = "gerade keine Auskunft"
NOT_FOUND = "keinen gebuchten Termin"
OFFICE_PHONE = "+49 3521 725-0"
TOKEN = "kiosk-token-0123456789abcdef"


def configured(path: Path = ROOT / "config.yml", **server: Any) -> Config:
    config = load_config(path)
    return config.model_copy(update={"server": config.server.model_copy(update=server)})


async def booked(h: Harness, name: str, start: datetime = TUE_9) -> str:
    a = await book.book_now(h.ctx, service_id="reisepass", office_id="riesa", start=start,
                            citizen=book.Citizen(name), origin=ORIGIN)
    assert a is not None
    return a.reference


async def rest(client: TestClient, sender: str, text: str, ip: str | None = None,
               **headers: str) -> tuple[int, Any, dict[str, str]]:
    if ip:
        headers["X-Forwarded-For"] = ip
    resp = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text},
                             headers=headers)
    return resp.status, await resp.json(), dict(resp.headers)


def joined(body: Any) -> str:
    return "\n".join(m["text"] for m in body)


async def check_by_rest(client: TestClient, sender: str, reference: str, name: str,
                        ip: str | None = None) -> str:
    payload = f'/check_appointment{{"reference": "{reference}"}}'
    status, body, _ = await rest(client, sender, payload, ip)
    assert status == 200 and "Nachname" in joined(body), body
    status, body, _ = await rest(client, sender, name, ip)
    assert status == 200, body
    return joined(body)


async def lockouts(h: Harness) -> list[str]:
    async with h.ctx.db() as session:
        return list(await session.scalars(
            select(Event.kind).where(Event.kind.like("lockout_%")).order_by(Event.id)))


# -- 3. guessing last names ---------------------------------------------------------------


async def test_a_new_sender_per_guess_does_not_get_past_the_reference_limit() -> None:
    async with Harness(configured(), nlu_url=OFFLINE_NLU, now=NOW) as h:
        target = await booked(h, "Anna Schmidt")
        neighbour = await booked(h, "Karl Krause", TUE_9 + timedelta(hours=1))
        client = await h.http()
        answers = [await check_by_rest(client, f"guess-{i}", target, name)
                   for i, name in enumerate([*WRONG, "Schmidt"])]
        assert all(NOT_FOUND in a for a in answers[:5]), answers
        # From the sixth try on, every answer is the same, the right name included: nothing
        # about the appointment, the office's phone number instead.
        assert all(LOCKED in a and OFFICE_PHONE in a for a in answers[5:]), answers
        assert "Reisepass" not in answers[-1] and "24. November" not in answers[-1]
        # Only this reference is locked: another citizen behind the same address checks theirs.
        assert "Reisepass" in await check_by_rest(client, "neighbour", neighbour, "Krause")
        # The lockout is recorded once, without reference, name or address.
        assert await lockouts(h) == ["lockout_reference"]
        async with h.ctx.db() as session:
            keys = list(await session.scalars(select(VerificationFailure.sender_key)))
        assert not any(target in k or "127.0.0.1" in k for k in keys)


async def test_guesses_from_one_address_are_limited_across_references() -> None:
    config = configured(verification_failures_per_client=3, trusted_proxies=["127.0.0.1"])
    async with Harness(config, nlu_url=OFFLINE_NLU, now=NOW) as h:
        reference = await booked(h, "Anna Schmidt")
        client = await h.http()
        for i in range(3):  # three unknown codes, each from a new sender id
            other = references.new_reference()
            assert NOT_FOUND in await check_by_rest(client, f"probe-{i}", other, "Schmidt",
                                                    ip="203.0.113.7")
        locked = await check_by_rest(client, "probe-x", reference, "Schmidt", ip="203.0.113.7")
        assert LOCKED in locked and "Reisepass" not in locked
        # The citizen at another address is not affected.
        assert "Reisepass" in await check_by_rest(client, "anna", reference, "Schmidt",
                                                  ip="198.51.100.20")
        assert await lockouts(h) == ["lockout_client"]


async def test_all_failures_together_are_limited_too() -> None:
    async with Harness(configured(verification_failures_global=4), nlu_url=OFFLINE_NLU,
                       now=NOW) as h:
        reference = await booked(h, "Anna Schmidt")
        for i in range(4):
            ip = {"client_ip": f"192.0.2.{i}"}
            await h.say(f'/check_appointment{{"reference": "{references.new_reference()}"}}',
                        sender=f"s{i}", metadata=ip)
            assert NOT_FOUND in (await h.say("Schmidt", sender=f"s{i}", metadata=ip))[0].text
        await h.say(f'/check_appointment{{"reference": "{reference}"}}', sender="anna",
                    metadata={"client_ip": "192.0.2.99"})
        [reply, *_] = await h.say("Schmidt", sender="anna", metadata={"client_ip": "192.0.2.99"})
        assert reply.key == "manage.locked"
        assert await lockouts(h) == ["lockout_global"]
        h.clock.advance(minutes=h.ctx.config.booking.verification_window_minutes + 1)
        await h.say(f'/check_appointment{{"reference": "{reference}"}}', sender="anna")
        [found, *_] = await h.say("Schmidt", sender="anna")
        assert found.key == "manage.found"  # the lock ends with the window


# -- 4. flooding --------------------------------------------------------------------------


async def test_two_hundred_new_senders_from_one_address_are_not_all_answered() -> None:
    async with Harness(configured(trusted_proxies=["127.0.0.1/32"]), nlu_url=OFFLINE_NLU,
                       now=NOW) as h:
        client = await h.http()
        limit = h.ctx.config.server.rate_limit_per_ip_per_minute
        results = [await rest(client, f"flood-{i}", "/greet", ip="203.0.113.7")
                   for i in range(200)]
        statuses = [status for status, _, _ in results]
        assert statuses == [200] * limit + [429] * (200 - limit)
        _, body, headers = results[-1]
        assert body["error"] == "rate_limited"
        assert 1 <= int(headers["Retry-After"]) <= 60 and body["retry_after"] == int(
            headers["Retry-After"])
        status, _, _ = await rest(client, "someone-else", "/greet", ip="198.51.100.20")
        assert status == 200  # other addresses are answered


async def test_the_global_limit_holds_across_addresses() -> None:
    config = configured(trusted_proxies=["127.0.0.1"], rate_limit_global_per_minute=4)
    async with Harness(config, nlu_url=OFFLINE_NLU, now=NOW) as h:
        client = await h.http()
        statuses = [(await rest(client, f"s{i}", "/greet", ip=f"192.0.2.{i}"))[0]
                    for i in range(6)]
        assert statuses == [200] * 4 + [429] * 2


async def test_the_open_parse_api_is_limited_per_client_and_in_all() -> None:
    """`POST /api/v1/nlu/parse` needs no token and every call reaches Rasa: past its limit a
    client gets 429 with Retry-After (also for its chat, they count together), other clients
    are answered until all together reach the global limit."""
    config = configured(rate_limit_per_ip_per_minute=3, rate_limit_global_per_minute=6,
                        rate_limit_exempt=[], trusted_proxies=["127.0.0.1"])
    rasa = ScriptedRasa(default="book_appointment")
    async with rasa, Harness(config, nlu_url=rasa.url, now=NOW) as h:
        client = await h.http()

        async def parse(ip: str) -> tuple[int, Any, dict[str, str]]:
            resp = await client.post("/api/v1/nlu/parse", json={"text": "Termin morgen um 10"},
                                     headers={"X-Forwarded-For": ip})
            return resp.status, await resp.json(), dict(resp.headers)

        results = [await parse("203.0.113.7") for _ in range(5)]
        assert [status for status, _, _ in results] == [200, 200, 200, 429, 429]
        assert results[0][1]["intent"]["name"] == "book_appointment"
        _, body, headers = results[-1]
        assert body["error"] == "rate_limited" and 1 <= body["retry_after"] <= 60
        assert headers["Retry-After"] == str(body["retry_after"])
        assert len(rasa.received) == 3  # the refused requests never reached Rasa
        status, _, _ = await rest(client, "same-client", "/greet", ip="203.0.113.7")
        assert status == 429
        others = [(await parse(f"198.51.100.{i}"))[0] for i in range(4)]
        assert others == [200, 200, 200, 429]  # six answered in all: the global limit
    assert "429" in SPEC["paths"]["/api/v1/nlu/parse"]["post"]["responses"]


def test_x_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    def request(peer: str, xff: str | None = None) -> Any:
        class Transport:
            def get_extra_info(self, name: str, default: Any = None) -> Any:
                return (peer, 44321) if name == "peername" else default

        headers = {"X-Forwarded-For": xff} if xff else {}
        return make_mocked_request("POST", "/webhooks/rest/webhook", headers=headers,
                                   transport=Transport())

    proxies = ["10.0.0.0/8"]
    assert client_address(request("203.0.113.9", "1.2.3.4"), proxies) == "203.0.113.9"
    assert client_address(request("10.0.0.5", "198.51.100.7"), proxies) == "198.51.100.7"
    # A client's own left part of the header is not believed, only what the proxies added.
    assert client_address(request("10.0.0.5", "1.2.3.4, 198.51.100.7, 10.0.0.9"),
                          proxies) == "198.51.100.7"
    assert client_address(request("10.0.0.5"), proxies) == "10.0.0.5"
    assert client_address(request("10.0.0.5", "garbage, 198.51.100.7"), proxies) == (
        "198.51.100.7")
    assert client_address(request("10.0.0.5", "198.51.100.7, garbage"), proxies) == "10.0.0.5"
    assert client_address(request("::ffff:203.0.113.9", "1.2.3.4"), proxies) == "203.0.113.9"


async def test_x_forwarded_for_from_an_untrusted_peer_does_not_buy_new_limits() -> None:
    untrusted = configured(rate_limit_per_ip_per_minute=3, rate_limit_exempt=[])
    async with Harness(untrusted, nlu_url=OFFLINE_NLU, now=NOW) as h:
        client = await h.http()
        statuses = [(await rest(client, f"s{i}", "/greet", ip=f"192.0.2.{i}"))[0]
                    for i in range(5)]
        assert statuses == [200, 200, 200, 429, 429]  # all counted as 127.0.0.1
    trusted = configured(rate_limit_per_ip_per_minute=3, rate_limit_exempt=[],
                         trusted_proxies=["127.0.0.1"])
    async with Harness(trusted, nlu_url=OFFLINE_NLU, now=NOW) as h:
        client = await h.http()
        statuses = [(await rest(client, f"s{i}", "/greet", ip=f"192.0.2.{i}"))[0]
                    for i in range(5)]
        assert statuses == [200] * 5  # five citizens behind our proxy


async def test_a_kiosk_with_its_token_has_its_own_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSBOTE_KIOSK_TOKENS", f"foyer={TOKEN},short=abc")
    config = configured(rate_limit_per_ip_per_minute=3, rate_limit_per_kiosk_per_minute=6,
                        rate_limit_exempt=[])
    async with Harness(config, nlu_url=OFFLINE_NLU, now=NOW) as h:
        client = await h.http()
        plain = [(await rest(client, f"p{i}", "/greet"))[0] for i in range(4)]
        assert plain == [200, 200, 200, 429]  # the office's address is used up
        kiosk = {"X-Amtsbote-Terminal": TOKEN}
        assert [(await rest(client, f"k{i}", "/greet", **kiosk))[0] for i in range(5)] == (
            [200] * 5)
        # A wrong (or too short) token is just the address.
        assert (await rest(client, "w", "/greet", **{"X-Amtsbote-Terminal": "abc"}))[0] == 429
        # The kiosk page keeps the token in a cookie and drops it from the address.
        page = await client.get(f"/kiosk?terminal={TOKEN}&lang=en", allow_redirects=False)
        assert page.status == 303 and page.headers["Location"] == "/kiosk?lang=en"
        cookie = page.cookies["amtsbote_terminal"]
        assert cookie.value == TOKEN and cookie["httponly"] and cookie["samesite"] == "Strict"
        chat = await client.post("/webchat/message", json={"text": "/greet"},
                                 headers={"Cookie": f"amtsbote_terminal={TOKEN}"})
        assert chat.status == 200  # the sixth message of the kiosk
        status, _, headers = await rest(client, "k9", "/greet", **kiosk)
        assert status == 429 and "Retry-After" in headers
        unknown = await client.get("/kiosk?terminal=nope", allow_redirects=False)
        assert unknown.status == 303 and "amtsbote_terminal" not in unknown.cookies


async def test_the_web_chat_answers_a_flood_politely_with_retry_after() -> None:
    config = configured(rate_limit_per_ip_per_minute=2, rate_limit_exempt=[])
    async with Harness(config, nlu_url=OFFLINE_NLU, now=NOW) as h:
        client = await h.http()
        ws = await client.ws_connect("/webchat/ws")
        await ws.send_json({"type": "hello", "mode": "page", "language": "de"})
        assert (await ws.receive_json(timeout=5))["type"] == "ready"
        frames = []
        for i in range(3):
            await ws.send_json({"type": "message", "id": f"m{i}", "text": "/greet"})
            frame = await ws.receive_json(timeout=15)
            while frame["type"] == "typing":
                frame = await ws.receive_json(timeout=15)
            frames.append(frame)
        assert [f["type"] for f in frames] == ["reply", "reply", "error"]
        refused = frames[-1]
        assert refused["code"] == "rate_limited" and refused["id"] == "m2"
        assert "Moment" in refused["text"] and 1 <= refused["retry_after"] <= 60
        await ws.close()
        flood = await client.post("/webchat/message", json={"text": "/greet"})
        body = await flood.json()
        assert flood.status == 429 and "Moment" in body["text"]
        assert int(flood.headers["Retry-After"]) == body["retry_after"]


async def staff_requests(h: Harness) -> list[VideoRequest]:
    async with h.ctx.db() as session:
        return list(await session.scalars(select(VideoRequest).order_by(VideoRequest.id)))


async def test_requests_for_a_person_are_merged_per_conversation_and_contact() -> None:
    async with Harness(configured(trusted_proxies=["127.0.0.1"]), nlu_url=OFFLINE_NLU,
                       now=NOW) as h:
        client = await h.http()
        offices = len(h.ctx.config.offices)
        for i in range(20):  # one client, a new sender id each time
            status, body, _ = await rest(client, f"new-{i}", "/request_human", ip="203.0.113.7")
            assert status == 200 and OFFICE_PHONE in joined(body)
        assert len(await staff_requests(h)) == 1
        assert len(h.channel.notices) == offices  # one notice (to every office), not twenty
        for _ in range(20):  # one conversation, no address known (a messenger)
            await h.say("/request_human", sender="anna")
        assert len(await staff_requests(h)) == 2
        await rest(client, "elsewhere", "/request_human", ip="198.51.100.20")
        assert len(await staff_requests(h)) == 3
        # A request older than the window is not merged into.
        h.clock.advance(minutes=h.ctx.config.server.staff_request_dedup_minutes + 1)
        await h.say("/request_human", sender="anna")
        requests = await staff_requests(h)
        assert len(requests) == 4 and len(h.channel.notices) == 4 * offices
        assert [r.conversation_key is None for r in requests] == [True, True, True, False]
        async with h.ctx.db() as session:
            escalated = await session.scalar(select(func.count()).select_from(Event).where(
                Event.kind == "escalated_human"))
        assert escalated == 4


@pytest.mark.postgres
async def test_concurrent_guesses_and_requests_do_not_slip_past_the_limits(pg_url: str) -> None:
    async with Harness(configured(), database_url=pg_url, nlu_url=OFFLINE_NLU, now=NOW) as h:
        reference = await booked(h, "Anna Schmidt")
        results = await asyncio.gather(*(
            check.lookup(h.ctx, reference, name, book.Origin(channel="rest", sender=f"s{i}",
                                                             language="de"))
            for i, name in enumerate([*WRONG, "Schmidt"] * 2)))
        # 26 guesses at once (the right name among them): five get an answer, all "not found".
        assert sum(not r.throttled for r in results) == 5
        assert not any(r.appointment for r in results)
        assert (await check.lookup(h.ctx, reference, "Schmidt", ORIGIN)).throttled
        ids = await asyncio.gather(*(
            escalate.request_staff(h.ctx, book.Origin(channel="rest", sender="same",
                                                      language="de"),
                                   kind="human", office_id=None, service_id=None, notice="x")
            for _ in range(10)))
        assert len(set(ids)) == 1
