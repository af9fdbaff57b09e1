"""Asking back when the NLU is unsure, and not asking when both readings mean the same.

Rasa's confidences are set here by a stand-in server that answers `/model/parse` in Rasa's
wire format, because a trained model cannot be made to score exactly 0.43 on purpose; the
real model's behaviour is tested in test_dialogue_rasa.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from assistant.i18n import t
from assistant.testing import Harness, ScriptedRasa, buttons, texts
from tests.conftest import NOW


def ranked(*ranking: tuple[str, float]) -> dict[str, Any]:
    """Rasa's answer for these scores, its fallback classifier included: an unsure ranking
    comes back as `nlu_fallback`."""
    scores = [{"name": n, "confidence": c} for n, c in ranking]
    best = scores[0]
    unsure = best["confidence"] < 0.3 or best["confidence"] - scores[1]["confidence"] < 0.1
    intent: dict[str, Any] = {"name": "nlu_fallback", "confidence": 0.3} if unsure else best
    return {"intent": intent, "entities": [],
            "intent_ranking": ([intent] if unsure else []) + scores}


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[ScriptedRasa, Harness]]:
    """Every text gets the answer the test sets as `rasa.default`."""
    async with ScriptedRasa() as rasa, Harness(nlu_url=rasa.url, now=NOW) as h:
        yield rasa, h


async def test_booking_or_answer_with_a_service_books_without_asking_back(
    scripted: tuple[ScriptedRasa, Harness],
) -> None:
    rasa, h = scripted
    rasa.default = ranked(("book_appointment", 0.43), ("inform", 0.38), ("ask_service_info", 0.1))
    replies = await h.say("Ich brauche einen neuen Personalausweis in Meißen")
    said = texts(replies)
    assert t("clarify", "de") not in said
    assert said.startswith("Wann passt es Ihnen?"), said  # the booking goes on


async def test_two_different_actions_are_offered_as_buttons(
    scripted: tuple[ScriptedRasa, Harness],
) -> None:
    rasa, h = scripted
    rasa.default = ranked(("cancel_appointment", 0.45), ("check_appointment", 0.4), ("inform", 0.1))
    replies = await h.say("Mein Termin am Dienstag")
    assert t("clarify", "de") in texts(replies)
    payloads = [b.payload.split("{")[0] for b in buttons(replies)]
    assert payloads[:2] == ["/cancel_appointment", "/check_appointment"]


async def test_a_weak_pair_is_still_asked_back(
    scripted: tuple[ScriptedRasa, Harness],
) -> None:
    rasa, h = scripted
    rasa.default = ranked(("book_appointment", 0.26), ("inform", 0.22), ("help", 0.2))
    replies = await h.say("Hm, vielleicht irgendwann")
    assert t("clarify", "de") in texts(replies)


async def test_a_weak_pair_naming_service_and_office_starts_the_booking(
    scripted: tuple[ScriptedRasa, Harness],
) -> None:
    # A service with an office or a day is a booking whatever the scores: asking back would
    # only cost a turn, and the summary confirms before anything is stored.
    rasa, h = scripted
    rasa.default = ranked(("book_appointment", 0.26), ("inform", 0.22), ("help", 0.2))
    replies = await h.say("Personalausweis Meißen vielleicht")
    assert t("book.ask_time", "de") in texts(replies)
