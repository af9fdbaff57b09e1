"""Login throttling: failed logins are counted per user name (case-folded, so changing the
case does not reset it) and per client address (so trying one password on many names from
one place stops too), both within `server.staff_login_window_minutes`. Past either limit a
login is refused (429) whatever the password, until the oldest counted failure leaves the
window. Only hashes of names and addresses are stored; the rows hold across workers."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.config import ServerCfg
from assistant.staff.accounts import normalize
from assistant.storage.models import StaffLoginFailure


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"staff-login|{kind}|{value}".encode()).hexdigest()


def keys(username: str, address: str) -> tuple[str, str]:
    return _key("user", normalize(username)), _key("address", address)


async def wait_seconds(session: AsyncSession, server: ServerCfg, username: str, address: str,
                       now: datetime) -> float:
    """0 when a login may be tried, else the seconds until it may."""
    window = timedelta(minutes=server.staff_login_window_minutes)
    user_key, address_key = keys(username, address)
    wait = 0.0
    for key, limit in ((user_key, server.staff_login_failures_per_user),
                       (address_key, server.staff_login_failures_per_address)):
        recent = (select(StaffLoginFailure.at)
                  .where(StaffLoginFailure.key == key, StaffLoginFailure.at > now - window)
                  .order_by(StaffLoginFailure.at.desc()).offset(limit - 1).limit(1))
        at = await session.scalar(recent)
        if at is not None:
            wait = max(wait, (at + window - now).total_seconds())
    return wait


async def failed(session: AsyncSession, username: str, address: str, now: datetime) -> None:
    user_key, address_key = keys(username, address)
    session.add_all([StaffLoginFailure(key=user_key, at=now),
                     StaffLoginFailure(key=address_key, at=now)])


async def succeeded(session: AsyncSession, username: str) -> None:
    """A correct login clears the name's failures (the address's stay counted)."""
    user_key, _ = keys(username, "")
    await session.execute(delete(StaffLoginFailure).where(StaffLoginFailure.key == user_key))


async def forget(session: AsyncSession, before: datetime) -> int:
    """Delete failures older than `before` (they no longer count)."""
    result = await session.execute(delete(StaffLoginFailure).where(StaffLoginFailure.at < before))
    return int(result.rowcount or 0)


async def count(session: AsyncSession, key: str) -> int:
    return int(await session.scalar(select(func.count()).where(StaffLoginFailure.key == key))
               or 0)
