"""Check an appointment: reference + last name → when and where it is (or that it was
cancelled). The appointment is kept in mind for a move or cancel right after."""

from __future__ import annotations

import re

from assistant.plugin import (
    Flow,
    LookupTask,
    Talk,
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

    async def advance(self, talk: Talk) -> None:
        task = talk.task_as(CheckTask)
        if await blocks.identify(talk) is None:
            return
        talk.state.task = None
        if task.about and task.service:  # what to bring to it, what it costs
            await blocks.answer_aside(talk, Understanding(text="", service=task.service),
                                      "ask_service_info")
        talk.say("menu.anything_else", buttons=blocks.menu(talk))

    async def begin(self, talk: Talk, u: Understanding) -> None:
        talk.task_as(CheckTask).about = answers.asks_about_service(u.text) or bool(
            _COST_OR_DOCUMENTS.search(u.text))

    async def answer(self, talk: Talk, u: Understanding) -> bool:
        return await steps.answer_step(talk, u)

    async def step(self, talk: Talk, u: Understanding) -> None:
        if talk.task_as(CheckTask).step == "proof":
            await steps.step_proof(talk, u)
        else:
            await steps.step_reference(talk, u)


_COST_OR_DOCUMENTS = re.compile(r"\b(mitbringen|mitnehmen|bring|kost\w*|cost\w*|gebühr\w*"
                                r"|fee|unterlagen|documents?)\b", re.I)


@hookimpl
def register_flows() -> list[Flow]:
    return [CheckFlow()]
