"""Reach a person: the request goes to the office's staff, the citizen gets the phone numbers
(and can ask for a video call). A side answer: the task under way can go on."""

from __future__ import annotations

from pathlib import Path

from assistant.plugin import Flow, Turn, Understanding, blocks, escalate, hookimpl, t


class PersonFlow(Flow):
    name = "person"
    intents = frozenset({"request_human"})
    side = True
    reask = False

    async def respond(self, turn: Turn, meaning: Understanding) -> None:
        ctx, task = turn.ctx, turn.task
        office = ctx.config.office(meaning.office or (task.office if task else None) or "")
        await escalate.request_staff(
            ctx, turn.origin(), kind="human", office_id=office.id if office else None,
            service_id=task.service if task else None,
            notice=t("staff.human_request", "de", channel=turn.msg.channel),
        )
        turn.say("human", listing=blocks.phone_listing(turn, office), buttons=[
            turn.button("menu.video", "/request_video_call"),
            *([turn.button("button.continue", "/back")] if task else []),
        ])


@hookimpl
def register_flows() -> list[Flow]:
    return [PersonFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("person.*.po"))
