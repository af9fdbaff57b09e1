"""Assembling a running Amtsbote: config -> plugins -> database -> NLU -> dialogue -> outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from assistant.config import Config
from assistant.context import Context
from assistant.dialogue.engine import Dialogue
from assistant.nlu import language
from assistant.nlu.client import RasaClient
from assistant.nlu.parse import NLU
from assistant.outbox import Outbox
from assistant.outbox_handlers import register_core_handlers
from assistant.plugins import create_manager
from assistant.storage import db


async def build_context(
    config: Config,
    *,
    database_url: str | None = None,
    nlu_url: str | None = None,
    clock: Callable[[], datetime] | None = None,
    extra_plugins: list[Any] | None = None,
    migrate: bool = True,
) -> Context:
    """Everything but the HTTP server; plugins' `startup` runs in `start(ctx)`. Without `clock`,
    the context runs on the system clock."""
    pm = create_manager(config, extra_plugins)
    url = database_url or config.storage.url
    if migrate:
        await db.upgrade(url)
    engine = db.create_engine(url, echo=config.storage.echo)
    ctx = Context(config=config, pm=pm, engine=engine, db=db.sessionmaker(engine))
    if clock is not None:
        ctx.clock = clock
    n = config.nlu
    client = RasaClient(nlu_url or n.url, timeout_seconds=n.timeout_seconds, retries=n.retries,
                        breaker_failures=n.breaker_failures, breaker_seconds=n.breaker_seconds)
    ctx.nlu = NLU(config, client)
    ctx.dialogue = Dialogue(ctx, [f for flows in pm.hook.register_flows() for f in flows])
    ctx.outbox = Outbox(ctx)
    register_core_handlers(ctx.outbox)
    return ctx


async def start(ctx: Context, run_outbox: bool = True) -> None:
    # Load the language models now, not on the first citizen's message (about a second).
    await asyncio.to_thread(language.load_models)
    await ctx.call_all("startup", ctx=ctx)
    if run_outbox and ctx.outbox:
        ctx.outbox.start()


async def stop(ctx: Context) -> None:
    if ctx.outbox:
        await ctx.outbox.stop()
    for result in reversed(ctx.pm.hook.shutdown(ctx=ctx)):
        if result is not None:
            await result
    if ctx.nlu:
        await ctx.nlu.close()
    await ctx.engine.dispose()
