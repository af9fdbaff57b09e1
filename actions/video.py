"""A video call: now (when an office is open: a meeting link, staff are told) or as a video
appointment (the booking flow in video mode). Services that need the citizen in person are
offered in person instead."""

from __future__ import annotations

from datetime import datetime

from assistant.plugin import (
    Flow,
    Office,
    Talk,
    Understanding,
    advance,
    blocks,
    escalate,
    hookimpl,
    t,
)


class VideoFlow(Flow):
    name = "video"
    intents = frozenset({"request_video_call"})

    async def advance(self, talk: Talk) -> None:
        task = talk.task
        assert task is not None
        service = talk.ctx.config.service(task.service or "")
        if service is not None and not service.video:
            # "Geht die Meldebescheinigung auch per Video?": no; offer it in person.
            talk.say("video.not_for_service", service=service.name.get(talk.lang))
            task.flow, task.step, task.mode = "book", None, "in_person"
            await advance(talk)
            return
        task.step = "video_choice"
        talk.say("video.choose", buttons=[
            talk.button("video.button_now", "/video_now"),
            talk.button("video.button_appointment", "/video_appointment"),
        ])

    async def answer(self, talk: Talk, u: Understanding) -> bool:
        task = talk.task
        assert task is not None
        if u.command == "video_now":
            await self._now(talk)
            return True
        if u.command == "video_appointment" or u.has_time or u.service:
            task.flow, task.step, task.mode = "book", None, "video"
            blocks.absorb(talk, u)
            await advance(talk)
            return True
        return False

    async def step(self, talk: Talk, u: Understanding) -> None:
        if await self.answer(talk, u):
            return
        talk.say("reask.video_choice")
        await self.advance(talk)

    async def _now(self, talk: Talk) -> None:
        task, ctx = talk.task, talk.ctx
        assert task is not None
        office = ctx.config.office(task.office or "")
        open_offices = [o for o in ([office] if office else ctx.config.offices)
                        if _open_now(o, talk.now)]
        if not open_offices:
            task.flow, task.step, task.mode = "book", None, "video"
            talk.say("video.closed_now")
            await advance(talk)
            return
        meeting = await escalate.create_meeting(ctx, t("video.topic", talk.lang), None)
        await escalate.request_staff(
            ctx, talk.origin(), kind="video", office_id=office.id if office else None,
            service_id=task.service, meeting=meeting,
            notice=t("staff.video_request", "de", url=meeting.staff_url,
                     channel=talk.msg.channel),
        )
        talk.state.task = None
        talk.say("video.now", url=meeting.citizen_url, data={"url": meeting.citizen_url})


def _open_now(office: Office, now: datetime) -> bool:
    local = now.astimezone(office.tz)
    if office.closed_on(local.date()):
        return False
    return any(r.start <= local.time() < r.end for r in office.hours_on(local.date()))


@hookimpl
def register_flows() -> list[Flow]:
    return [VideoFlow()]
