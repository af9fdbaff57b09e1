"""Engine, sessions and Alembic migrations (applied at start-up and by `amtsbote db upgrade`)."""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import time
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Table, event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from assistant.storage.sqlite_inline import InlineConnection

MIGRATIONS = Path(__file__).with_name("migrations")
# A pooled PostgreSQL connection idle for longer than this is checked before it is handed out
# (a server restart or a firewall may have closed it). One in use moments ago is not: a
# failure on it is answered 503 and makes the pool drop every connection older than it.
PING_AFTER_IDLE_SECONDS = 2.0


def create_engine(url: str, echo: bool = False) -> AsyncEngine:
    """The engine for `url`. Bound parameters never appear in SQLAlchemy's errors or its
    log (`hide_parameters`): they carry citizens' names, phone numbers and e-mail addresses."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # aiosqlite's debug lines show every statement's parameters and every row returned.
        logging.getLogger("aiosqlite").setLevel(max(logging.INFO,
                                                    logging.getLogger("aiosqlite").level))

        async def connect() -> InlineConnection:
            # Only when connecting: an engine a command never uses leaves no folder behind.
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            args, kwargs = engine.sync_engine.dialect.create_connect_args(parsed)
            kwargs.setdefault("timeout", 30)
            return await InlineConnection(partial(sqlite3.connect, *args, **kwargs))

        # Calls run on the loop's thread (see sqlite_inline); the gate keeps sessions apart.
        engine = create_async_engine(url, echo=echo, hide_parameters=True, async_creator=connect)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL loses no integrity on a crash; it saves an fsync per commit.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_async_engine(url, echo=echo, hide_parameters=True, pool_size=20,
                                 max_overflow=40)

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_since(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # Instead of `pool_pre_ping`, which costs three round trips (BEGIN, a ping,
        # ROLLBACK) on every checkout, also in a burst where connections are busy throughout.
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_conn.ping()
        except Exception as error:  # the pool connects afresh (or raises: 503)
            raise exc.DisconnectionError() from error

    return engine


async def insert_rows(session: AsyncSession, table: Table, rows: list[dict[str, Any]], *,
                      skip_conflicts: bool = False, on: tuple[str, ...] = (),
                      returning: tuple[Any, ...] = ()) -> Any:
    """Insert `rows` (all with the same keys) in one round trip to the database. With
    `skip_conflicts`, `ON CONFLICT [(on)] DO NOTHING`: a row that would break that unique
    constraint (without `on`: any unique or exclusion constraint) is left out, without an
    error that would end the transaction (and without a savepoint). Returns the result (the
    `returning` columns of the rows inserted).

    The statement object is built once per database and use, so SQLAlchemy finds it in its
    compiled cache (VALUES written from the data would be compiled on every call)."""
    statement = _insert(session.get_bind().dialect.name, table, skip_conflicts, on, returning)
    return await session.execute(statement, rows[0] if len(rows) == 1 else rows)


@functools.cache
def _insert(dialect: str, table: Table, skip_conflicts: bool, on: tuple[str, ...],
            returning: tuple[Any, ...]) -> Any:
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    if skip_conflicts:
        ins = ins.on_conflict_do_nothing(index_elements=list(on) or None)
    return ins.returning(*returning) if returning else ins


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    if engine.dialect.name == "sqlite":
        return _OneAtATime(maker)  # type: ignore[return-value]
    return maker


class _Gate:
    """One session at a time, re-entrant within one asyncio task.

    SQLite takes one writer at a time; with several sessions in flight the others wait in
    SQLite's busy handler, which sleeps in growing steps (up to 100 ms) and makes the slowest
    answers slow. Waiting here instead hands the database over the moment it is free. Sessions
    are short (none is held across a call to Rasa or another server), so this costs nothing
    in throughput. The connections run on the loop's own thread (`sqlite_inline`), so a
    session that does not await anything else runs from start to close without a pause, and
    no connection of this process ever waits in the busy handler for another one (which would
    hold up the loop). PostgreSQL sessions are not gated.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0

    async def enter(self) -> None:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            self._depth += 1
            return
        await self._lock.acquire()
        self._owner, self._depth = task, 1

    def leave(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


class _GatedSession:
    def __init__(self, session: AsyncSession, gate: _Gate) -> None:
        self._session, self._gate = session, gate

    async def __aenter__(self) -> AsyncSession:
        await self._gate.enter()
        try:
            return await self._session.__aenter__()
        except BaseException:
            self._gate.leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        try:
            # Not `AsyncSession.__aexit__`, which closes in a task of its own (two turns of
            # the event loop with the gate held) so that a cancellation cannot cut the close
            # short: on the inline connections (sqlite_inline) a close never gives up the
            # loop, so nothing can interrupt it.
            await self._session.close()
        finally:
            self._gate.leave()


class _OneAtATime:
    """An `async_sessionmaker` whose sessions take turns (SQLite)."""

    def __init__(self, maker: async_sessionmaker) -> None:
        self._maker, self._gate = maker, _Gate()

    def __call__(self, **kw: object) -> _GatedSession:
        return _GatedSession(self._maker(**kw), self._gate)

    def __getattr__(self, name: str) -> object:
        return getattr(self._maker, name)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def upgrade(url: str) -> None:
    """Bring the schema to the newest revision (runs Alembic in a worker thread)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
