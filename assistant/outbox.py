"""The persistent outbox: calendar writes, notifications and reminders, run after the request.

Items are written in the same transaction as the booking that causes them, so nothing is lost
when a calendar server is down or the process restarts. A worker claims a batch of due items
with one UPDATE (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so several worker processes never claim
the same item and never wait for each other), runs their handlers one after the other, records
the outcomes together, and on failure retries an item with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.storage.db import insert_rows
from assistant.storage.models import OutboxItem

if TYPE_CHECKING:
    from assistant.context import Context

log = logging.getLogger(__name__)
Handler = Callable[["Context", dict[str, Any]], Awaitable[None]]
LOCK = timedelta(minutes=2)
MAX_BACKOFF = timedelta(minutes=15)
BATCH = 20  # items claimed at once
RECORD_EVERY_SECONDS = 1.0  # outcomes are written at least this often while handlers run
OUTBOX = OutboxItem.__table__


@dataclass(frozen=True)
class Item:
    kind: str
    payload: dict[str, Any]
    key: str
    due_at: datetime | None = None


async def enqueue(
    session: AsyncSession,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str,
    now: datetime,
    due_at: datetime | None = None,
) -> None:
    """Add an item in the caller's transaction; an existing `key` is left as it is."""
    await enqueue_all(session, [Item(kind, payload, key, due_at)], now=now)


async def enqueue_all(session: AsyncSession, items: list[Item], *, now: datetime) -> None:
    """Add `items` in the caller's transaction with one statement; an existing `key` is left
    as it is."""
    if not items:
        return
    await insert_rows(session, OUTBOX, [
        {"key": i.key, "kind": i.kind, "payload": i.payload, "due_at": i.due_at or now,
         "attempts": 0, "created_at": now} for i in items], skip_conflicts=True, on=("key",))


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


class Outbox:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.handlers: dict[str, Handler] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def wake(self) -> None:
        """Run due items now instead of at the next poll (called after a commit)."""
        self._wake.set()

    async def run_due(self, limit: int = 50) -> int:
        """Run every item due now (by the context's clock), up to `limit`; return how many
        succeeded."""
        now = self.ctx.now()
        done = 0
        while limit > 0:
            claimed = await self._claim(now, min(limit, BATCH))
            if not claimed:
                break
            limit -= len(claimed)
            done += await self._run(claimed, now)
        return done

    async def _claim(self, now: datetime, limit: int) -> list[_Claimed]:
        t = OUTBOX.c
        free = or_(t.locked_until.is_(None), t.locked_until < now)
        due = (select(t.id).where(t.done_at.is_(None), t.due_at <= now, free)
               .order_by(t.due_at, t.id).limit(limit).with_for_update(skip_locked=True))
        async with self.ctx.db() as session:
            rows = (await session.execute(
                update(OUTBOX).where(t.id.in_(due.scalar_subquery()), free)
                .values(locked_until=now + LOCK, attempts=t.attempts + 1)
                .returning(t.id, t.due_at, t.kind, t.payload, t.attempts)
            )).all()
            await session.commit()
        return [_Claimed(r.id, r.kind, dict(r.payload), r.attempts)
                for r in sorted(rows, key=lambda r: (r.due_at, r.id))]

    async def _run(self, claimed: list[_Claimed], now: datetime) -> int:
        """Run the claimed items in order, recording their outcomes in few transactions.
        Items not started before half the lock has passed, or when the worker stops, are
        given back at once (for another worker, or this one's next round)."""
        started = last = time.monotonic()
        waiting = list(claimed)
        outcomes: list[tuple[_Claimed, Exception | None]] = []
        done = 0
        try:
            while waiting and time.monotonic() - started < LOCK.total_seconds() / 2:
                # The slow part (a calendar server, SMTP, an SMS gateway) runs without a
                # session.
                outcomes.append((waiting[0], await self._handle(waiting[0])))
                waiting.pop(0)
                if time.monotonic() - last > RECORD_EVERY_SECONDS:
                    done += await self._record(outcomes, now)
                    outcomes, last = [], time.monotonic()
        except asyncio.CancelledError:  # stopping: what ran is not run again, the rest waits
            await self._record(outcomes, now)
            await self._give_back(waiting)
            raise
        await self._give_back(waiting)
        return done + await self._record(outcomes, now)

    async def _handle(self, item: _Claimed) -> Exception | None:
        handler = self.handlers.get(item.kind)
        try:
            if handler is None:
                raise LookupError(f"no outbox handler for {item.kind!r}")
            await handler(self.ctx, item.payload)
        except Exception as exc:
            return exc
        return None

    async def _record(self, outcomes: list[tuple[_Claimed, Exception | None]],
                      now: datetime) -> int:
        if not outcomes:
            return 0
        succeeded = [item.id for item, error in outcomes if error is None]
        async with self.ctx.db() as session:
            if succeeded:
                await session.execute(update(OUTBOX).where(OUTBOX.c.id.in_(succeeded)).values(
                    done_at=self.ctx.now(), locked_until=None, last_error=None))
            for item, error in outcomes:
                if error is None:
                    continue
                delay = min(timedelta(seconds=5 * 2 ** min(item.attempts, 12)), MAX_BACKOFF)
                # Only the kind of error in the log: a gateway's or mail server's message can
                # name the recipient. The whole message stays in outbox.last_error.
                log.warning("outbox %s #%s failed (attempt %s): %s", item.kind, item.id,
                            item.attempts, type(error).__name__)
                await session.execute(update(OUTBOX).where(OUTBOX.c.id == item.id).values(
                    locked_until=None, due_at=now + delay,
                    last_error=f"{type(error).__name__}: {error}"[:2000]))
            await session.commit()
        return len(succeeded)

    async def _give_back(self, items: list[_Claimed]) -> None:
        if not items:
            return
        async with self.ctx.db() as session:
            await session.execute(
                update(OUTBOX).where(OUTBOX.c.id.in_([i.id for i in items]))
                .values(locked_until=None, attempts=OUTBOX.c.attempts - 1))
            await session.commit()

    async def _loop(self, interval: float) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("outbox worker error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()

    def start(self, interval: float = 2.0) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(interval), name="amtsbote-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
