"""A video call: now (when an office is open: a meeting link, staff are told) or as a video
appointment (the booking flow in video mode). Services that need the citizen in person are
offered in person instead."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from assistant.plugin import (
    Button,
    Flow,
    Office,
    PersonTask,
    SlotTask,
    Talk,
    Understanding,
    advance,
    answers,
    blocks,
    escalate,
    hookimpl,
    t,
)

_IN_PERSON = re.compile(r"\b(persönlich|persoenlich|vorbei|vor ort|in person|come in|come by"
                        r"|selbst kommen|hinkommen)\b", re.I)


class VideoTask(SlotTask, PersonTask):
    """A video call now, or a video appointment: it becomes a booking (`blocks.switch`), so it
    carries what one needs (the wish, the citizen)."""


class VideoFlow(Flow):
    name = "video"
    intents = frozenset({"request_video_call"})
    state_model = VideoTask

    async def answer(self, talk: Talk, u: Understanding) -> bool:
        if u.command == "video_now" or (
                answers.yes_no(u.text) is True and not u.has_time and not u.from_button):
            await self._now(talk)  # "Ja, bitte": the first of the two offers (an appointment
            return True            # when no office is open now)
        if not u.from_button and (_IN_PERSON.search(u.text) or u.office):
            # "ich komme lieber persönlich vorbei, in Riesa": the same wish, in person
            blocks.switch(talk, "book", step=None, mode="in_person")
            blocks.absorb(talk, u)
            await advance(talk)
            return True
        if u.command == "video_appointment" or u.has_time or u.service:
            blocks.switch(talk, "book", step=None, mode="video")
            blocks.absorb(talk, u)
            await advance(talk)
            return True
        return False

    async def step(self, talk: Talk, u: Understanding) -> None:
        if await self.answer(talk, u):
            return
        talk.say("reask.video_choice", buttons=_choices(talk))

    async def advance(self, talk: Talk) -> None:
        task = talk.task_as(VideoTask)
        service = talk.ctx.config.service(task.service or "")
        if service is not None and not service.video:
            # "Geht die Meldebescheinigung auch per Video?": no; offer it in person.
            talk.say("video.not_for_service", service=service.name.get(talk.lang))
            blocks.switch(talk, "book", step=None, mode="in_person")
            await advance(talk)
            return
        task.step = "video_choice"
        talk.say("video.choose", buttons=_choices(talk))

    async def _now(self, talk: Talk) -> None:
        task, ctx = talk.task_as(VideoTask), talk.ctx
        office = ctx.config.office(task.office or "")
        open_offices = [o for o in ([office] if office else ctx.config.offices)
                        if _open_now(o, talk.now)]
        if not open_offices:
            blocks.switch(talk, "book", step=None, mode="video")
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


def _choices(talk: Talk) -> list[Button]:
    return [talk.button("video.button_now", "/video_now"),
            talk.button("video.button_appointment", "/video_appointment")]


def _open_now(office: Office, now: datetime) -> bool:
    local = now.astimezone(office.tz)
    if office.closed_on(local.date()):
        return False
    return any(r.start <= local.time() < r.end for r in office.hours_on(local.date()))


@hookimpl
def register_flows() -> list[Flow]:
    return [VideoFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("video.*.po"))
