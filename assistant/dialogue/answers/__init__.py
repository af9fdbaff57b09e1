"""Reading the answer to the question just asked, before any intent is consulted.

People answer a question inside a sentence ("Die Nummer 3 nehme ich, vielen Dank", "Ich heiße
Anna Berger", "ja gern, 0151 1234 5678"), so each pending question has a reader here that
takes what fits out of the text. Pure functions on text, without NLU, so they also work when
Rasa is down and cost nothing.

The readers live in modules by subject: `commands` (abort, restart, a person, repeat, where,
corrections), `questions` (a question beside an answer), `wishes` (moves relative to an
appointment), `choices` (yes/no, a pick from a list, whether a day is named), `names`,
`proof` (the last name beside a code) and `contact`.
"""

from __future__ import annotations

from .choices import (
    names_a_day,
    ordinal_choice,
    yes_no,
)
from .commands import (
    aborts_strongly,
    after_correction,
    asks_opening_hours,
    asks_to_repeat,
    asks_where,
    command_in_sentence,
    corrects_itself,
)
from .contact import (
    ContactAnswer,
    contact_answer,
)
from .names import (
    asks_whose_name,
    for_someone_else,
    name_among_facts,
    name_beside_choice,
    name_for_relative,
    name_in_first_message,
    name_in_sentence,
    plausible_name,
)
from .proof import (
    proof_beside_code,
    proof_in_sentence,
    proof_stated,
)
from .questions import (
    asks_about_service,
    follows_up,
    is_confused,
    is_insult,
    looks_like_question,
    side_question_in,
    split_question,
)
from .wishes import (
    any_office,
    asks_to_move,
    cancels_appointment,
    relative_day,
    same_as_before,
    shift_in,
    shift_minutes,
    weekday_after,
)

__all__ = [
    "ContactAnswer",
    "aborts_strongly",
    "after_correction",
    "any_office",
    "asks_about_service",
    "asks_opening_hours",
    "asks_to_move",
    "asks_to_repeat",
    "asks_where",
    "asks_whose_name",
    "cancels_appointment",
    "command_in_sentence",
    "contact_answer",
    "corrects_itself",
    "follows_up",
    "for_someone_else",
    "is_confused",
    "is_insult",
    "looks_like_question",
    "name_among_facts",
    "name_beside_choice",
    "name_for_relative",
    "name_in_first_message",
    "name_in_sentence",
    "names_a_day",
    "ordinal_choice",
    "plausible_name",
    "proof_beside_code",
    "proof_in_sentence",
    "proof_stated",
    "relative_day",
    "same_as_before",
    "shift_in",
    "shift_minutes",
    "side_question_in",
    "split_question",
    "weekday_after",
    "yes_no",
]
