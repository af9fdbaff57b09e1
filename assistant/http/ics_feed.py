"""The staff feed: one office's booked appointments as a subscribable iCalendar feed.

`GET /api/v1/offices/{office}/appointments.ics` serves the events of the booking domain's
builder (`assistant/booking/icalendar.py`) for staff whose calendar app cannot do CalDAV.
Calendar apps cannot send headers, so besides `Authorization: Bearer $AMTSBOTE_API_TOKEN` the
feed takes `?token=` with a feed token (`FeedToken`): stored as a hash, valid for one office's
feed and nothing else, listed and revoked one by one (`amtsbote feed-token create|list|revoke`).
The staff token in the query string is refused (400): URLs end up in proxy logs and calendar
apps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.booking.appointments import to_view
from assistant.booking.icalendar import appointment_event, calendar_of, personal_data_of
from assistant.http.common import CTX, TOKEN_ENV
from assistant.i18n import t
from assistant.storage.models import Appointment, FeedToken

if TYPE_CHECKING:
    from assistant.context import Context

FEED_PAST = timedelta(days=7)  # the feed also shows the last week, for staff looking back

log = logging.getLogger(__name__)


# -- the staff feed ----------------------------------------------------------------------------

TOKEN_HEADER = "Authorization: Bearer <token>"
CREATE_HINT = "amtsbote feed-token create --office {office}"
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(base_url: str, office_id: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/offices/{office_id}/appointments.ics?token={token}"


async def create_feed_token(session: AsyncSession, office_id: str, label: str | None,
                            now: datetime) -> tuple[FeedToken, str]:
    """A new feed token for `office_id`: the stored row (hash only) and the token itself,
    which exists nowhere else and must be shown to the caller now."""
    token = secrets.token_urlsafe(32)
    row = FeedToken(office_id=office_id, label=label or None, token_hash=token_hash(token),
                    created_at=now)
    session.add(row)
    await session.flush()
    return row, token


async def revoke_feed_token(session: AsyncSession, token_id: int, now: datetime
                            ) -> FeedToken | None:
    """Revoke one feed token (revoking twice keeps the first time); None if there is none."""
    row = await session.get(FeedToken, token_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = now
    return row


async def _feed_token_ok(ctx: Context, office_id: str, given: str) -> bool:
    """True for a stored, unrevoked feed token of this office. Looked up by its hash, so the
    comparison never runs over the token itself."""
    if not given or len(given) > 256:
        return False
    digest = token_hash(given)
    now = ctx.now()
    async with ctx.db() as session:
        row = await session.scalar(select(FeedToken).where(FeedToken.token_hash == digest))
        if (row is None or row.revoked_at is not None or row.office_id != office_id
                or not hmac.compare_digest(row.token_hash.encode(), digest.encode())):
            return False
        if row.last_used_at is None or row.last_used_at <= now - LAST_USED_EVERY:
            row.last_used_at = now
            await session.commit()
    return True


def _json(exc: type[web.HTTPError], message: str, **extra: object) -> web.HTTPError:
    headers = {"WWW-Authenticate": "Bearer"} if exc is web.HTTPUnauthorized else None
    return exc(text=json.dumps({"error": message, **extra}), content_type="application/json",
               headers=headers)


def _derived_token(office_id: str, staff: str) -> str:
    """The per-office token older versions derived from the staff token: refused now, only
    recognised to tell the operator what to do."""
    return hmac.new(staff.encode(), f"appointments.ics:{office_id}".encode(),
                    hashlib.sha256).hexdigest()[:32]


async def _authorize(request: web.Request, ctx: Context, office_id: str) -> None:
    """`?token=` takes a stored feed token of this office only; the staff token goes in the
    Authorization header, never in a URL (URLs end up in proxy logs and calendar apps)."""
    staff = os.environ.get(TOKEN_ENV)
    query = request.query.get("token", "")
    if query:
        if staff and hmac.compare_digest(query.encode(), staff.encode()):
            log.warning("staff feed %r: the staff token was sent in the URL and refused; if "
                        "that URL was shared or logged, rotate %s", office_id, TOKEN_ENV)
            raise _json(web.HTTPBadRequest,
                        f"the staff token must not be sent in the URL: send it in the header "
                        f"'{TOKEN_HEADER}', or subscribe with a feed token "
                        f"('{CREATE_HINT.format(office=office_id)}')",
                        header="Authorization")
        if await _feed_token_ok(ctx, office_id, query):
            return
        if staff and hmac.compare_digest(query.encode(),
                                         _derived_token(office_id, staff).encode()):
            raise _json(web.HTTPUnauthorized,
                        "feed URLs with tokens derived from the staff token are no longer "
                        f"accepted: create a feed token ('{CREATE_HINT.format(office=office_id)}')")
        raise _json(web.HTTPUnauthorized, "feed token unknown, revoked or for another office")
    header = request.headers.get("Authorization", "")
    if not staff and not header:
        raise _json(web.HTTPServiceUnavailable, "staff API disabled: set AMTSBOTE_API_TOKEN; "
                    f"or subscribe with a feed token ('{CREATE_HINT.format(office=office_id)}')")
    given = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
    if given and staff and hmac.compare_digest(given.encode(), staff.encode()):
        return
    if given and await _feed_token_ok(ctx, office_id, given):
        return
    raise _json(web.HTTPUnauthorized,
                f"staff token missing or wrong: send '{TOKEN_HEADER}', or '?token=' with a feed "
                f"token ('{CREATE_HINT.format(office=office_id)}')", header="Authorization")


async def appointments_ics(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    office_id = request.match_info["office"]
    await _authorize(request, ctx, office_id)
    office = ctx.config.office(office_id)
    if office is None:
        raise web.HTTPNotFound(text='{"error": "unknown office"}', content_type="application/json")
    now = ctx.now()
    async with ctx.db() as session:
        rows = list(await session.scalars(
            select(Appointment)
            .where(Appointment.office_id == office.id, Appointment.status == "booked",
                   Appointment.end >= now - FEED_PAST)
            .order_by(Appointment.start, Appointment.id)
        ))
    lang = ctx.config.default_language
    level = personal_data_of(office)
    events = []
    for row in rows:
        service = ctx.config.service(row.service_id)
        events.append(appointment_event(
            to_view(row), office, service.name.get(lang) if service else row.service_id,
            personal_data=level, lang=lang,
        ))
    cal = calendar_of(events, office, name=t("calendar.feed.name", lang,
                                               office=office.name.get(lang)), year=now.year)
    body = cal.to_ical()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{office.id}-appointments.ics"'
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers=headers)
