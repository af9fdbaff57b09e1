"""Loopback ports and servers for tests: `free_port`, `free_socket`, `serve(app)`."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

# The one free_port: the Rasa runner needs it outside the tests too.
from assistant.nlu.rasa_runner import free_port

__all__ = ["free_port", "free_socket", "serve"]


def free_socket() -> socket.socket:
    """A socket bound to a free loopback port and kept open (no race for the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(app: web.Application, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (on `sock` if given); yields its base URL
    (`http://127.0.0.1:PORT`) and stops the server afterwards."""
    sock = sock or free_socket()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
