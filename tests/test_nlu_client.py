"""When Rasa is down, slow or broken, parsing fails fast with NLUUnavailable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from assistant.nlu.client import NLUUnavailable, RasaClient
from assistant.testing import serve

CLOSED_PORT_URL = "http://127.0.0.1:9"


@dataclass
class FakeRasa:
    """A stand-in HTTP server whose behaviour the test switches: ok, slow or failing."""

    url: str = ""
    mode: str = "ok"
    calls: int = 0
    texts: list[str] = field(default_factory=list)

    async def parse(self, request: web.Request) -> web.Response:
        self.calls += 1
        self.texts.append((await request.json())["text"])
        if self.mode == "slow":
            await asyncio.sleep(2)
        if self.mode in ("error", "fail_once"):
            if self.mode == "fail_once":
                self.mode = "ok"
            return web.Response(status=500, text="boom")
        return web.json_response({"text": "x", "intent": {"name": "greet", "confidence": 0.9},
                                  "intent_ranking": [], "entities": []})


@pytest.fixture
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    fake = FakeRasa()
    app = web.Application()
    app.router.add_post("/model/parse", fake.parse)
    async with serve(app) as fake.url:
        yield fake


async def test_parse_returns_rasa_json(fake_rasa: FakeRasa) -> None:
    client = RasaClient(fake_rasa.url)
    try:
        assert (await client.parse_raw("Hallo"))["intent"]["name"] == "greet"
        assert fake_rasa.texts == ["Hallo"]
    finally:
        await client.close()


async def test_rasa_down_fails_fast_and_opens_the_breaker() -> None:
    client = RasaClient(CLOSED_PORT_URL, timeout_seconds=1, retries=1, breaker_failures=2,
                        breaker_seconds=60)
    try:
        started = time.monotonic()
        for _ in range(2):
            with pytest.raises(NLUUnavailable):
                await client.parse_raw("Hallo")
        assert client.breaker_open
        with pytest.raises(NLUUnavailable, match="not asking"):
            await client.parse_raw("Hallo")
        assert time.monotonic() - started < 2
    finally:
        await client.close()


async def test_slow_rasa_times_out(fake_rasa: FakeRasa) -> None:
    fake_rasa.mode = "slow"
    client = RasaClient(fake_rasa.url, timeout_seconds=0.3, retries=0)
    try:
        started = time.monotonic()
        with pytest.raises(NLUUnavailable):
            await client.parse_raw("Hallo")
        assert time.monotonic() - started < 1.5
    finally:
        await client.close()


async def test_breaker_skips_rasa_then_probes_again(fake_rasa: FakeRasa) -> None:
    fake_rasa.mode = "error"
    client = RasaClient(fake_rasa.url, retries=0, breaker_failures=2, breaker_seconds=0.5)
    try:
        for _ in range(3):
            with pytest.raises(NLUUnavailable):
                await client.parse_raw("Hallo")
        assert fake_rasa.calls == 2  # the third call never reached Rasa
        fake_rasa.mode = "ok"
        await asyncio.sleep(0.6)
        assert (await client.parse_raw("Hallo"))["intent"]["name"] == "greet"
        assert not client.breaker_open
    finally:
        await client.close()


async def test_a_retry_hides_one_failure(fake_rasa: FakeRasa) -> None:
    fake_rasa.mode = "fail_once"
    client = RasaClient(fake_rasa.url, retries=1)
    try:
        assert (await client.parse_raw("Hallo"))["intent"]["name"] == "greet"
        assert fake_rasa.calls == 2
    finally:
        await client.close()
