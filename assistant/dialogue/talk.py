"""One turn of a conversation, and the conversation's typed state.

The state is a pydantic model stored as JSON in the conversation row (`state.py`): the language,
what the citizen has told us so far (`Facts`, kept across tasks), the task under way (`Task`,
the typed state every flow in `actions/` works on), the snapshots `zurück` goes back to, and
how many misunderstandings came in a row. `ConversationState.load` accepts any older or broken
row and starts afresh rather than failing a citizen's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from assistant.booking import book as booking
from assistant.i18n import t
from assistant.messages import Button, Incoming, Reply

if TYPE_CHECKING:
    from assistant.context import Context

STATE_VERSION = 2


class SlotRef(BaseModel):
    """An offered or chosen slot: where and when."""

    office: str
    start: datetime
    end: datetime


class Contact(BaseModel):
    """A phone number or e-mail for confirmations; both None means "declined"."""

    phone: str | None = None
    email: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.phone or self.email)


class Task(BaseModel):
    """The typed state of the task under way (book, reschedule, cancel, check, video).

    Every flow uses the fields it needs: booking the wish (service, office, start..end), the
    offered and chosen slot with its hold, the citizen (name, contact); managing the
    identification (reference, proof) and the appointment found.
    """

    v: int = 1
    flow: str
    step: str | None = None
    mode: Literal["in_person", "video"] = "in_person"
    started: datetime | None = None
    turns: int = 0
    # the wish
    service: str | None = None
    office: str | None = None
    any_office: bool = False  # "egal wo, Hauptsache bald": the office with the earliest slot
    start: datetime | None = None
    end: datetime | None = None
    # slots
    offered: list[SlotRef] = []
    chosen: SlotRef | None = None
    hold: str | None = None
    # the citizen
    name: str | None = None
    contact: Contact | None = None
    contact_asked: bool = False
    # identifying an existing appointment
    reference: str | None = None
    proof: str | None = None
    reference_tried: str | None = None
    appointment_id: int | None = None
    current_start: datetime | None = None  # of the appointment found
    wants_earlier: bool = False  # "Geht das auch früher?" before the appointment was found
    tries: int = 0


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


class ConversationState(BaseModel):
    v: int = STATE_VERSION
    lang: str | None = None
    seen: datetime | None = None
    facts: Facts = Facts()
    task: Task | None = None
    history: list[Task] = []
    misses: int = 0

    @classmethod
    def load(cls, raw: dict[str, Any] | None) -> ConversationState:
        """The stored state; an older or unreadable one keeps only its language."""
        raw = raw or {}
        if raw.get("v") == STATE_VERSION:
            try:
                return cls.model_validate(raw)
            except ValidationError:
                pass
        lang = raw.get("lang")
        return cls(lang=lang if lang in ("de", "en") else None)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)


@dataclass
class Talk:
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
