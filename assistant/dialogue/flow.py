"""What a conversation flow is, and how the engine finds one.

A flow is one task a citizen can do (book, reschedule, cancel, check, video) or a side answer
(information, a person). Each lives in one file in `actions/` (or in a county's own package)
and registers through the `register_flows` hook, like every other plugin:

    class DogTaxFlow(Flow):
        name = "hundesteuer"
        intents = frozenset({"ask_dog_tax"})
        side = True

        async def respond(self, talk, u):
            ...  # talk.say(<a key of the county's own catalog>)

    @hookimpl
    def register_flows():
        return [DogTaxFlow()]

A task flow declares its own typed state, `state_model`: a `Task` composed of the parts it needs
(`SlotTask`, `PersonTask`, `LookupTask`, in `tasks.py`) plus fields of its own, stored as JSON
with the flow name. It works on `talk.task_as(ItsModel)`, asks for what is missing in
`advance`, reads the answer to its pending question in `answer` before any intent is consulted,
handles what is left in `step`, and does the thing in `confirm` when the citizen says yes:

    class BulkyWasteTask(PersonTask):
        v: int = 1  # raise it when the shape changes: stored tasks of the old one are dropped
        street: str | None = None

    class BulkyWasteFlow(Flow):
        name = "sperrmuell"
        intents = frozenset({"order_bulky_waste"})
        state_model = BulkyWasteTask

        async def advance(self, talk):
            task = talk.task_as(BulkyWasteTask)
            ...
"""

from __future__ import annotations

from assistant.dialogue.talk import Talk
from assistant.dialogue.tasks import Task
from assistant.dialogue.understanding import Understanding


class Flow:
    name: str = ""
    intents: frozenset[str] = frozenset()  # Rasa intents (and button payloads) that start it
    side: bool = False  # answers, and the task under way goes on afterwards
    reask: bool = True  # a side flow: ask the pending question of the task again afterwards
    state_model: type[Task] = Task  # a task flow's own typed state

    claims_first: bool = False  # a side flow whose `claims` beat every intent and question

    def claims(self, talk: Talk, u: Understanding) -> bool:
        """A side flow may take a message whatever its intent (e.g. a where-question)."""
        return False

    async def begin(self, talk: Talk, u: Understanding) -> None:
        """The task was just started by `u` (its service, office, time already taken in)."""

    async def advance(self, talk: Talk) -> None:
        """Ask for whatever the task still needs (or finish it)."""

    async def answer(self, talk: Talk, u: Understanding) -> bool:
        """Take the message as the answer to the question just asked, if it is one."""
        return False

    async def step(self, talk: Talk, u: Understanding) -> None:
        """The message answers nothing that fits and asks for nothing else: say so, ask again."""
        talk.say("reask.not_understood")
        await self.advance(talk)

    async def confirm(self, talk: Talk) -> None:
        """The citizen said yes to the summary."""

    async def respond(self, talk: Talk, u: Understanding) -> None:
        """A side flow's answer."""


async def advance(talk: Talk) -> None:
    """Let the flow of the task under way ask its next question."""
    task = talk.task
    if task is not None and task.flow in talk.flows:
        await talk.flows[task.flow].advance(talk)
