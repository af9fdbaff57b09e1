"""A scripted stand-in for Rasa's HTTP API, for tests without a trained model.

    rasa = ScriptedRasa({
        "Ich brauche einen Ausweis in Riesa": ("book_appointment",
                                                {"service": "Personalausweis", "office": "Riesa"}),
        "ja": "affirm",
    })
    async with rasa, Harness(nlu_url=rasa.url) as h:
        replies = await h.say("Ich brauche einen Ausweis in Riesa")

It answers `POST /model/parse` in Rasa's wire format (`text`, `intent`, `intent_ranking`,
`entities` with `start`/`end`). A text is looked up in `script` as sent, then ignoring case and
spacing; any other text gets `default` (Rasa's `nlu_fallback`: "not understood"). An answer is

- an intent name (`"affirm"`), understood with `confidence`;
- `(intent, {entity: value})`: each value is tagged where it occurs in the text;
- a dict: Rasa's JSON as given (to set a ranking or confidences exactly);
- a callable: the text in, Rasa's JSON out.

The application still reads catalogue names, times and reference codes itself, as it does behind
the real Rasa. `received` lists every text Rasa was asked about.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from assistant.testing.net import serve

FALLBACK = "nlu_fallback"
Answer = str | tuple[str, Mapping[str, str]] | dict[str, Any] | Callable[[str], dict[str, Any]]


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass
class ScriptedRasa:
    script: dict[str, Answer] = field(default_factory=dict)
    default: Answer = FALLBACK
    confidence: float = 0.95
    received: list[str] = field(default_factory=list)
    url: str = ""
    _stack: AsyncExitStack | None = None

    def answer(self, text: str) -> dict[str, Any]:
        """Rasa's JSON for `text`, from the script."""
        found = self.script.get(text)
        if found is None:
            found = {_key(k): v for k, v in self.script.items()}.get(_key(text), self.default)
        if callable(found):
            return found(text)
        if isinstance(found, dict):
            return {"text": text, **found}
        intent, entities = (found, {}) if isinstance(found, str) else found
        top = {"name": intent, "confidence": 0.3 if intent == FALLBACK else self.confidence}
        return {"text": text, "intent": top, "intent_ranking": [top],
                "entities": [_tagged(text, kind, value) for kind, value in entities.items()]}

    async def _parse(self, request: web.Request) -> web.Response:
        text = str((await request.json()).get("text", ""))
        self.received.append(text)
        return web.json_response(self.answer(text))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/model/parse", self._parse)
        return app

    async def __aenter__(self) -> ScriptedRasa:
        self._stack = AsyncExitStack()
        self.url = await self._stack.enter_async_context(serve(self.app()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None


def _tagged(text: str, kind: str, value: str) -> dict[str, Any]:
    """An entity as Rasa tags it: `value` at its place in `text` (at 0, empty, if absent)."""
    start = text.casefold().find(value.casefold())
    start, end = (start, start + len(value)) if start >= 0 else (0, 0)
    return {"entity": kind, "value": value, "start": start, "end": end,
            "confidence_entity": 0.99, "extractor": "ScriptedRasa"}
