"""The typed state of a task under way: a small base and the parts flows compose it from.

Every flow declares its own model in its own file from the base `Task` and the parts it needs,
and names it as `Flow.state_model`:

    class BookTask(SlotTask, PersonTask): ...           # actions/book.py
    class CancelTask(LookupTask): ...                   # actions/cancel.py
    class DogTaxTask(Task): dog: str | None = None      # a county's own flow

The parts are `Task`s themselves, so a building block typed against one (`SlotTask` for
offering a slot, `PersonTask` for the name, `LookupTask` for finding an appointment) still sees
the flow name and the step. The conversation row stores a task as JSON with its flow name and
`v`; a flow raises `v` in its model when a stored task of the old shape can no longer be read,
and such a task is dropped (the conversation starts afresh) rather than misread.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel


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
    """What every task has: its flow, the pending question, how long it took, and what it is
    about (the service and office asked for, or those of the appointment found), which side
    answers (information, a person) and the way out read whatever the flow."""

    v: int = 1  # the model's version; a flow raises the default when its shape changes
    flow: str
    step: str | None = None
    mode: Literal["in_person", "video"] = "in_person"
    started: datetime | None = None
    turns: int = 0
    tries: int = 0
    service: str | None = None
    office: str | None = None


class SlotTask(Task):
    """Choosing a slot: the wish's window, the slots offered, the one chosen and its hold."""

    any_office: bool = False  # "egal wo, Hauptsache bald": the office with the earliest slot
    start: datetime | None = None
    end: datetime | None = None
    daily: tuple[time, time] | None = None  # "nächste Woche vormittags": that time each day
    offered: list[SlotRef] = []
    chosen: SlotRef | None = None
    hold: str | None = None


class PersonTask(Task):
    """The citizen a booking is for: the name and an optional contact."""

    name: str | None = None
    contact: Contact | None = None
    contact_asked: bool = False


class LookupTask(Task):
    """Finding an existing appointment by reference and proof (a last name or contact)."""

    reference: str | None = None
    proof: str | None = None
    reference_tried: str | None = None
    appointment_id: int | None = None
    current_start: datetime | None = None  # of the appointment found
    wants_earlier: bool = False  # "Geht das auch früher?" before the appointment was found
    proof_guessed: bool = False  # taken from the words around the code, not said as the name
    proof_tried: str | None = None  # the name given with a code that was not found (mistyped)


def version(model: type[Task]) -> int:
    """The version a model writes (its `v` default)."""
    default = model.model_fields["v"].default
    return default if isinstance(default, int) else 1
