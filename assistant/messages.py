"""What flows between channels and the dialogue: one incoming message, a list of replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    title: str
    payload: str


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
