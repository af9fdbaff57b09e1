"""Amtsbote with the Telegram channel on, against the Bot API stand-in (FakeTelegram)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from assistant.http.app import create_app
from assistant.testing import DEFAULT_NOW, Harness, free_port
from assistant.testing.peers.telegram_api import FakeTelegram

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "telegram.yml"
OFFLINE_NLU = "http://127.0.0.1:9"
SECRET = "T3st-webhook_secret-for-amtsbote"
STAFF_CHAT = -1001000000001
RIESA_CHAT = -1001000000002


@asynccontextmanager
async def running(tg: FakeTelegram, monkeypatch: pytest.MonkeyPatch, *, mode: str = "webhook",
                  nlu_url: str = OFFLINE_NLU, database_url: str | None = None,
                  api_url: str | None = None, **env: str) -> AsyncIterator[Harness]:
    """Amtsbote with the Telegram channel on, its web app listening where the webhook points."""
    port = free_port()
    monkeypatch.setenv("TELEGRAM_TOKEN", tg.token)
    monkeypatch.setenv("TELEGRAM_API_URL", api_url or tg.url)
    monkeypatch.setenv("TELEGRAM_MODE", mode)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", f"http://127.0.0.1:{port}/webhooks/telegram")
    monkeypatch.setenv("TELEGRAM_STAFF_CHAT_ID", str(STAFF_CHAT))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    async with Harness(config=CONFIG, nlu_url=nlu_url, now=DEFAULT_NOW,
                       database_url=database_url) as h:
        server = None
        if mode == "webhook":
            server = TestServer(create_app(h.ctx, manage_lifecycle=False), host="127.0.0.1",
                                port=port)
            await server.start_server()
        try:
            yield h
        finally:
            if server is not None:
                await server.close()


async def say(tg: FakeTelegram, chat: int, update: dict[str, Any]) -> list[dict[str, Any]]:
    """Deliver one update by webhook; the messages the bot sent in answer."""
    before = len(tg.messages(chat))
    assert await tg.push(update) == 200
    return tg.messages(chat)[before:]


def text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)
