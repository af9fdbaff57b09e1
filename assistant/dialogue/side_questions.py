"""A question asked beside an answer ("08:15, muss ich ein Foto mitbringen?") or beside a
request ("… Can we come on Thursday? Also, does she really need a photo"): both are answered,
the side question before the next question of the task under way."""

from __future__ import annotations

from typing import Any

from assistant.dialogue import answers, reading
from assistant.dialogue.flow import Flow
from assistant.dialogue.turn import Turn
from assistant.dialogue.understanding import Understanding


def split_off(flows: dict[str, Any], turn: Turn, text: str) -> tuple[str, str] | None:
    """(answer, question) when a message to a pending question also asks about the service,
    its fee, the hours, the place or a fixed answer of the office (FAQ); None otherwise."""
    task = turn.task
    if task is None or text.lstrip().startswith("/") or "information" not in flows:
        return None
    split = answers.split_question(text)
    if split is None:
        return None
    answer_part, question = split
    if answers.yes_no(answer_part) is not None and task.step not in {"confirm", "contact"}:
        return None  # "Ja, aber was kostet das?" elsewhere: the question alone counts
    side = (answers.asks_about_service(question) or answers.asks_opening_hours(question)
            or answers.asks_where(question) or faq_for(flows, turn, question) is not None)
    return split if side else None


def faq_for(flows: dict[str, Any], turn: Turn, question: str) -> Flow | None:
    """The flow with the office's fixed answer to `question` (payment, documents by post …)."""
    asked = Understanding(text=question)
    return next((f for f in flows.values() if f.claims_first and f.claims(turn, asked)), None)


async def answer(flows: dict[str, Any], turn: Turn, question: str, mark: int) -> None:
    """Answer a side question after the replies since `mark`, before their last question if a
    task is still under way."""
    after = turn.replies[mark:]
    turn.replies[mark:] = []
    faq = faq_for(flows, turn, question)
    meaning = reading.read_locally(turn, question) or await reading.read(turn, question)
    if faq is not None:
        await faq.respond(turn, meaning)
    else:
        meaning.intent = ("ask_where" if answers.asks_where(question)
                          else "ask_opening_hours" if answers.asks_opening_hours(question)
                          else "ask_service_info")
        await flows["information"].respond(turn, meaning)
    side = turn.replies[mark:]
    pending = turn.task is not None and after
    turn.replies[mark:] = (after[:-1] + side + after[-1:]) if pending else after + side
