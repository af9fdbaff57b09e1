"""aiosqlite's connection, run on the event loop's own thread instead of a thread of its own.

aiosqlite hands every call (execute, fetch, commit) to a worker thread and back: thread
switches, the GIL passed to and fro, and a turn of the event loop per call, behind every
other request's work. SQLite answers these calls in microseconds, and one session at a time
holds the database anyway (`db._Gate`), so the hand-over cost far more than the work and the
next session waited at the gate meanwhile (issue 13: 175 ms of a message's 190 ms).

Here the same calls run inline: a session goes from start to close without giving up the
loop unless it awaits something else. Another process writing the same file (a CLI command)
can make a write wait in SQLite's busy handler, which then holds up this process for that
moment; the server itself is one process on SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    """`aiosqlite.Connection` whose calls run where they are awaited."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()  # no worker thread to start

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()
