"""What one message means to the dialogue: intent, entities, time, or a button payload.

Button payloads follow Rasa's convention (`/book_appointment{"service": "reisepass"}`) and skip
NLU. A few words work the same in every state and language (abbrechen, zurück, neu starten)
and are recognised here without NLU, so they work even when Rasa is down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from assistant.http.common import BadJSON, loads_json

INTENTS = {
    "greet", "goodbye", "affirm", "deny", "thank", "book_appointment", "reschedule_appointment",
    "cancel_appointment", "check_appointment", "request_video_call", "request_human",
    "ask_service_info", "ask_opening_hours", "inform", "help", "out_of_scope",
}
# Payload-only actions of buttons.
COMMANDS = {"choose", "skip", "restart", "abort", "back", "video_now", "video_appointment",
            "set_language", "change"}
FLOW_INTENTS = {
    "book_appointment": "book",
    "reschedule_appointment": "reschedule",
    "cancel_appointment": "cancel",
    "check_appointment": "check",
    "request_video_call": "video",
}

_PAYLOAD = re.compile(r"^/([a-z_]+)(\{.*\})?\s*$", re.S)
_WORDS = {
    "abort": {"abbrechen", "abbruch", "stopp", "stop", "cancel", "ende", "beenden", "quit",
              "exit", "/abbrechen", "/stop", "vergiss es", "forget it", "nevermind", "never mind",
              "lass mal", "lassen wir das"},
    "restart": {"neu starten", "neustart", "von vorn", "von vorne", "nochmal von vorn",
                "restart", "start over", "start again", "/start", "/restart", "reset"},
    "back": {"zurück", "zurueck", "back", "go back", "einen schritt zurück", "/back"},
    "skip": {"überspringen", "ueberspringen", "skip", "keine", "nein danke", "no thanks",
             "lieber nicht", "möchte ich nicht", "ohne"},
}
_CHOICE = re.compile(
    r"^\s*(?:(?:nr\.?|nummer|number|option|die|den|das|termin|slot|no\.?)\s*)?([1-9])\s*[.)]?\s*$",
    re.I,
)


BERLIN = ZoneInfo("Europe/Berlin")
# Years a time in a payload may have (as the HTTP API's dates): the dialogue adds days and
# changes time zones, which overflows near year 1 and 9999.
FIRST_YEAR, LAST_YEAR = 1900, 2999


class BadPayload(ValueError):
    """A payload that looks like a button but is not one we know."""


@dataclass
class Understanding:
    text: str
    intent: str | None = None
    confidence: float = 0.0
    ranking: list[tuple[str, float]] = field(default_factory=list)
    service: str | None = None
    office: str | None = None
    reference: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    daily: tuple[time, time] | None = None  # "nächste Woche vormittags": that time each day
    command: str | None = None
    choice: int | None = None
    args: dict[str, Any] = field(default_factory=dict)
    from_button: bool = False
    nlu_down: bool = False
    # every time expression, left to right ("von Donnerstag auf Freitag" -> 2)
    times: list[tuple[datetime, datetime, str]] = field(default_factory=list)

    @property
    def has_time(self) -> bool:
        return self.start is not None

    @property
    def has_entities(self) -> bool:
        return bool(self.service or self.office or self.reference or self.has_time)


def parse_payload(text: str) -> Understanding | None:
    """A Rasa-style payload as an Understanding; None if `text` is not a payload.

    Raises BadPayload (and nothing else) for a slash command we do not know, JSON that the
    HTTP API would refuse too (malformed, nested too deep, a lone surrogate, NaN, a number of
    thousands of digits), or a `start` / `end` that is no time (see `_interval`).
    """
    m = _PAYLOAD.match(text.strip())
    if not m:
        return None
    name, raw = m.group(1), m.group(2)
    try:
        args = loads_json(raw) if raw else {}
    except BadJSON:
        raise BadPayload(text) from None
    if not isinstance(args, dict):
        raise BadPayload(text)
    meaning = Understanding(text=text, from_button=True, args=args, confidence=1.0)
    if name in INTENTS:
        meaning.intent = name
    elif name in COMMANDS:
        meaning.command = name
    elif name in {"start", "help"}:
        meaning.intent = "greet" if name == "start" else "help"
    elif name == "abbrechen":
        meaning.command = "abort"
    else:
        raise BadPayload(text)
    for key in ("service", "office", "reference"):
        if isinstance(args.get(key), str):
            setattr(meaning, key, args[key])
    if isinstance(args.get("slot"), int) and not isinstance(args["slot"], bool):
        meaning.choice = args["slot"]
    if isinstance(args.get("start"), str):
        meaning.start, meaning.end = _interval(args["start"], args.get("end"), text)
    return meaning


def _interval(start: str, end: object, text: str) -> tuple[datetime, datetime]:
    """`start` and `end` (default: `start`) as Berlin times, start <= end; ISO 8601, without an
    offset Berlin time, years FIRST_YEAR to LAST_YEAR. BadPayload for anything else."""
    if end is not None and not isinstance(end, str):
        raise BadPayload(text)
    try:
        times = [datetime.fromisoformat(value) for value in (start, end or start)]
    except ValueError:
        raise BadPayload(text) from None
    if not all(FIRST_YEAR <= t.year <= LAST_YEAR for t in times):
        raise BadPayload(text)
    first, last = (t.astimezone(BERLIN) if t.tzinfo else t.replace(tzinfo=BERLIN)
                   for t in times)
    if last < first:
        raise BadPayload(text)
    return first, last


def keyword_command(text: str) -> str | None:
    """`abort`, `restart`, `back` or `skip` for the fixed words, else None."""
    norm = re.sub(r"[!.?\s]+", " ", text.casefold()).strip()
    for command, words in _WORDS.items():
        if norm in words:
            return command
    return None


def number_choice(text: str) -> int | None:
    m = _CHOICE.match(text)
    return int(m.group(1)) if m else None
