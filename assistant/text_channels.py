"""The kit for text-only channels: SMS, Matrix, the phone line — channels without buttons.

Such a channel offers a reply's buttons as numbered options and reads a bare number back as
that option's payload, writes rich parameters (a bulleted list of documents) on one line, and
may word a reply its own way (a shorter SMS, a spoken sentence). Each is done here, once:

- `NumberedOptions`: the options offered in a conversation, numbered in order (`add`); the
  payload a bare number (`chosen`) or an option's exact title (`resolve`) means; kept between
  messages by the channel. `offered_buttons` picks the buttons a turn offers,
  `listed_in_text` those a slot offer already lists in its text ("1. Dienstag …").
- `TextVariants`: how a channel words replies — its own catalog entries `<prefix>.<key>` and
  shorter forms (`<prefix>.<key>.short`), how parameters are written (default `flat`), how the
  core's text is adapted where it has no entry of its own (speech: no bullets, no links).
- `reference_of` / `display_reference`: the reference code a reply carries, as citizens see it.
- SMS length: `gsm_safe`, `is_gsm7`, `sms_units`, `segments`, `fitting`.

Buttons carry their meaning typed (`Button.intent`, `.command`, `.args`, `.choice`): a channel
never parses payload strings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from assistant.booking import references
from assistant.i18n import has, t
from assistant.messages import Button, Reply

# A whole message that is a number, maybe with a word before it ("Nr. 2", "Taste 3", "die 1").
_NUMBER = re.compile(
    r"^\s*(?:(?:nr\.?|nummer|number|option|no\.?|taste|key|die|den|das|the)\s*)?"
    r"(\d{1,2})\s*[.)]?\s*$", re.I)


# -- numbered options -------------------------------------------------------------------------


@dataclass
class NumberedOptions:
    """The options offered as numbers: number n means `payloads[n - 1]` (titles alongside)."""

    payloads: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)

    def add(self, buttons: Sequence[Button]) -> list[tuple[int, Button]]:
        """Number `buttons` after the options already offered: (number, button) pairs."""
        first = len(self.payloads) + 1
        self.payloads += [b.payload for b in buttons]
        self.titles += [b.title for b in buttons]
        return list(enumerate(buttons, first))

    def chosen(self, text: str) -> str | None:
        """The payload of option n when the whole message is the number n, else None."""
        m = _NUMBER.match(text)
        if not m:
            return None
        number = int(m.group(1))
        return self.payloads[number - 1] if 1 <= number <= len(self.payloads) else None

    def resolve(self, text: str) -> str:
        """The payload the citizen means by a number or an option's exact title, else `text`."""
        chosen = self.chosen(text)
        if chosen is not None:
            return chosen
        words = _fold(text)
        for title, payload in zip(self.titles, self.payloads, strict=False):
            if words and _fold(title) == words:
                return payload
        return text


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s:.-]", " ", text.casefold()).split()).strip(" .")


def offered_buttons(replies: Sequence[Reply]) -> list[Button]:
    """The buttons a turn offers as numbered options: those of the last reply that has any."""
    for reply in reversed(replies):
        if reply.buttons:
            return list(reply.buttons)
    return []


def listed_in_text(reply: Reply) -> int:
    """How many of the reply's first buttons its text already lists with their numbers: a slot
    offer lists its slots ("1. Dienstag, …"), so only the buttons after them need a line."""
    if "listing" not in reply.params:
        return 0
    listed = 0
    for button in reply.buttons:
        if button.command != "choose" or button.choice != listed + 1:
            break
        listed += 1
    return listed


# -- wording ----------------------------------------------------------------------------------


def flat(value: Any) -> Any:
    """A bulleted multi-line parameter (documents) as one comma-separated line."""
    if isinstance(value, str) and "• " in value:
        items = [line.strip().lstrip("•").strip() for line in value.splitlines()]
        return ", ".join(i for i in items if i)
    return value


def _flat_param(value: Any, lang: str) -> Any:
    return flat(value)


