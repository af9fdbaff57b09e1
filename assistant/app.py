"""Assembling a running Amtsbote: config -> plugins -> database -> NLU -> dialogue -> outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from assistant.config import Config
from assistant.context import Context
from assistant.nlu import language
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
    return Context(config=config, pm=pm, engine=engine, db=db.sessionmaker(engine),
                   clock=clock, nlu_url=nlu_url)  # type: ignore[arg-type]


async def start(ctx: Context, run_outbox: bool = True) -> None:
    # Load the language models now, not on the first citizen's message (about a second).
    await asyncio.to_thread(language.load_models)
    await ctx.call_all("startup", ctx=ctx)
    if run_outbox:
        ctx.outbox.start()


async def stop(ctx: Context) -> None:
    await ctx.outbox.stop()
    for result in reversed(ctx.pm.hook.shutdown(ctx=ctx)):
        if result is not None:
            await result
    await ctx.nlu.close()
    await ctx.engine.dispose()
