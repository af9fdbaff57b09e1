"""The running application: config, database, hooks, clock, NLU and dialogue in one object.

Plugins receive it as `ctx` in every hook. Tests build one with `assistant.testing.Harness`.

One clock: every "now" in Amtsbote is `ctx.now()`. This module is the only place that reads
the wall clock (`utcnow`, and `Clock` when it follows the system time); tests/test_clock.py
fails on any other read of it in assistant/, actions/, channels/ and plugins/.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from assistant.config import Config
from assistant.plugins import settings_of
from assistant.storage.models import Delivery, PluginState

if TYPE_CHECKING:
    from assistant.dialogue.engine import Dialogue
    from assistant.nlu.parse import NLU
    from assistant.outbox import Outbox


def utcnow() -> datetime:
    """The system clock (aware, UTC): the context's default clock. Elsewhere use `ctx.now()`."""
    return datetime.now(UTC)


class Clock:
    """A clock tests can set and move: pinned at `start` (aware), or, with `start=None`,
    following the system clock. `advance(...)` moves it either way; setting `now` pins it."""

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("Clock needs an aware datetime")
        self._pinned = start
        self._offset = timedelta(0)

    @property
    def follows_system(self) -> bool:
        return self._pinned is None

    @property
    def now(self) -> datetime:
        return (self._pinned if self._pinned is not None else utcnow()) + self._offset

    @now.setter
    def now(self, value: datetime) -> None:
        self._pinned, self._offset = value, timedelta(0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self._offset += timedelta(**delta)


async def await_all(results: list[Any]) -> list[Any]:
    """Await the awaitables a hook returned (pluggy itself is synchronous)."""
    out = []
    for r in results:
        out.append(await r if inspect.isawaitable(r) else r)
    return out


async def await_first(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


@dataclass
class Context:
    """Complete when constructed: the NLU client, the dialogue (with the flows the plugins
    register) and the outbox (with the core's handlers) are built here, not filled in later;
    `assistant.app.start` starts what runs in the background."""

    config: Config
    pm: pluggy.PluginManager
    engine: AsyncEngine
    db: async_sessionmaker
    clock: Callable[[], datetime] = utcnow
    nlu_url: InitVar[str | None] = None
    nlu: NLU = field(init=False)
    dialogue: Dialogue = field(init=False)
    outbox: Outbox = field(init=False)
    _settings: dict[str, BaseModel | None] = field(default_factory=dict)

    def __post_init__(self, nlu_url: str | None) -> None:
        # Imported here: these modules take the context as their argument.
        from assistant.dialogue.engine import Dialogue
        from assistant.nlu.client import RasaClient
        from assistant.nlu.parse import NLU
        from assistant.outbox import Outbox
        from assistant.outbox_handlers import register_core_handlers

        self.clock = self.clock or utcnow  # None: the system clock
        n = self.config.nlu
        client = RasaClient(nlu_url or n.url, timeout_seconds=n.timeout_seconds,
                            retries=n.retries, breaker_failures=n.breaker_failures,
                            breaker_seconds=n.breaker_seconds)
        self.nlu = NLU(self.config, client)
        self.dialogue = Dialogue(self, [f for flows in self.pm.hook.register_flows()
                                        for f in flows])
        self.outbox = Outbox(self)
        register_core_handlers(self.outbox)

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def now(self) -> datetime:
        return self.clock()

    def settings(self, name: str) -> Any:
        """The validated settings model of plugin `name` (None if it declares none)."""
        if name not in self._settings:
            self._settings[name] = settings_of(self.pm, self.config, name)
        return self._settings[name]

    def enabled(self, name: str) -> bool:
        return name in self.config.enabled_plugins()

    async def call_all(self, hook: str, **kwargs: Any) -> list[Any]:
        return await await_all(getattr(self.pm.hook, hook)(**kwargs))

    async def call_first(self, hook: str, **kwargs: Any) -> Any:
        return await await_first(getattr(self.pm.hook, hook)(**kwargs))

    # -- webhook deduplication ------------------------------------------------------------------
    async def first_delivery(self, channel: str, delivery_id: str) -> bool:
        """Record a webhook delivery; False if it was seen before (handle it only once)."""
        async with self.db() as session:
            session.add(Delivery(channel=channel, delivery_id=delivery_id, at=self.now()))
            try:
                await session.commit()
            except IntegrityError:
                return False
        return True

    async def delivery_response(self, channel: str, delivery_id: str) -> dict[str, Any] | None:
        async with self.db() as session:
            row = await session.scalar(
                select(Delivery).where(
                    Delivery.channel == channel, Delivery.delivery_id == delivery_id
                )
            )
            return row.response if row else None

    async def store_delivery_response(
        self, channel: str, delivery_id: str, response: dict[str, Any]
    ) -> None:
        async with self.db() as session:
            row = await session.scalar(
                select(Delivery).where(
                    Delivery.channel == channel, Delivery.delivery_id == delivery_id
                )
            )
            if row is not None:
                row.response = response
                await session.commit()

    async def forget_deliveries(self, before: datetime) -> None:
        async with self.db() as session:
            await session.execute(delete(Delivery).where(Delivery.at < before))
            await session.commit()

    # -- small persistent plugin values ---------------------------------------------------------
    async def get_state(self, plugin: str, key: str) -> dict[str, Any] | None:
        async with self.db() as session:
            row = await session.get(PluginState, (plugin, key))
            return row.value if row else None

    async def delete_state(self, plugin: str, key: str) -> None:
        async with self.db() as session:
            await session.execute(
                delete(PluginState).where(PluginState.plugin == plugin, PluginState.key == key))
            await session.commit()

    async def set_state(self, plugin: str, key: str, value: dict[str, Any]) -> None:
        async with self.db() as session:
            row = await session.get(PluginState, (plugin, key))
            if row is None:
                session.add(PluginState(plugin=plugin, key=key, value=value, updated_at=self.now()))
            else:
                row.value = value
                row.updated_at = self.now()
            await session.commit()


@asynccontextmanager
async def command_context(
    config: Config, *, migrate: bool = False, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[Context]:
    """The context of a one-off command (stats, retention, checks, previews): config, plugins,
    database and clock; NLU, dialogue and outbox are there but not started, nor are the
    plugins. The database is connected only if the command uses it (and migrated first with
    `migrate=True`)."""
    from assistant.plugins import create_manager
    from assistant.storage import db

    if migrate:
        await db.upgrade(config.storage.url)
    engine = db.create_engine(config.storage.url, echo=config.storage.echo)
    ctx = Context(config=config, pm=create_manager(config), engine=engine,
                  db=db.sessionmaker(engine), clock=clock)  # type: ignore[arg-type]
    try:
        yield ctx
    finally:
        await ctx.nlu.close()
        await engine.dispose()
