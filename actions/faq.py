"""Questions an office answers the same way every time — online payment, sending documents by
post, taxes another authority collects — from the catalogue's `faq` entries, whatever the
intent and whatever step a task is at. A side answer: the task under way goes on."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.plugin import FaqEntry, Flow, Turn, Understanding, hookimpl


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\wäöüß-]+", text.casefold().replace("ß", "ss")))


def matching(entries: list[FaqEntry], text: str) -> FaqEntry | None:
    """The first entry one of whose keywords has all its words in `text`."""
    said = _words(text)
    for entry in entries:
        if any(_words(k) <= said for k in entry.keywords):
            return entry
    return None


class FaqFlow(Flow):
    name = "faq"
    side = True
    claims_first = True

    def claims(self, turn: Turn, meaning: Understanding) -> bool:
        return matching(turn.ctx.config.faq, meaning.text) is not None

    async def respond(self, turn: Turn, meaning: Understanding) -> None:
        entry = matching(turn.ctx.config.faq, meaning.text)
        if entry is not None:
            turn.say("faq.answer", text=entry.answer.get(turn.lang))
        if turn.task is None and meaning.service and turn.ctx.config.service(meaning.service):
            # "… für den Personalausweis online bezahlen?", then
            turn.learn(service=meaning.service)
            # "dann buche ich gleich einen Termin" books that


@hookimpl
def register_flows() -> list[Flow]:
    return [FaqFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("faq.*.po"))
