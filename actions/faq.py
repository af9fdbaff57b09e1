"""Questions an office answers the same way every time — online payment, sending documents by
post, taxes another authority collects — from the catalogue's `faq` entries, whatever the
intent and whatever step a task is at. A side answer: the task under way goes on."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.plugin import FaqEntry, Flow, Talk, Understanding, hookimpl


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

    def claims(self, talk: Talk, u: Understanding) -> bool:
        return matching(talk.ctx.config.faq, u.text) is not None

    async def respond(self, talk: Talk, u: Understanding) -> None:
        entry = matching(talk.ctx.config.faq, u.text)
        if entry is not None:
            talk.say("faq.answer", text=entry.answer.get(talk.lang))
        if talk.task is None and u.service and talk.ctx.config.service(u.service):
            talk.learn(service=u.service)  # "… für den Personalausweis online bezahlen?", then
            # "dann buche ich gleich einen Termin" books that


@hookimpl
def register_flows() -> list[Flow]:
    return [FaqFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("faq.*.po"))
