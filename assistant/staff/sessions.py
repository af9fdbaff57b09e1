"""Server-side staff sessions. The browser holds a random session id in an HttpOnly,
SameSite=Strict cookie (Secure when `server.public_url` is https); the database holds only
its SHA-256, the user, the session's CSRF token and when it was last used. Every login issues
a new id and drops the one the browser came with (no session fixation); a session unused for
`server.staff_idle_minutes` ends at the next request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.config import ServerCfg
from assistant.staff import csrf
from assistant.storage.models import StaffSession, StaffUser

COOKIE = "amtsbote_staff"
PATH = "/staff"
# Last-seen is written at most this often: a page view within it needs no database write.
TOUCH_EVERY = timedelta(seconds=60)


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass
class Current:
    """The logged-in user of a request and their session row."""

    user: StaffUser
    session: StaffSession


def secure_cookies(request: web.Request, server: ServerCfg) -> bool:
    return request.secure or (server.public_url or "").startswith("https:")


async def login(db: AsyncSession, user: StaffUser, presented: str | None,
                now: datetime) -> str:
    """A new session for `user`; the id the browser presented (if any) is dropped. Returns
    the new session id (for the cookie; only its hash is stored)."""
    if presented:
        await db.execute(delete(StaffSession).where(StaffSession.id_hash == digest(presented)))
    session_id = secrets.token_urlsafe(32)
    db.add(StaffSession(id_hash=digest(session_id), user_id=user.id, csrf_token=csrf.new_token(),
                        created_at=now, last_seen_at=now))
    return session_id


async def current(db: AsyncSession, request: web.Request, server: ServerCfg,
                  now: datetime) -> Current | None:
    """The request's session and user, or None (no cookie, unknown, idle too long, user
    disabled). An idle or orphaned session is deleted (the caller commits)."""
    presented = request.cookies.get(COOKIE)
    if not presented:
        return None
    row = await db.scalar(select(StaffSession).where(StaffSession.id_hash == digest(presented)))
    if row is None:
        return None
    user = await db.get(StaffUser, row.user_id)
    idle = now - row.last_seen_at > timedelta(minutes=server.staff_idle_minutes)
    if user is None or user.disabled or idle:
        await db.delete(row)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return Current(user, row)


async def logout(db: AsyncSession, request: web.Request) -> None:
    presented = request.cookies.get(COOKIE)
    if presented:
        await db.execute(delete(StaffSession).where(StaffSession.id_hash == digest(presented)))


def set_cookie(response: web.StreamResponse, session_id: str, secure: bool) -> None:
    response.set_cookie(COOKIE, session_id, path=PATH, httponly=True, samesite="Strict",
                        secure=secure)


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=PATH)
