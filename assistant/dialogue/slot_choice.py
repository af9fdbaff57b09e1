"""Which offered slot a message picks: a number or ordinal, a clock time from the list, a
day and time, "the later of 8:00 and 8:15"; and the day a bare clock time refers to."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from assistant.dialogue import answers
from assistant.dialogue.tasks import LookupTask, SlotRef, SlotTask
from assistant.dialogue.turn import Turn
from assistant.dialogue.understanding import Understanding
from assistant.nlu.spoken import normalize_spoken


def _day_under_discussion(task: SlotTask) -> datetime | None:
    """The day a bare clock time refers to: of the wish, the chosen slot or the appointment."""
    if task.start is not None and task.end is not None and (
            task.end - task.start) <= timedelta(days=1):
        return task.start
    if task.chosen is not None:
        return task.chosen.start
    if task.offered:  # "um elf" to a list: the first day shown
        return task.offered[0].start
    return task.current_start if isinstance(task, LookupTask) else None


def slot_index(turn: Turn, meaning: Understanding) -> int | None:
    """Which offered slot the message picks: a number or ordinal ("die Nummer 3 nehme ich"),
    a clock time from the list ("um 10:45", "halb neun"), or a day + time."""
    task = turn.task
    offered = task.offered if isinstance(task, SlotTask) else []
    if not offered:
        return None
    bare = re.fullmatch(r"\W*(\d{1,2})\W*", meaning.text)
    hour = int(bare.group(1)) if bare and not meaning.from_button else 0
    if hour > len(offered) and 6 <= hour <= 20 and isinstance(task, SlotTask) and (
            day := _day_under_discussion(task)) is not None:
        # "9" to a list of four: nine o'clock on the day being discussed
        local = day.astimezone(turn.now.tzinfo)
        meaning.start = meaning.end = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        meaning.choice = None
    if meaning.choice is not None:
        return meaning.choice if 1 <= meaning.choice <= len(offered) else None
    if meaning.office and not meaning.from_button and isinstance(task, SlotTask):
        # "dann Riesa, die 1", "Riesa is fine then, 10:15": among the slots at that office only;
        # none there: the wish moves to that office (absorb) and is searched again
        at = [i for i, s in enumerate(offered, 1) if s.office == meaning.office]
        if not at or (meaning.has_time and meaning.start != meaning.end):
            return None  # "dann eben in Großenhain am 28.12.": that office's times that day
        found = _index_in(turn, [offered[i - 1] for i in at], meaning, office_named=True)
        return at[found - 1] if found is not None else None
    return _index_in(turn, offered, meaning)


def _index_in(turn: Turn, offered: list[SlotRef], meaning: Understanding,
              office_named: bool = False) -> int | None:
    if meaning.has_time and (between := _of_two(offered, meaning)) is not None:
        return between  # "zwischen 8:00 und 8:15 nehme ich den späteren"
    # "die 3, ne doch die 2": the choice after the correction
    spoken = normalize_spoken(answers.after_correction(meaning.text), turn.lang)
    picked = answers.ordinal_choice(spoken, len(offered))
    exact_time = meaning.has_time and meaning.start == meaning.end
    if picked is not None and not answers.names_a_day(meaning.text) and not exact_time:
        return picked
    if meaning.has_time:
        index = match_slot(offered, meaning, answers.names_a_day(meaning.text))
        if index is not None:
            return index
        if meaning.start != meaning.end or answers.names_a_day(meaning.text) or exact_time:
            return None  # another day, a window or a time not offered: search again
    if meaning.service or (meaning.office and not office_named):
        return None
    return picked


_LATER_ONE = re.compile(r"\b(?:den|die|das|the) (?:spätere|spaetere|later)\w*", re.I)
_EARLIER_ONE = re.compile(r"\b(?:den|die|das|the) (?:frühere|fruehere|earlier)\w*", re.I)


def _of_two(offered: list[SlotRef], meaning: Understanding) -> int | None:
    """"the later/earlier one" of the offered slots inside the window the message names."""
    later, earlier = _LATER_ONE.search(meaning.text), _EARLIER_ONE.search(meaning.text)
    if meaning.start is None or meaning.end is None or bool(later) == bool(earlier):
        return None
    tz, day_named = meaning.start.tzinfo, answers.names_a_day(meaning.text)

    def hm(t: datetime) -> tuple[int, int]:
        return t.hour, t.minute
    # without a day named, the clock times count on the day under discussion
    inside = [i for i, s in enumerate(offered, 1)
              if (meaning.start <= s.start <= meaning.end if day_named
                  else hm(meaning.start) <= hm(s.start.astimezone(tz)) <= hm(meaning.end))]
    if len(inside) < 2:
        return None
    pick = max if later else min
    return pick(inside, key=lambda i: offered[i - 1].start)


def match_slot(offered: list[SlotRef], meaning: Understanding, day_named: bool) -> int | None:
    """Which offered slot a time in the message means ("den um 10", "halb drei", "Dienstag").

    A bare clock time keeps the day under discussion: it matches the offered slot at that time
    on any offered day (half past two is 14:30 in an office). With a day named, the day must
    match too."""
    assert meaning.start is not None and meaning.end is not None
    hits = []
    weekday_only = day_named and not re.search(r"\d{1,2}\.\s*\d{0,2}|\b(heute|morgen|today|"
                                               r"tomorrow)\b", meaning.text, re.I)
    for i, s in enumerate(offered, 1):
        start = s.start.astimezone(meaning.start.tzinfo)
        if meaning.start == meaning.end:
            # "Dienstag, 08:00" for an offered Tuesday in a later week is that Tuesday
            same_day = start.date() == meaning.start.date() or (
                weekday_only and start.weekday() == meaning.start.weekday())
            if day_named and not same_day:
                continue
            if (start.hour, start.minute) == (meaning.start.hour, meaning.start.minute):
                hits.append((0 if same_day else 1, i))
            elif (start.hour % 12, start.minute) == (meaning.start.hour % 12, meaning.start.minute):
                hits.append((2, i))
        elif meaning.start <= start <= meaning.end:
            hits.append((0, i))
    hits.sort()
    return hits[0][1] if hits and (len(hits) == 1 or hits[0][0] != hits[1][0]) else None
