"""Escalate to a person: a video meeting now, or a request for staff (call back, counter)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from assistant import stats
from assistant.storage.models import VideoRequest
from assistant.views import Meeting

if TYPE_CHECKING:
    from assistant.booking.book import Origin
    from assistant.context import Context


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

    `kind`: `video` (citizen waits in a meeting now), `human` or `callback`.
    """
    now = ctx.now()
    async with ctx.db() as session:
        req = VideoRequest(
            office_id=office_id, service_id=service_id, kind=kind, status="waiting",
            channel=origin.channel, language=origin.language,
            citizen_url=meeting.citizen_url if meeting else None,
            staff_url=meeting.staff_url if meeting else None,
            callback_number=callback_number, created_at=now,
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
