"""Staff accounts: create, verify (argon2id), disable, reset the password.

User names are compared case-folded (`Anna.Schmidt` and `anna.schmidt` are one account).
A password is never stored, logged or returned; only its argon2 hash is kept.
"""

from __future__ import annotations

import asyncio
import functools
import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.config import Config
from assistant.storage.models import StaffSession, StaffUser

ROLES = ("clerk", "office_admin", "county_admin")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" would only cost CPU
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A request the accounts cannot fulfil; the message says why (for the command line)."""


def normalize(username: str) -> str:
    return username.strip().casefold()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")


async def hash_password(password: str) -> str:
    """argon2id, in a worker thread (it takes tens of milliseconds on purpose)."""
    return await asyncio.to_thread(_hasher.hash, password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone")


def _matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


async def create(session: AsyncSession, config: Config, username: str, password: str,
                 role: str, offices: list[str], now: datetime) -> StaffUser:
    name = normalize(username)
    if not USERNAME.match(name):
        raise AccountError("a user name has 2 to 64 characters: letters, digits, . _ @ -")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    unknown = [o for o in offices if config.office(o) is None]
    if unknown:
        raise AccountError(f"unknown office {unknown[0]!r}; known: "
                           f"{', '.join(o.id for o in config.offices)}")
    if role != "county_admin" and not offices:
        raise AccountError("a clerk or office admin needs at least one --office")
    check_password(password)
    if await session.scalar(select(StaffUser.id).where(StaffUser.username == name)):
        raise AccountError(f"user {name!r} exists already")
    user = StaffUser(username=name, password_hash=await hash_password(password), role=role,
                     offices=list(dict.fromkeys(offices)), created_at=now)
    session.add(user)
    await session.flush()
    return user


async def find(session: AsyncSession, username: str) -> StaffUser | None:
    return await session.scalar(select(StaffUser).where(StaffUser.username == normalize(
        username)))


async def verify(session: AsyncSession, username: str, password: str) -> StaffUser | None:
    """The enabled user with this name and password, else None. An unknown name costs the
    same hashing work as a known one, so answer times do not tell which names exist."""
    user = await find(session, username) if len(password) <= MAX_PASSWORD else None
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = await asyncio.to_thread(_matches, stored, password[:MAX_PASSWORD])
    if not ok or user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    return user


async def disable(session: AsyncSession, username: str, now: datetime) -> StaffUser:
    """Disable the account and end its sessions."""
    user = await _existing(session, username)
    if user.disabled_at is None:
        user.disabled_at = now
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    return user


async def reset_password(session: AsyncSession, username: str, password: str) -> StaffUser:
    """A new password; every session of the account ends."""
    user = await _existing(session, username)
    check_password(password)
    user.password_hash = await hash_password(password)
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    return user


async def _existing(session: AsyncSession, username: str) -> StaffUser:
    user = await find(session, username)
    if user is None:
        raise AccountError(f"no user {normalize(username)!r}")
    return user


async def all_users(session: AsyncSession) -> list[StaffUser]:
    return list(await session.scalars(select(StaffUser).order_by(StaffUser.username)))
