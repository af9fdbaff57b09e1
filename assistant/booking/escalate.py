"""Escalate to a person: a video meeting now, or a request for staff (call back, counter).

A request for a person (`human`, `callback`) from a conversation or contact that already has
one waiting is merged into that one: no second row, no second staff notice. The contact is
the call-back number, else who sent the message (client address, kiosk terminal or caller's
number, `assistant.ratelimit.requester`), so new sender ids from one client do not multiply
the staff's work. Video requests each carry their own meeting and are not merged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, text, update

from assistant import stats
from assistant.ratelimit import requester
from assistant.storage.models import VideoRequest
from assistant.values import Meeting

if TYPE_CHECKING:
    from assistant.booking.book import Origin
    from assistant.context import Context

log = logging.getLogger(__name__)
MERGED_KINDS = {"human", "callback"}


LOCK_ID = 0x416D7473626F7465  # "Amtsbote": staff requests are checked and added one by one
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary())


def _lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


def _key(kind: str, value: str | None) -> str | None:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:64] if value else None


async def create_meeting(ctx: Context, topic: str, start: datetime | None) -> Meeting:
    provider = str(ctx.config.video.get("provider", "jitsi"))
    meeting = await ctx.call_first(
        "video_create_meeting", ctx=ctx, provider=provider, topic=topic, start=start
    )
    if meeting is None:
        raise LookupError(f"video provider {provider!r} is not enabled")
    return meeting


async def request_staff(
    ctx: Context,
    origin: Origin,
    *,
    kind: str,
    office_id: str | None,
    service_id: str | None,
    meeting: Meeting | None = None,
    callback_number: str | None = None,
    notice: str,
) -> int:
    """Record a waiting request staff can see through the API, and post a staff notice.

    `kind`: `video` (citizen waits in a meeting now), `human` or `callback`. Returns the id of
    the new request, or of the waiting one a `human`/`callback` request was merged into.
    """
    now = ctx.now()
    window = timedelta(minutes=ctx.config.server.staff_request_dedup_minutes)
    conversation = _key("conversation", f"{origin.channel}:{origin.sender}"
                        if origin.sender else None)
    contact = _key("contact", f"phone:{callback_number}" if callback_number else requester())
    async with _lock(), ctx.db() as session:
        if ctx.engine.dialect.name == "postgresql":  # merge across worker processes too
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_ID})
        # Keys are only kept as long as they are needed to merge.
        await session.execute(
            update(VideoRequest)
            .where(VideoRequest.created_at < now - window,
                   or_(VideoRequest.conversation_key.is_not(None),
                       VideoRequest.contact_key.is_not(None)))
            .values(conversation_key=None, contact_key=None)
            .execution_options(synchronize_session=False))
        keys = []
        if conversation:
            keys.append(VideoRequest.conversation_key == conversation)
        if contact:
            keys.append(VideoRequest.contact_key == contact)
        if kind in MERGED_KINDS and keys and window:
            waiting = await session.scalar(
                select(VideoRequest.id)
                .where(VideoRequest.kind == kind, VideoRequest.status == "waiting",
                       VideoRequest.created_at >= now - window, or_(*keys))
                .order_by(VideoRequest.id).limit(1))
            if waiting is not None:
                await session.commit()
                log.info("%s request on %s merged into waiting request %d", kind,
                         origin.channel, waiting)
                return int(waiting)
        req = VideoRequest(
            office_id=office_id, service_id=service_id, kind=kind, status="waiting",
            channel=origin.channel, language=origin.language,
            citizen_url=meeting.citizen_url if meeting else None,
            staff_url=meeting.staff_url if meeting else None,
            callback_number=callback_number, created_at=now,
            conversation_key=conversation if window else None,
            contact_key=contact if window else None,
        )
        session.add(req)
        stats.record(session, f"escalated_{kind}", now=now, channel=origin.channel,
                     language=origin.language, office_id=office_id, service_id=service_id,
                     turns=origin.turns, conversation_seconds=origin.seconds)
        await session.commit()
        request_id = req.id
    for office in ([ctx.config.office(office_id)] if office_id else ctx.config.offices):
        if office is not None:
            await ctx.call_all("staff_notice", ctx=ctx, office=office,
                               kind=f"{kind}_request" if kind != "callback" else "human_request",
                               text=notice)
    return request_id
