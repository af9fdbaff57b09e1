"""Cancel an appointment: reference + last name → the appointment → "wirklich absagen?" →
cancelled (or kept)."""

from __future__ import annotations

from pathlib import Path

from assistant.plugin import (
    Flow,
    LookupTask,
    Talk,
    Understanding,
    blocks,
    cancel,
    hookimpl,
    steps,
)


class CancelTask(LookupTask):
    """Cancelling: the appointment identified by reference and proof."""


class CancelFlow(Flow):
    name = "cancel"
    intents = frozenset({"cancel_appointment"})
    state_model = CancelTask

    async def advance(self, talk: Talk) -> None:
        task = talk.task_as(CancelTask)
        if task.appointment_id is None and await blocks.identify(talk) is None:
            return
        task.step = "confirm"
        talk.say("cancel.confirm", buttons=blocks.yes_no(talk))

    async def answer(self, talk: Talk, u: Understanding) -> bool:
        return await steps.answer_step(talk, u)

    async def step(self, talk: Talk, u: Understanding) -> None:
        await steps.manage_step(talk, u, self.intents)

    async def confirm(self, talk: Talk) -> None:
        task = talk.task_as(CancelTask)
        assert task.appointment_id is not None
        view = await cancel.cancel(talk.ctx, task.appointment_id, talk.origin())
        talk.state.task = None
        if view is None:
            talk.say("cancel.already", buttons=blocks.menu(talk))
            return
        talk.say("cancel.done", reference=view.display_reference,
                 buttons=blocks.menu(talk, short=True))


@hookimpl
def register_flows() -> list[Flow]:
    return [CancelFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("cancel.*.po"))
