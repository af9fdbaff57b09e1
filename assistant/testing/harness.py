"""The harness: the real application on a throwaway database, with a test channel.

    async with Harness(nlu_url=rasa_url) as h:
        replies = await h.say("Ich brauche einen Perso in Riesa", sender="anna")
        await h.click(replies[-1].buttons[0], sender="anna")

`Harness` builds the real application on a fresh SQLite file (or `database_url`), with a
movable clock (pinned at `now`, by default Monday 23 November 2026, 09:00 in Berlin; or, with
`wall_clock=True`, following the system clock), and registers `RecordingChannel`: a channel
plugin named `test` that keeps what `deliver` and `staff_notice` were asked to send. A plugin
author adds their own plugin object through `plugins=[...]` and drives it through the same
harness.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer

from assistant.app import build_context, start, stop
from assistant.config import Config, load_config
from assistant.context import Clock, Context
from assistant.hookspecs import hookimpl
from assistant.http.app import create_app
from assistant.messages import Button, Incoming, Reply

# The source checkout: its config.yml is the default configuration.
ROOT = Path(__file__).resolve().parents[2]
BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)


@dataclass
class RecordingChannel:
    """Channel plugin `test`: records proactive messages and staff notices."""

    name: str = "test"
    delivered: list[tuple[str, list[Reply]]] = field(default_factory=list)
    notices: list[tuple[str, str, str]] = field(default_factory=list)

    @hookimpl
    def deliver(self, ctx: Context, channel: str, recipient: str, replies: list[Reply]):  # type: ignore[no-untyped-def]
        if channel != self.name:
            return None

        async def send() -> bool:
            self.delivered.append((recipient, replies))
            return True

        return send()

    @hookimpl
    def staff_notice(self, ctx: Context, office: Any, kind: str, text: str) -> None:
        self.notices.append((office.id, kind, text))


class Harness:
    def __init__(
        self,
        config: Config | str | Path | None = None,
        *,
        nlu_url: str | None = None,
        database_url: str | None = None,
        now: datetime | None = None,
        wall_clock: bool = False,
        plugins: list[Any] | None = None,
        channel: str = "test",
        run_outbox: bool = False,
    ) -> None:
        self._config = config
        self.nlu_url = nlu_url
        self.database_url = database_url
        if wall_clock and now is not None:
            raise ValueError("Harness: give `now` or `wall_clock=True`, not both")
        self.clock = Clock(None if wall_clock else now or DEFAULT_NOW)
        self.channel = RecordingChannel()
        self.plugins = [self.channel, *(plugins or [])]
        self.channel_name = channel
        self.run_outbox = run_outbox
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ctx: Context
        self.client: TestClient | None = None

    async def __aenter__(self) -> Harness:
        cfg = self._config
        config = cfg if isinstance(cfg, Config) else load_config(cfg or ROOT / "config.yml")
        url = self.database_url
        if url is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="amtsbote-test-")
            url = f"sqlite+aiosqlite:///{self._tmp.name}/test.sqlite3"
        self.ctx = await build_context(config, database_url=url, nlu_url=self.nlu_url,
                                       clock=self.clock, extra_plugins=self.plugins)
        await start(self.ctx, run_outbox=self.run_outbox)
        return self

    async def http(self) -> TestClient:
        """An aiohttp test client for the full web app (channels' routes included)."""
        if self.client is None:
            server = TestServer(create_app(self.ctx, manage_lifecycle=False))
            self.client = TestClient(server)
            await self.client.start_server()
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.close()
        await stop(self.ctx)
        if self._tmp is not None:
            self._tmp.cleanup()

    async def say(self, text: str, sender: str = "citizen", **kw: Any) -> list[Reply]:
        return await self.ctx.dialogue.handle(
            Incoming(channel=kw.pop("channel", self.channel_name), sender=sender, text=text, **kw)
        )

    async def click(self, button: Button, sender: str = "citizen") -> list[Reply]:
        return await self.say(button.payload, sender=sender)

    async def run_outbox_now(self) -> int:
        return await self.ctx.outbox.run_due()


def texts(replies: list[Reply]) -> str:
    """All reply texts joined, for assertions."""
    return "\n".join(r.text for r in replies)


def buttons(replies: list[Reply]) -> list[Button]:
    return [b for r in replies for b in r.buttons]


def button(replies: list[Reply], title_part: str) -> Button:
    """The first button whose title contains `title_part` (case-insensitive)."""
    for b in buttons(replies):
        if title_part.casefold() in b.title.casefold():
            return b
    raise AssertionError(f"no button with {title_part!r} in {[b.title for b in buttons(replies)]}")
