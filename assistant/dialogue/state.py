"""Conversation state per channel + sender, kept in the database.

It survives restarts and is shared by several worker processes: on PostgreSQL the row is
locked (`SELECT … FOR UPDATE`) for the whole turn, so two messages of one citizen arriving at
two workers are handled one after the other. Within one process an asyncio lock does the same,
and is all SQLite needs (one process): there the state is read with one statement and written
with one (an upsert: a new conversation's row is made when its first turn is saved), in two
short transactions, so no connection is held while Rasa is asked.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assistant.storage.models import Conversation

_TABLE: Table = Conversation.__table__  # type: ignore[assignment]
# SQLite: the state by one statement each way, built once.
_READ = select(_TABLE.c.state).where(_TABLE.c.channel == bindparam("channel"),
                                     _TABLE.c.sender == bindparam("sender"))
_SAVE = sqlite_insert(_TABLE)
_SAVE = _SAVE.on_conflict_do_update(
    index_elements=[_TABLE.c.channel, _TABLE.c.sender],
    set_={"state": _SAVE.excluded.state, "updated_at": _SAVE.excluded.updated_at})

_locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


def _lock(key: tuple[str, str]) -> asyncio.Lock:
    lock = _locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        _locks[key] = lock
    return lock


class StoredConversation:
    """The state of one conversation during one message; `save()` writes it back."""

    def __init__(self, db: async_sessionmaker, channel: str, sender: str,
                 state: dict[str, Any] | None, locked: tuple[AsyncSession, Conversation] | None
                 ) -> None:
        self.db = db
        self.channel, self.sender = channel, sender
        self.locked = locked  # PostgreSQL: the session holding the row lock, and the row
        self.state: dict[str, Any] = dict(state or {})

    async def save(self, now: datetime) -> None:
        if self.locked is not None:
            session, row = self.locked
            row.state = self.state
            row.updated_at = now
            await session.commit()
            return
        async with self.db() as session:
            await session.execute(_SAVE, {"channel": self.channel, "sender": self.sender,
                                          "state": self.state, "updated_at": now})
            await session.commit()


@asynccontextmanager
async def conversation(
    db: async_sessionmaker, channel: str, sender: str, now: datetime
) -> AsyncIterator[StoredConversation]:
    async with _lock((channel, sender)):
        sqlite = False
        async with db() as session:
            if session.bind.dialect.name == "sqlite":
                sqlite = True
                state = await session.scalar(_READ, {"channel": channel, "sender": sender})
            else:
                row = await _load(session, channel, sender, now)
                yield StoredConversation(db, channel, sender, row.state, (session, row))
        if sqlite:  # no session held while the turn runs (and Rasa is asked)
            yield StoredConversation(db, channel, sender, state, None)


async def _load(session: AsyncSession, channel: str, sender: str, now: datetime) -> Conversation:
    """The row, locked for the turn (PostgreSQL); made if it is new."""
    query = select(Conversation).where(
        Conversation.channel == channel, Conversation.sender == sender
    ).with_for_update()
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
