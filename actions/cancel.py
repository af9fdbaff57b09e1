"""Cancel an appointment: reference + last name → the appointment → "wirklich absagen?" →
cancelled (or kept)."""

from __future__ import annotations

from pathlib import Path

from assistant.plugin import (
    Flow,
    LookupTask,
    Turn,
    Understanding,
    advance,
    answers,
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

    async def advance(self, turn: Turn) -> None:
        task = turn.task_as(CancelTask)
        if task.appointment_id is None and await blocks.identify(turn) is None:
            return
        task.step = "confirm"
        turn.say("cancel.confirm", buttons=blocks.yes_no(turn))

    async def answer(self, turn: Turn, meaning: Understanding) -> bool:
        task = turn.task_as(CancelTask)
        if task.step == "confirm" and not meaning.from_button and "reschedule" in turn.flows and (
                answers.asks_to_move(meaning.text)):
            # "nicht absagen, lieber verschieben auf Donnerstag um elf": the same appointment moved
            blocks.switch(turn, "reschedule", step=None)
            blocks.absorb(turn, meaning)
            await turn.flows["reschedule"].begin(turn, meaning)
            await advance(turn)
            return True
        return await steps.answer_step(turn, meaning)

    async def step(self, turn: Turn, meaning: Understanding) -> None:
        await steps.manage_step(turn, meaning, self.intents)

    async def confirm(self, turn: Turn) -> None:
        task = turn.task_as(CancelTask)
        assert task.appointment_id is not None
        view = await cancel.cancel(turn.ctx, task.appointment_id, turn.origin())
        if view is not None:  # nothing left to move or check: only that it was a cancellation
            blocks.task_done(turn, view)
            turn.facts.reference = turn.facts.last_start = None
        turn.state.task = None
        if view is None:
            turn.say("cancel.already", buttons=blocks.menu(turn))
            return
        turn.say("cancel.done", reference=view.display_reference,
                 buttons=blocks.menu(turn, short=True))


@hookimpl
def register_flows() -> list[Flow]:
    return [CancelFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("cancel.*.po"))
