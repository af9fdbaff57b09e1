"""Engine, sessions and Alembic migrations (applied at start-up and by `amtsbote db upgrade`)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).with_name("migrations")


def create_engine(url: str, echo: bool = False) -> AsyncEngine:
    """The engine for `url`. Bound parameters never appear in SQLAlchemy's errors or its
    log (`hide_parameters`): they carry citizens' names, phone numbers and e-mail addresses."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # aiosqlite's debug lines show every statement's parameters and every row returned.
        logging.getLogger("aiosqlite").setLevel(max(logging.INFO,
                                                    logging.getLogger("aiosqlite").level))
        engine = create_async_engine(url, echo=echo, hide_parameters=True,
                                     connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "do_connect")
        def _folder(*_: object) -> None:
            # Only when connecting: an engine a command never uses leaves no folder behind.
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)

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
    return create_async_engine(url, echo=echo, hide_parameters=True, pool_size=20,
                               max_overflow=40, pool_pre_ping=True)


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
    in throughput. PostgreSQL sessions are not gated.
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
            await self._session.__aexit__(*exc)  # type: ignore[arg-type]
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
