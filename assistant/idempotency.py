"""`Idempotency-Key` for the staff API's POSTs (IETF draft "The Idempotency-Key HTTP Header
Field", as Stripe does it).

The first request with a key claims it inside the transaction that makes the change, before
anything else is written, and stores its answer (status and JSON body) in the same transaction:
a retry after a crash or a timeout gets the same answer and never books twice. A request that
changes nothing (400, 404, 409, 422) rolls its claim back, so the key may be used again.

A retry that arrives while the first request is still in flight waits for it in the database
(the unique index on principal and key) and then replays its answer; a key used before for
another method, path or body is refused (`KeyReused`). Keys expire after
`server.idempotency_key_hours` (by the context's clock); the retention job deletes them then,
and at the latest after `retention.personal_data_days`, with the answers they hold.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.storage.db import insert_rows
from assistant.storage.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255
TABLE = IdempotencyKey.__table__


def valid_key(key: str) -> bool:
    """1 to 255 printable ASCII characters (spaces inside allowed)."""
    return 0 < len(key) <= MAX_KEY_CHARS and all(" " <= c <= "~" for c in key)


def digest(value: str | bytes) -> str:
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).hexdigest()


def fingerprint(method: str, path: str, body: Any) -> str:
    """The request a key stands for: method, path and the body as canonical JSON (keys sorted,
    no spaces), so that the same document written differently is the same request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return digest(f"{method.upper()} {path}\n{canonical}")


class Replay(Exception):
    """The key was used before: answer `status` and `body` instead of doing the work again."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status, self.body = status, body


class KeyReused(Replay):
    """The key was used before for another request (method, path or body)."""

    def __init__(self) -> None:
        super().__init__(422, {"error": "Idempotency-Key was already used for another request",
                               "code": "idempotency_key_reused"})


@dataclass(frozen=True)
class Claim:
    """One request's key: `principal` is who sent it (a hash of the staff token), `request`
    its fingerprint."""

    principal: str
    key: str
    request: str
    now: datetime
    ttl: timedelta

    async def take(self, session: AsyncSession) -> None:
        """Claim the key in `session`'s transaction, before it writes anything else. Raises
        `Replay` (roll back and answer with it) when the key was used before and has not
        expired; waits for a transaction holding the same key to end first."""
        await session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.principal == self.principal, IdempotencyKey.key == self.key,
            IdempotencyKey.expires_at <= self.now))
        taken = await insert_rows(session, TABLE, [{
            "principal": self.principal, "key": self.key, "request": self.request,
            "status": None, "response": None, "created_at": self.now,
            "expires_at": self.now + self.ttl}],
            skip_conflicts=True, on=("principal", "key"), returning=(TABLE.c.id,))
        if taken.first() is not None:
            return
        row = (await session.execute(
            select(TABLE.c.request, TABLE.c.status, TABLE.c.response)
            .where(TABLE.c.principal == self.principal, TABLE.c.key == self.key))).first()
        if row is None or row.status is None:  # gone or expired meanwhile: rare, retry later
            raise Replay(409, {"error": "a request with this Idempotency-Key is in progress",
                               "code": "idempotency_key_in_use"})
        if row.request != self.request:
            raise KeyReused()
        raise Replay(row.status, row.response)

    async def store(self, session: AsyncSession, status: int, body: dict[str, Any]) -> None:
        """Keep the answer with the claim, in the same transaction as the change."""
        await session.execute(TABLE.update().where(
            TABLE.c.principal == self.principal, TABLE.c.key == self.key)
            .values(status=status, response=body))
