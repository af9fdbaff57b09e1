"""Check an appointment: reference + last name → when and where it is (or that it was
cancelled). The appointment is kept in mind for a move or cancel right after."""

from __future__ import annotations

from assistant.plugin import Flow, Talk, Understanding, blocks, hookimpl, steps


class CheckFlow(Flow):
    name = "check"
    intents = frozenset({"check_appointment"})

    async def advance(self, talk: Talk) -> None:
        if await blocks.identify(talk) is None:
            return
        talk.state.task = None
        talk.say("menu.anything_else", buttons=blocks.menu(talk))

    async def answer(self, talk: Talk, u: Understanding) -> bool:
        return await steps.answer_step(talk, u)

    async def step(self, talk: Talk, u: Understanding) -> None:
        task = talk.task
        assert task is not None
        if task.step == "proof":
            await steps.step_proof(talk, u)
        else:
            await steps.step_reference(talk, u)


@hookimpl
def register_flows() -> list[Flow]:
    return [CheckFlow()]
