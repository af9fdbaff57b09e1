"""The persistent outbox: calendar writes, notifications and reminders, run after the request.

Items are written in the same transaction as the booking that causes them, so nothing is lost
when a calendar server is down or the process restarts. A worker claims a due item with one
conditional UPDATE (safe with several worker processes), runs its handler, and on failure
retries with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.storage.models import OutboxItem

if TYPE_CHECKING:
    from assistant.context import Context

log = logging.getLogger(__name__)
Handler = Callable[["Context", dict[str, Any]], Awaitable[None]]
LOCK = timedelta(minutes=2)
MAX_BACKOFF = timedelta(minutes=15)


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
    if await session.scalar(select(OutboxItem.id).where(OutboxItem.key == key)) is not None:
        return
    session.add(
        OutboxItem(key=key, kind=kind, payload=payload, due_at=due_at or now, created_at=now)
    )


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
        """Run every item due now (by the context's clock); return how many succeeded."""
        now = self.ctx.now()
        async with self.ctx.db() as session:
            ids = list(
                await session.scalars(
                    select(OutboxItem.id)
                    .where(
                        OutboxItem.done_at.is_(None),
                        OutboxItem.due_at <= now,
                        or_(OutboxItem.locked_until.is_(None), OutboxItem.locked_until < now),
                    )
                    .order_by(OutboxItem.due_at, OutboxItem.id)
                    .limit(limit)
                )
            )
        done = 0
        for item_id in ids:
            done += await self._run_one(item_id, now)
        return done

    async def _run_one(self, item_id: int, now: datetime) -> int:
        async with self.ctx.db() as session:
            claimed = await session.execute(
                update(OutboxItem)
                .where(
                    and_(
                        OutboxItem.id == item_id,
                        OutboxItem.done_at.is_(None),
                        or_(OutboxItem.locked_until.is_(None), OutboxItem.locked_until < now),
                    )
                )
                .values(locked_until=now + LOCK, attempts=OutboxItem.attempts + 1)
            )
            await session.commit()
            if claimed.rowcount != 1:
                return 0  # another worker has it
            item = await session.get(OutboxItem, item_id)
            assert item is not None
            kind, payload, attempts = item.kind, dict(item.payload), item.attempts
        # The slow part (a calendar server, SMTP, an SMS gateway) runs without a session.
        handler = self.handlers.get(kind)
        error: Exception | None = None
        try:
            if handler is None:
                raise LookupError(f"no outbox handler for {kind!r}")
            await handler(self.ctx, payload)
        except Exception as exc:
            error = exc
        async with self.ctx.db() as session:
            item = await session.get(OutboxItem, item_id)
            assert item is not None
            item.locked_until = None
            if error is not None:
                delay = min(timedelta(seconds=5 * 2 ** min(attempts, 12)), MAX_BACKOFF)
                # Only the kind of error in the log: a gateway's or mail server's message can
                # name the recipient. The whole message stays in outbox.last_error.
                log.warning("outbox %s #%s failed (attempt %s): %s", kind, item_id, attempts,
                            type(error).__name__)
                item.last_error = f"{type(error).__name__}: {error}"[:2000]
                item.due_at = now + delay
            else:
                item.done_at = self.ctx.now()
                item.last_error = None
            await session.commit()
            return 0 if error is not None else 1

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
