"""The typed state per flow (issue 13): each flow stores its own model with its flow name; a
conversation stored with the old shared task (state version 2) goes on where it was; a task
of a flow no longer switched on, or of an older version of its model, is dropped and the
citizen starts afresh, without an error."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from assistant.booking import availability, book
from assistant.dialogue.turn import STATE_VERSION, ConversationState
from assistant.storage.models import Conversation
from assistant.testing import Harness
from tests.conftest import NOW


def _old_task(flow: str, **values: Any) -> dict[str, Any]:
    """A task as version 2 stored it: one shared model with every field of every flow."""
    task: dict[str, Any] = {
        "v": 1, "flow": flow, "step": None, "mode": "in_person", "started": NOW.isoformat(),
        "turns": 3, "service": None, "office": None, "any_office": False, "start": None,
        "end": None, "offered": [], "chosen": None, "hold": None, "name": None,
        "contact": None, "contact_asked": False, "reference": None, "proof": None,
        "reference_tried": None, "appointment_id": None, "current_start": None,
        "wants_earlier": False, "tries": 0,
    }
    task.update(values)
    return task


def _old_row(task: dict[str, Any] | None, history: list[dict[str, Any]]) -> dict[str, Any]:
    return {"v": 2, "lang": "de", "seen": NOW.isoformat(), "misses": 0, "task": task,
            "history": history, "facts": {
                "service": "personalausweis", "office": "coswig", "start": None, "end": None,
                "name": "Anna Berger", "contact": None, "reference": None, "proof": None,
                "last_service": None, "last_office": None, "last_start": None}}


async def _store(h: Harness, state: dict[str, Any], sender: str = "citizen") -> None:
    async with h.ctx.db() as session:
        session.add(Conversation(channel=h.channel_name, sender=sender, state=state,
                                 updated_at=NOW))
        await session.commit()


async def _stored(h: Harness, sender: str = "citizen") -> dict[str, Any]:
    async with h.ctx.db() as session:
        row = await session.scalar(select(Conversation).where(Conversation.sender == sender))
        assert row is not None
        return dict(row.state)


async def test_a_booking_stored_with_the_old_shared_task_goes_on(
        offline_harness: Harness) -> None:
    h = offline_harness
    slots = await availability.free_slots(h.ctx, "personalausweis", "coswig", NOW,
                                          NOW + timedelta(days=14), limit=2)
    first = slots[0]
    token = await book.hold(h.ctx, "coswig", first.start, first.end,
                            service_id="personalausweis")
    assert token is not None
    offered = [{"office": "coswig", "start": s.start.isoformat(), "end": s.end.isoformat()}
               for s in slots]
    booking = _old_task("book", step="name", service="personalausweis", office="coswig",
                        start=NOW.isoformat(), end=(NOW + timedelta(days=14)).isoformat(),
                        offered=offered, chosen=offered[0], hold=token)
    checked = _old_task("check", step="proof", reference="K7M-4PQ")
    await _store(h, _old_row(booking, [checked, {**booking, "step": "slot", "hold": None,
                                                  "chosen": None}]))

    r = await h.say("Anna Berger")  # the name asked for before the update
    assert [x.key for x in r] == ["book.ask_contact"]
    stored = await _stored(h)
    assert stored["v"] == STATE_VERSION
    assert stored["task"]["flow"] == "book" and stored["task"]["name"] == "Anna Berger"
    assert "reference" not in stored["task"]  # a booking stores only what a booking has
    assert [t["flow"] for t in stored["history"]][:2] == ["check", "book"]
    assert "offered" not in stored["history"][0]

    r = await h.say("/skip")
    assert r[-1].key == "book.summary" and "Anna Berger" in r[-1].text
    r = await h.say("/affirm")  # the slot held before the update is booked
    assert r[0].key == "book.done"
    assert r[0].data["appointment"]["start"] == first.start.isoformat()


async def test_a_task_of_a_flow_no_longer_switched_on_is_dropped_quietly(
        offline_harness: Harness) -> None:
    h = offline_harness
    county = {"v": 1, "flow": "hundesteuer", "step": "dog", "turns": 2, "dog": "Bello"}
    await _store(h, {**_old_row(None, []), "v": STATE_VERSION, "task": county,
                     "history": [county]})
    r = await h.say("/book_appointment")
    assert "error.internal" not in [x.key for x in r]
    # the service and office told before are still known: the booking asks for the time
    assert r[-1].key == "book.ask_time"
    stored = await _stored(h)
    assert stored["task"]["flow"] == "book" and stored["history"] == []


async def test_a_task_of_an_older_version_of_its_model_is_dropped(
        offline_harness: Harness) -> None:
    dialogue = offline_harness.ctx.dialogue
    assert dialogue is not None
    book_model = dialogue.models["book"]

    class BookTaskV2(book_model):  # type: ignore[misc, valid-type]
        v: int = 2  # a later release changed the booking's shape

    raw = _old_row(_old_task("book", step="time", service="reisepass"), [])
    state = ConversationState.load(raw, {**dialogue.models, "book": BookTaskV2})
    assert state.task is None and state.lang == "de"
    assert state.facts.name == "Anna Berger"  # what the citizen told us stays
    again = ConversationState.load(raw, dialogue.models)
    assert isinstance(again.task, book_model) and again.task.service == "reisepass"

