"""What a conversation flow is, and how the engine finds one.

A flow is one task a citizen can do (book, reschedule, cancel, check, video) or a side answer
(information, a person). Each lives in one file in `actions/` (or in a county's own package)
and registers through the `register_flows` hook, like every other plugin:

    class DogTaxFlow(Flow):
        name = "hundesteuer"
        intents = frozenset({"ask_dog_tax"})
        side = True

        async def respond(self, turn, meaning):
            ...  # turn.say(<a key of the county's own catalog>)

    @hookimpl
    def register_flows():
        return [DogTaxFlow()]

A task flow declares its own typed state, `state_model`: a `Task` composed of the parts it needs
(`SlotTask`, `PersonTask`, `LookupTask`, in `tasks.py`) plus fields of its own, stored as JSON
with the flow name. It works on `turn.task_as(ItsModel)`, asks for what is missing in
`advance`, reads the answer to its pending question in `answer` before any intent is consulted,
handles what is left in `step`, and does the thing in `confirm` when the citizen says yes:

    class BulkyWasteTask(PersonTask):
        v: int = 1  # raise it when the shape changes: stored tasks of the old one are dropped
        street: str | None = None

    class BulkyWasteFlow(Flow):
        name = "sperrmuell"
        intents = frozenset({"order_bulky_waste"})
        state_model = BulkyWasteTask

        async def advance(self, turn):
            task = turn.task_as(BulkyWasteTask)
            ...
"""

from __future__ import annotations

from assistant.dialogue.tasks import Task
from assistant.dialogue.turn import Turn
from assistant.dialogue.understanding import Understanding


class Flow:
    name: str = ""
    intents: frozenset[str] = frozenset()  # Rasa intents (and button payloads) that start it
    side: bool = False  # answers, and the task under way goes on afterwards
    reask: bool = True  # a side flow: ask the pending question of the task again afterwards
    state_model: type[Task] = Task  # a task flow's own typed state

    claims_first: bool = False  # a side flow whose `claims` beat every intent and question

    def claims(self, turn: Turn, meaning: Understanding) -> bool:
        """A side flow may take a message whatever its intent (e.g. a where-question)."""
        return False

    async def begin(self, turn: Turn, meaning: Understanding) -> None:
        """The task was just started by `meaning` (its service, office, time already taken in)."""

    async def advance(self, turn: Turn) -> None:
        """Ask for whatever the task still needs (or finish it)."""

    async def answer(self, turn: Turn, meaning: Understanding) -> bool:
        """Take the message as the answer to the question just asked, if it is one."""
        return False

    async def step(self, turn: Turn, meaning: Understanding) -> None:
        """The message answers nothing that fits and asks for nothing else: say so, ask again."""
        turn.say("reask.not_understood")
        await self.advance(turn)

    async def confirm(self, turn: Turn) -> None:
        """The citizen said yes to the summary."""

    async def respond(self, turn: Turn, meaning: Understanding) -> None:
        """A side flow's answer."""


async def advance(turn: Turn) -> None:
    """Let the flow of the task under way ask its next question."""
    task = turn.task
    if task is not None and task.flow in turn.flows:
        await turn.flows[task.flow].advance(turn)
