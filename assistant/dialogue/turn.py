"""One turn of a conversation, and the conversation's typed state.

The state is a pydantic model stored as JSON in the conversation row (`state.py`): the language,
what the citizen has told us so far (`Facts`, kept across tasks), the task under way (each flow's
own model, `tasks.py`, stored with its flow name), the snapshots `zurück` goes back to, and
how many misunderstandings came in a row. `ConversationState.load` reads a task with the model
of its flow; a task of a flow no longer switched on, of an older version of its model, or that
does not fit it is dropped, and an older or broken row starts afresh (keeping its language),
rather than failing a citizen's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, SerializeAsAny, ValidationError

from assistant.booking import book as booking
from assistant.dialogue.tasks import Contact, Task, version
from assistant.i18n import t
from assistant.messages import Button, Incoming, Reply

if TYPE_CHECKING:
    from assistant.context import Context

STATE_VERSION = 3
# Version 2 kept one shared `Task` with every field of every flow; its task (and history) is
# read into the flow's own model, keeping the fields that model has.
READABLE_VERSIONS = (2, STATE_VERSION)
T = TypeVar("T", bound=Task)


class Facts(BaseModel):
    """What the citizen told us in this conversation, offered to the next task."""

    service: str | None = None
    office: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    name: str | None = None
    contact: Contact | None = None
    reference: str | None = None
    proof: str | None = None
    last_service: str | None = None  # of the appointment just booked, moved or found
    last_office: str | None = None
    last_start: datetime | None = None
    last_done: str | None = None  # the flow that last finished with it: "cancel", "book" …


class ConversationState(BaseModel):
    v: int = STATE_VERSION
    lang: str | None = None
    seen: datetime | None = None
    facts: Facts = Facts()
    task: SerializeAsAny[Task] | None = None
    history: list[SerializeAsAny[Task]] = []  # snapshots of tasks for "zurück"
    misses: int = 0

    @classmethod
    def load(cls, raw: dict[str, Any] | None,
             models: dict[str, type[Task]]) -> ConversationState:
        """The stored state, each task read with its flow's model (`models`: flow name ->
        `Flow.state_model`); an older or unreadable state keeps only its language."""
        raw = raw or {}
        if raw.get("v") in READABLE_VERSIONS:
            rest = {k: v for k, v in raw.items() if k not in ("v", "task", "history")}
            try:
                state = cls.model_validate(rest)
            except ValidationError:
                pass
            else:
                state.task = read_task(raw.get("task"), models)
                if state.task is not None or raw.get("task") is None:
                    found = (read_task(h, models) for h in raw.get("history") or [])
                    state.history = [h for h in found if h is not None]
                # else: the task was dropped; start afresh, without its past
                return state
        lang = raw.get("lang")
        return cls(lang=lang if lang in ("de", "en") else None)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)


def read_task(raw: object, models: dict[str, type[Task]]) -> Task | None:
    """A stored task in its flow's model; None for a flow not switched on (any more), a task
    of another version of the model, or one that does not fit it."""
    if not isinstance(raw, dict):
        return None
    model = models.get(str(raw.get("flow")))
    if model is None or raw.get("v", 1) != version(model):
        return None
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None


@dataclass
class Turn:
    """One turn: the message, the conversation state and the replies being built."""

    ctx: Context
    msg: Incoming
    state: ConversationState
    now: datetime
    replies: list[Reply] = field(default_factory=list)
    flows: dict[str, Any] = field(default_factory=dict)  # name -> Flow, from the engine

    @property
    def lang(self) -> str:
        return self.state.lang or "de"

    @property
    def task(self) -> Task | None:
        return self.state.task

    def task_as(self, kind: type[T]) -> T:
        """The task under way as `kind`: its flow's model or a part of it (`SlotTask`, …).
        A flow using a block its model lacks the part for is a programming error."""
        task = self.state.task
        if not isinstance(task, kind):
            raise TypeError(f"the task {task.flow if task else None!r} is no {kind.__name__}")
        return task

    @property
    def facts(self) -> Facts:
        return self.state.facts

    def say(self, key: str, buttons: list[Button] | None = None,
            data: dict[str, Any] | None = None, **params: Any) -> None:
        self.replies.append(Reply(text=t(key, self.lang, **params), buttons=tuple(buttons or ()),
                                  key=key, params=params, data=data or {}, language=self.lang))

    def button(self, key: str, payload: str, **params: Any) -> Button:
        return Button(t(key, self.lang, **params), payload)

    def origin(self) -> booking.Origin:
        task = self.task
        seconds = (int((self.now - task.started).total_seconds())
                   if task is not None and task.started else None)
        return booking.Origin(channel=self.msg.channel, sender=self.msg.sender, language=self.lang,
                              turns=task.turns if task else None, seconds=seconds)

    def learn(self, **values: Any) -> None:
        """Keep what the citizen told us for the next task."""
        for key, value in values.items():
            if value is not None:
                setattr(self.state.facts, key, value)