class TextVariants:
    """How one text-only channel words replies.

    `prefix` names its catalog entries: a reply with key `book.done` is sent as `sms.book.done`
    when the catalog has it, else as the core's text (through `fallback`, if given).
    `shorter` are suffixes of shorter forms, tried in this order when a text is too long
    (`(".short",)`: `sms.book.done.short`). `param` writes one parameter value for the channel
    (default: `flat`), `finish` is applied to every text (GSM-7 forms for SMS).
    """

    def __init__(self, prefix: str, *, shorter: Sequence[str] = (),
                 param: Callable[[Any, str], Any] = _flat_param,
                 fallback: Callable[[str, str], str] | None = None,
                 finish: Callable[[str], str] | None = None) -> None:
        self.prefix = prefix
        self.shorter = tuple(shorter)
        self.param = param
        self.fallback = fallback
        self.finish = finish

    def params(self, reply: Reply) -> dict[str, Any]:
        """The reply's parameters as this channel writes them."""
        return {k: self.param(v, reply.language) for k, v in reply.params.items()}

    def forms(self, reply: Reply, **extra: Any) -> list[str]:
        """The texts the reply can be sent as, longest first: the channel's entry (or the core's
        text), then each shorter form the catalog has. `extra` adds parameters."""
        lang = reply.language
        params = {**self.params(reply), **extra}
        key = f"{self.prefix}.{reply.key}" if reply.key else ""
        if key and has(key, lang):
            first = t(key, lang, **params)
        else:
            first = self.fallback(reply.text, lang) if self.fallback else reply.text
        out = [first, *(t(key + s, lang, **params) for s in self.shorter
                        if key and has(key + s, lang))]
        return [self.finish(text) for text in out] if self.finish else out

    def text(self, reply: Reply, **extra: Any) -> str:
        """The reply in this channel's own words (its longest form)."""
        return self.forms(reply, **extra)[0]


def display_reference(code: str) -> str:
    """A reference code as citizens see it (`K7Q-M4P`), however it was written."""
    return references.display(references.normalize(code) or code.replace("-", "").upper())


def reference_of(reply: Reply) -> str | None:
    """The appointment reference a reply carries (in its data or its parameters), displayed."""
    reference = reply.data.get("reference") or reply.params.get("reference")
    return display_reference(str(reference)) if reference else None


# -- SMS length ---------------------------------------------------------------------------------

# Characters that force the whole SMS into UCS-2 (70 instead of 160 characters per segment)
# although a GSM-7 form reads as well. Umlauts and ß are GSM-7 and stay.
_ASCII_FORMS = str.maketrans({
    "„": '"', "“": '"', "”": '"', "‟": '"', "«": '"', "»": '"', "‹": "'", "›": "'",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "`": "'", "´": "'",
    "–": "-", "—": "-", "‒": "-", "−": "-", "‐": "-", "‑": "-",
    "•": "-", "·": "-", "◦": "-", "▪": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
    "…": "...",
})


def gsm_safe(text: str) -> str:
    """Replace typographic characters by their GSM-7 forms (keeps umlauts, ß and €)."""
    return text.translate(_ASCII_FORMS)


def is_gsm7(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def sms_units(text: str) -> tuple[int, int, int]:
    """(units, single-segment limit, per-segment limit of a multi-part SMS).

    GSM-7 counts septets (extension-table characters such as € [ ] { } count two); anything
    else goes as UCS-2 and counts UTF-16 code units.
    """
    try:
        return len(text.encode("gsm03.38")), 160, 153
    except UnicodeEncodeError:
        return len(text.encode("utf-16-le")) // 2, 70, 67


def segments(text: str) -> int:
    """How many SMS segments `text` takes."""
    units, single, multi = sms_units(text)
    if units <= single:
        return 1
    return math.ceil(units / multi)


def fitting(forms: Sequence[str], max_segments: int) -> str:
    """The first of `forms` (longest first) that fits `max_segments` SMS segments, else the
    shortest."""
    return next((f for f in forms if segments(f) <= max_segments), forms[-1])
