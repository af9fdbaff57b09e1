"""Serve an aiohttp app on a free loopback port for a test (stand-ins for cloud peers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from assistant.nlu.rasa_runner import free_port


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Yields the app's base URL (`http://127.0.0.1:PORT`) and stops it afterwards."""
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
