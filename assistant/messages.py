"""What flows between channels and the dialogue: one incoming message, a list of replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.dialogue.understanding import Understanding


@dataclass(frozen=True)
class Incoming:
    """One message from a citizen, as a channel hands it to the dialogue.

    `text` is free text or a Rasa-style payload (`/intent{"slot": "value"}`), which skips NLU.
    `language` is the channel's first guess (Telegram's user language, a widget toggle) and
    `verified_contact` a contact the channel vouches for (the SMS sender's E.164 number).
    """

    channel: str
    sender: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    language: str | None = None
    verified_contact: str | None = None


@dataclass(frozen=True)
class Button:
    """One option offered with a reply: `title` as shown, `payload` as the dialogue reads it
    (Rasa-style: `/choose{"slot": 2}`).

    A channel that cannot send the payload back as it is (numbered options, speech) reads the
    button's meaning from `intent`, `command`, `args` and `choice`, never from the string:
    the payload is parsed once, lazily, by the dialogue's own parser.
    """

    title: str
    payload: str

    @cached_property
    def _meaning(self) -> Understanding | None:
        # Imported here: the dialogue imports this module.
        from assistant.dialogue.understanding import BadPayload, parse_payload

        try:
            return parse_payload(self.payload)
        except BadPayload:
            return None

    @property
    def intent(self) -> str | None:
        """The intent the button stands for (`book_appointment`; `/start` is `greet`)."""
        return self._meaning.intent if self._meaning else None

    @property
    def command(self) -> str | None:
        """The payload-only action (`choose`, `change`, `skip`, `set_language` …)."""
        return self._meaning.command if self._meaning else None

    @property
    def args(self) -> dict[str, Any]:
        """The payload's arguments (`{"slot": 2}`); empty when it has none."""
        return dict(self._meaning.args) if self._meaning else {}

    @property
    def choice(self) -> int | None:
        """The number of the offered slot a `/choose{"slot": n}` button picks."""
        return self._meaning.choice if self._meaning else None


@dataclass(frozen=True)
class Reply:
    """One bot message. `text` is rendered in the conversation language from the catalog.

    `key` and `params` name the catalog entry, so a channel can render a variant of its own
    (the voice line reads `voice.<key>` when it exists). `data` carries structured facts a
    channel may show differently (an appointment reference as QR code, a join link).
    """

    text: str
    buttons: tuple[Button, ...] = ()
    key: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    language: str = "de"

    def to_rest(self, recipient_id: str) -> dict[str, Any]:
        """Rasa REST channel format."""
        out: dict[str, Any] = {"recipient_id": recipient_id, "text": self.text}
        if self.buttons:
            out["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        if self.data:
            out["custom"] = self.data
        return out
