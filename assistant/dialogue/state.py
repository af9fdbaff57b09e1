"""Conversation state per channel + sender, kept in the database.

It survives restarts and is shared by several worker processes: on PostgreSQL the row is
locked (`SELECT … FOR UPDATE`) for the whole turn, so two messages of one citizen arriving at
two workers are handled one after the other. Within one process an asyncio lock does the same,
and is all SQLite needs (one process): there the state is read and written in two short
transactions, so no connection is held while Rasa is asked.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assistant.storage.models import Conversation

_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


def _lock(key: tuple[str, str]) -> asyncio.Lock:
    lock = _locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        _locks[key] = lock
    return lock


class Turn:
    """The state of one conversation during one message; `save()` writes it back."""

    def __init__(self, db: async_sessionmaker, session: AsyncSession | None,
                 row: Conversation) -> None:
        self.db = db
        self.session = session  # held (and row-locked) for the turn on PostgreSQL
        self.row = row
        self.state: dict[str, Any] = dict(row.state or {})

    async def save(self, now: datetime) -> None:
        if self.session is not None:
            self.row.state = self.state
            self.row.updated_at = now
            await self.session.commit()
            return
        async with self.db() as session:
            row = await session.get(Conversation, (self.row.channel, self.row.sender))
            assert row is not None
            row.state = self.state
            row.updated_at = now
            await session.commit()


@asynccontextmanager
async def conversation(
    db: async_sessionmaker, channel: str, sender: str, now: datetime
) -> AsyncIterator[Turn]:
    async with _lock((channel, sender)):
        sqlite = False
        async with db() as session:
            row = await _load(session, channel, sender, now)
            if session.bind.dialect.name == "sqlite":
                sqlite = True
                await session.commit()
                session.expunge(row)
            else:
                yield Turn(db, session, row)
        if sqlite:  # no session held while the turn runs (and Rasa is asked)
            yield Turn(db, None, row)


async def _load(session: AsyncSession, channel: str, sender: str, now: datetime) -> Conversation:
    query = select(Conversation).where(
        Conversation.channel == channel, Conversation.sender == sender
    )
    if session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is not None:
        return row
    try:
        async with session.begin_nested():
            session.add(Conversation(channel=channel, sender=sender, state={}, updated_at=now))
    except IntegrityError:
        pass  # created by another worker just now
    row = await session.scalar(query)
    assert row is not None
    return row
