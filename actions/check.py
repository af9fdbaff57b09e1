"""Check an appointment: reference + last name → when and where it is (or that it was
cancelled). The appointment is kept in mind for a move or cancel right after."""

from __future__ import annotations

import re

from assistant.plugin import (
    Flow,
    LookupTask,
    Turn,
    Understanding,
    answers,
    blocks,
    hookimpl,
    steps,
)


class CheckTask(LookupTask):
    """Checking: the appointment identified by reference and proof."""

    about: bool = False  # "Was muss ich zu meinem Termin … mitbringen?": its documents and fee


class CheckFlow(Flow):
    name = "check"
    intents = frozenset({"check_appointment"})
    state_model = CheckTask

    async def advance(self, turn: Turn) -> None:
        task = turn.task_as(CheckTask)
        if await blocks.identify(turn) is None:
            return
        turn.state.task = None
        if task.about and task.service:  # what to bring to it, what it costs
            await blocks.answer_aside(turn, Understanding(text="", service=task.service),
                                      "ask_service_info")
        turn.say("menu.anything_else", buttons=blocks.menu(turn))

    async def begin(self, turn: Turn, meaning: Understanding) -> None:
        turn.task_as(CheckTask).about = answers.asks_about_service(meaning.text) or bool(
            _COST_OR_DOCUMENTS.search(meaning.text))

    async def answer(self, turn: Turn, meaning: Understanding) -> bool:
        return await steps.answer_step(turn, meaning)

    async def step(self, turn: Turn, meaning: Understanding) -> None:
        if turn.task_as(CheckTask).step == "proof":
            await steps.step_proof(turn, meaning)
        else:
            await steps.step_reference(turn, meaning)


_COST_OR_DOCUMENTS = re.compile(r"\b(mitbringen|mitnehmen|bring|kost\w*|cost\w*|gebühr\w*"
                                r"|fee|unterlagen|documents?)\b", re.I)


@hookimpl
def register_flows() -> list[Flow]:
    return [CheckFlow()]
