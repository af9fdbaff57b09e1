"""Migration 0007 (back office): on SQLite and PostgreSQL the migrated schema is exactly the
models' (Alembic finds nothing to add or change), it goes down to 0006 and up again, and
appointments booked before it keep their rows, now with empty visit times."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from assistant.storage.db import alembic_config
from assistant.storage.models import Base

VISIT = {"arrived_at", "started_at", "done_at", "no_show_at"}
STAFF_TABLES = {"staff_users", "staff_sessions", "staff_login_failures", "staff_audit"}


async def _check(url: str) -> None:
    cfg = alembic_config(url)
    await asyncio.to_thread(command.upgrade, cfg, "0006")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO appointments (reference, office_id, service_id, start, \"end\", "
                "counter, mode, status, channel, language, created_at, updated_at) VALUES "
                "('K7QM4P', 'riesa', 'personalausweis', '2026-11-23 09:00:00+00', "
                "'2026-11-23 09:20:00+00', 1, 'in_person', 'booked', 'webchat', 'de', "
                "'2026-11-20 09:00:00+00', '2026-11-20 09:00:00+00')"))
        await asyncio.to_thread(command.upgrade, cfg, "head")
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            row = (await conn.execute(text(
                "SELECT status, arrived_at, started_at, done_at, no_show_at FROM appointments"
                " WHERE reference = 'K7QM4P'"))).one()
        assert diff == []
        assert tables >= STAFF_TABLES
        assert tuple(row) == ("booked", None, None, None, None)
        await asyncio.to_thread(command.downgrade, cfg, "0006")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            columns = await conn.run_sync(lambda sync: {
                c["name"] for c in inspect(sync).get_columns("appointments")})
        assert not STAFF_TABLES & tables and not VISIT & columns
        await asyncio.to_thread(command.upgrade, cfg, "head")
    finally:
        await engine.dispose()


async def test_sqlite(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path}/m.sqlite3")


@pytest.mark.postgres
async def test_postgresql(pg_url: str) -> None:
    await _check(pg_url)
