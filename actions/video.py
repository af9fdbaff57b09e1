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
    Turn,
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

    async def answer(self, turn: Turn, meaning: Understanding) -> bool:
        if meaning.command == "video_now" or (
                answers.yes_no(meaning.text) is True and not meaning.has_time
                and not meaning.from_button):
            await self._now(turn)  # "Ja, bitte": the first of the two offers (an appointment
            return True            # when no office is open now)
        if not meaning.from_button and (_IN_PERSON.search(meaning.text) or meaning.office):
            # "ich komme lieber persönlich vorbei, in Riesa": the same wish, in person
            blocks.switch(turn, "book", step=None, mode="in_person")
            blocks.absorb(turn, meaning)
            await advance(turn)
            return True
        if meaning.command == "video_appointment" or meaning.has_time or meaning.service:
            blocks.switch(turn, "book", step=None, mode="video")
            blocks.absorb(turn, meaning)
            await advance(turn)
            return True
        return False

    async def step(self, turn: Turn, meaning: Understanding) -> None:
        if await self.answer(turn, meaning):
            return
        turn.say("reask.video_choice", buttons=_choices(turn))

    async def advance(self, turn: Turn) -> None:
        task = turn.task_as(VideoTask)
        service = turn.ctx.config.service(task.service or "")
        if service is not None and not service.video:
            # "Geht die Meldebescheinigung auch per Video?": no; offer it in person.
            turn.say("video.not_for_service", service=service.name.get(turn.lang))
            blocks.switch(turn, "book", step=None, mode="in_person")
            await advance(turn)
            return
        asked = "?" in turn.msg.text or answers.looks_like_question(turn.msg.text)
        later = task.start is not None and task.start.astimezone(
            turn.now.tzinfo).date() > turn.now.astimezone(turn.now.tzinfo).date()
        if task.start is not None and (re.search(r"termin|appointment|booking|buchen|book",
                                                 turn.msg.text, re.I) or (later and not asked)):
            # "einen Videotermin am Freitag", "by video call on Friday, please": an appointment
            blocks.switch(turn, "book", step=None, mode="video")
            await advance(turn)
            return
        task.step = "video_choice"
        turn.say("video.choose", buttons=_choices(turn))

    async def _now(self, turn: Turn) -> None:
        task, ctx = turn.task_as(VideoTask), turn.ctx
        office = ctx.config.office(task.office or "")
        open_offices = [o for o in ([office] if office else ctx.config.offices)
                        if _open_now(o, turn.now)]
        if not open_offices:
            blocks.switch(turn, "book", step=None, mode="video")
            turn.say("video.closed_now")
            await advance(turn)
            return
        meeting = await escalate.create_meeting(ctx, t("video.topic", turn.lang), None)
        await escalate.request_staff(
            ctx, turn.origin(), kind="video", office_id=office.id if office else None,
            service_id=task.service, meeting=meeting,
            notice=t("staff.video_request", "de", url=meeting.staff_url,
                     channel=turn.msg.channel),
        )
        turn.state.task = None
        turn.say("video.now", url=meeting.citizen_url, data={"url": meeting.citizen_url})


def _choices(turn: Turn) -> list[Button]:
    return [turn.button("video.button_now", "/video_now"),
            turn.button("video.button_appointment", "/video_appointment")]


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
