"""Wishes relative to an appointment: shifts, the day after, the same as before, moving."""

from __future__ import annotations

import re

from ._text import _fold
from .commands import _ANY_OFFICE

_COUNT = {"ein": 1, "eine": 1, "einen": 1, "einem": 1, "1": 1, "a": 1, "one": 1, "zwei": 2,
          "2": 2, "two": 2, "drei": 3, "3": 3, "three": 3, "vier": 4, "4": 4, "four": 4}
_SHIFT = re.compile(
    r"\b(?:um |by )?(ein|eine|einen|einem|1|a|one|zwei|2|two|drei|3|three|vier|4|four)\s+"
    r"(tag|tage|tagen|day|days|woche|wochen|week|weeks)\s+(?:später|spaeter|nach hinten|weiter"
    r"|danach|later|on|back|verschieben|schieben|verlegen)|\b(?:push|move|put)\b.{0,60}?\bback\s+"
    r"(?:by\s+)?(a|one|two|2|three|3)\s+(day|days|week|weeks)\b")


_RELATIVE_DAY = re.compile(
    r"\b(?:(?:am|den) tag (?P<bef>davor|vorher)"
    r"|(?:einen|1) tag (?P<bef2>vorher|früher|frueher|eher|vorziehen|vorverlegen|zurück)"
    r"|the day before(?! yesterday)|a day (?P<bef3>earlier|before)"
    r"|(?:am|den) tag (?P<aft>danach|darauf)|(?:einen|1) tag (?P<aft2>später|spaeter|danach"
    r"|nach hinten|weiter)"
    r"|the (?:next|following) day|the day after(?! tomorrow)|a day later)\b")


def relative_day(text: str) -> int | None:
    """"am Tag davor" -> -1, "the day after" -> +1 (of the day under discussion); None."""
    m = _RELATIVE_DAY.search(_fold(text))
    if not m:
        return None
    before = m.group("bef") or m.group("bef2") or m.group("bef3") or "day before" in m.group(0)
    return -1 if before else 1


_WEEKDAYS = {"montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4,
             "samstag": 5, "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
             "friday": 4, "saturday": 5}
_WEEKDAY_AFTER = re.compile(
    r"\b(?:(?:den|dem|am|auf den) (?P<de>montag|dienstag|mittwoch|donnerstag|freitag|samstag)"
    r" (?:danach|darauf|drauf|dernach|drnach)"
    r"|the (?P<en>monday|tuesday|wednesday|thursday|friday|saturday) (?:after|afterwards|following)"
    r"|the following (?P<en2>monday|tuesday|wednesday|thursday|friday|saturday))\b")


def weekday_after(text: str) -> int | None:
    """"auf den Dienstag danach", "the Tuesday after": that weekday (0 = Monday) after the
    day under discussion; None."""
    m = _WEEKDAY_AFTER.search(_fold(text))
    return _WEEKDAYS[m.group("de") or m.group("en") or m.group("en2")] if m else None


_SAME_AS_BEFORE = {
    "day": re.compile(r"\b(?:am |den )?(?:gleichen|selben|selbigen) tag|\bsame day\b"),
    "office": re.compile(r"\b(?:gleiche[ns]?|selbe[ns]?|same) (?:bürgerbüro|buergerbuero|büro|buero"
                         r"|office|amt|ort|place|location)\b|\bda auch\b|\bthere too\b"),
}


def same_as_before(text: str) -> set[str]:
    """What a second booking takes from the one before: "am gleichen Tag" (day), "same office"
    (office)."""
    folded = _fold(text)
    return {what for what, rx in _SAME_AS_BEFORE.items() if rx.search(folded)}


_CANCELS_IT = re.compile(r"\b(absag\w*|abzusagen|stornier\w*|streich\w*|cancel (?:it"
                         r"|the appointment|my appointment|that appointment|the whole thing))\b")


def cancels_appointment(text: str) -> bool:
    """"lieber ganz absagen", "just cancel it": the appointment itself is to go (not only the
    question under way)."""
    return bool(_CANCELS_IT.search(_fold(text)))


_SHIFT_HOURS = re.compile(
    r"\b(?P<n>eine|einer|ein|1|zwei|2|drei|3|an|one|two|three|a|half an|eine halbe|ne halbe)\s+"
    r"(?P<unit>stunden?|hours?|std\.?)\s+(?P<dir>später|spaeter|früher|frueher|eher|later|earlier"
    r"|sooner|nach hinten|nach vorn)\b")


def shift_minutes(text: str) -> int | None:
    """Minutes to move an appointment on its day: "eine Stunde später" -> 60, "an hour earlier"
    -> -60, "eine halbe Stunde früher" -> -30; None."""
    m = _SHIFT_HOURS.search(_fold(text))
    if not m:
        return None
    n = m.group("n")
    minutes = 30 if "halb" in n or n.startswith("half") else 60 * _COUNT.get(n, 1)
    later = m.group("dir") in {"später", "spaeter", "later", "nach hinten"}
    return minutes if later else -minutes


def shift_in(text: str) -> int | None:
    """Days to move an appointment by: "um eine Woche nach hinten schieben" -> 7, "two days
    later" -> 2; None when the text names no such shift."""
    m = _SHIFT.search(_fold(text))
    if not m:
        return None
    count, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    days = _COUNT.get(count, 1)
    return days * 7 if unit.startswith(("woche", "week")) else days


_MOVE = re.compile(r"\b(verschieb\w*|verleg\w*|umleg\w*|umbuch\w*|reschedul\w*|move it|move the"
                   r"|postpone|push it|change (?:it|the date|the time) to|lieber (?:am|auf)"
                   r"|rather (?:on|to)|instead)\b")


def asks_to_move(text: str) -> bool:
    """"lieber verschieben auf Donnerstag", "can we move it to Friday": a wish to move the
    appointment (at the question whether to cancel it)."""
    return bool(_MOVE.search(_fold(text)))


def any_office(text: str) -> bool:
    """"egal wo", "any office is fine": the office does not matter, the time does."""
    return bool(_ANY_OFFICE.search(_fold(text)))
