"""The audit log: who viewed or changed which appointment, and when (ids only: no name,
reference or contact is written here). A booking, move or cancellation on behalf also keeps
the clerk's handling time (`duration_ms`, from opening the form to saving)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.storage.models import AuditEntry

ACTIONS = ("view", "arrived", "started", "done", "no_show", "booked", "moved", "cancelled",
           "closure")


async def record(session: AsyncSession, user_id: int, action: str,
                 appointment_ids: Iterable[int], now: datetime,
                 duration_ms: int | None = None) -> None:
    """One row per appointment (in the caller's transaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    rows = [{"at": now, "user_id": user_id, "action": action, "appointment_id": i,
             "duration_ms": duration_ms} for i in dict.fromkeys(appointment_ids)]
    if rows:
        await session.execute(insert(AuditEntry), rows)
