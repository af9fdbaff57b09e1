"""What one webhook answers, as the line says it: a `Turn` of sentences and at most three
numbered options (a key each), built from the dialogue's replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from assistant.plugin import Button, NumberedOptions, Reply, has, offered_buttons, t

from .speech import speak_reply, spoken_when

if TYPE_CHECKING:
    from assistant.plugin import Config

MAX_OPTIONS = 3
# Menu intents with a spoken option `voice.option.<key>` ("Für einen neuen Termin …").
MENU_OPTIONS = {"book_appointment": "book", "reschedule_appointment": "reschedule",
                "cancel_appointment": "cancel", "check_appointment": "check"}
# Core button titles with a spoken form `voice.option.<key>` ("Für nächste Woche …").
TITLED_OPTIONS = ("time.asap", "time.this_week", "time.next_week", "button.skip",
                  "button.other_time", "button.continue", "menu.info", "menu.hours",
                  "menu.video", "menu.human", "menu.other")


@dataclass
class Option:
    payload: str
    label: str


@dataclass
class Turn:
    """What one webhook answers: sentences to say, options, and how the call goes on."""

    lang: str
    say: list[tuple[str, str]] = field(default_factory=list)  # (text, language)
    options: list[Option] = field(default_factory=list)
    hangup: bool = False
    dial: tuple[str, str] | None = None  # (E.164 number, office id)
    # False for a turn that only re-asks (repeat, silence, a yes/no check): the question to
    # repeat later stays the one before.
    fresh: bool = True

    def add(self, text: str, lang: str | None = None) -> None:
        if text:
            self.say.append((text, lang or self.lang))


def option_label(button: Button, reply: Reply, lang: str, config: Config | None) -> str:
    """How an option is read out: a menu entry or core title in the line's words, an offered
    slot as its spoken date and time, anything else by its title."""
    if button.intent in MENU_OPTIONS and not button.args:
        return t(f"voice.option.{MENU_OPTIONS[button.intent]}", lang)
    for key in TITLED_OPTIONS:
        if button.title == t(key, lang) and has(f"voice.option.{key}", lang):
            return t(f"voice.option.{key}", lang)
    slots = reply.params.get("slots") or []
    if button.command == "choose" and slots:
        index = button.choice or 0
        if 1 <= index <= len(slots):
            slot = slots[index - 1]
            office = config.office(slot.get("office", "")) if config else None
            start = datetime.fromisoformat(slot["start"])
            label = spoken_when(start.astimezone(office.tz) if office else start, lang)
            if office is not None and slot.get("office") != slots[0].get("office"):
                label = t("voice.slot_at", lang, when=label, office=office.name.get(lang))
            return label
    return button.title


def render(replies: list[Reply], mobile: bool, lang: str, config: Config | None = None) -> Turn:
    """Replies as one spoken turn with at most three numbered options."""
    turn = Turn(lang=replies[-1].language if replies else lang)
    for reply in replies:
        for text in speak_reply(reply, mobile):
            turn.add(text, reply.language)
    buttons = offered_buttons(replies)
    owner = next((r for r in reversed(replies) if r.buttons), None)
    for number, button in NumberedOptions().add(buttons[:MAX_OPTIONS]):
        assert owner is not None
        label = option_label(button, owner, turn.lang, config)
        turn.options.append(Option(button.payload, label))
        key = "voice.option.first" if number == 1 else "voice.option.next"
        turn.add(t(key, turn.lang, label=label, digit=number))
    if any(b.command == "choose" for b in buttons):
        turn.add(t("voice.options.other_time", turn.lang))
    elif len(buttons) > MAX_OPTIONS:
        turn.add(t("voice.options.more", turn.lang))
    return turn
