"""What a citizen's message means: intent, catalogue entities, time, language.

Rasa (the NLU of record, reached through `RasaClient`) gives intent and entity spans; this module
canonicalises entities to catalogue ids and reference codes, adds names and codes Rasa missed,
and reads time expressions with `timeparse`. Number words are turned into digits first
("zehn uhr dreißig" -> "10:30") so spoken input from the phone channel parses like typed text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from assistant.booking import references
from assistant.config import Config
from assistant.nlu.client import RasaClient
from assistant.nlu.entities import KINDS, EntityResolver
from assistant.nlu.language import detect_language
from assistant.nlu.spoken import normalize_spoken
from assistant.nlu.timeparse import TimeRange, extract, resolve

FALLBACK_INTENT = "nlu_fallback"
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Entity:
    entity: str  # "service" | "office" | "reference"
    value: str  # catalogue id, or the canonical 6-character reference code


@dataclass(frozen=True)
class ParseResult:
    text: str
    intent: str  # one of the trained intents, or "nlu_fallback" when Rasa is unsure
    confidence: float  # of the best trained intent (also when `intent` is the fallback)
    ranking: list[tuple[str, float]]  # trained intents, most likely first
    entities: list[Entity] = field(default_factory=list)
    times: list[TimeRange] = field(default_factory=list)
    time: TimeRange | None = None
    language: str = "de"

    def values(self, entity: str) -> list[str]:
        return [e.value for e in self.entities if e.entity == entity]

    def first(self, entity: str) -> str | None:
        return next(iter(self.values(entity)), None)

    def uncertain(self, threshold: float, margin: float) -> bool:
        """True when the dialogue should ask back with `ranking[:2]` instead of acting."""
        if self.intent == FALLBACK_INTENT or self.confidence < threshold:
            return True
        return len(self.ranking) > 1 and self.ranking[0][1] - self.ranking[1][1] < margin

    def to_api(self) -> dict[str, Any]:
        """The body of `POST /api/v1/nlu/parse`."""
        entities: list[dict[str, Any]] = [
            {"entity": e.entity, "value": e.value} for e in self.entities
        ]
        if self.time is not None:
            entities.append(
                {
                    "entity": "time",
                    "value": {
                        "start": self.time.start.isoformat(),
                        "end": self.time.end.isoformat(),
                    },
                }
            )
        return {
            "intent": {"name": self.intent, "confidence": round(self.confidence, 4)},
            "entities": entities,
            "language": self.language,
        }


class NLU:
    def __init__(
        self, config: Config, client: RasaClient, resolver: EntityResolver | None = None
    ) -> None:
        self.config = config
        self.client = client
        self.resolver = resolver or EntityResolver(config)

    @classmethod
    def from_config(cls, config: Config) -> NLU:
        cfg = config.nlu
        client = RasaClient(
            cfg.url, cfg.timeout_seconds, cfg.retries, cfg.breaker_failures, cfg.breaker_seconds
        )
        return cls(config, client)

    async def close(self) -> None:
        await self.client.close()

    async def parse(
        self, text: str, *, now: datetime, lang_hint: str | None = None
    ) -> ParseResult:
        """Understand one message, with times relative to `now` (the context's clock,
        `ctx.now()`); raises `NLUUnavailable` when Rasa cannot answer."""
        language = detect_language(text, previous=lang_hint)
        normalized = normalize_spoken(text, language)
        if not normalized.strip():
            return ParseResult(text, FALLBACK_INTENT, 0.0, [], language=language)
        raw = await self.client.parse_raw(normalized)
        intent, confidence, ranking = _intent(raw)
        return ParseResult(
            text=text,
            intent=intent,
            confidence=confidence,
            ranking=ranking,
            entities=self._entities(raw, normalized),
            times=extract(normalized, now, language),
            time=resolve(normalized, now, language),
            language=language,
        )

    def _entities(self, raw: dict[str, Any], text: str) -> list[Entity]:
        found: list[tuple[int, Entity]] = []
        spans: list[tuple[int, int, str]] = []
        for item in raw.get("entities") or []:
            start, end = int(item.get("start", 0)), int(item.get("end", 0))
            entity = self._canonical(str(item.get("entity")), str(item.get("value", "")),
                                     text[start:end])
            if entity:
                found.append((start, entity))
                spans.append((start, end, entity.entity))
        for m in self.resolver.scan(text):
            # A span Rasa tagged too wide ("Großenhain ummelden" as office) may hold an entity
            # of another kind: only an overlap of the same kind is a duplicate. A catalogue name
            # found whole wins over a shorter overlapping span Rasa guessed from.
            same = [(s, e) for s, e, k in spans if m.start < e and s < m.end and k == m.entity]
            if same and all(m.start <= s and e <= m.end and (e - s) < (m.end - m.start)
                            for s, e in same):
                found = [(p, ent) for p, ent in found if not (
                    ent.entity == m.entity and any(p == s for s, _ in same))]
                same = []
            if not same:
                found.append((m.start, Entity(m.entity, m.value)))
        for m in references.PATTERN.finditer(text):
            code = references.find(m.group())
            if code:
                found.append((m.start(), Entity("reference", code)))
        found = _without_negated(found, text)
        out: list[Entity] = []
        for _, entity in sorted(found, key=lambda f: f[0]):
            if entity not in out:
                out.append(entity)
        return out

    def _canonical(self, kind: str, value: str, surface: str) -> Entity | None:
        if kind == "reference":
            code = references.find(re.sub(r"[\s-]", "", value))
            return Entity("reference", code) if code else None
        if kind not in KINDS:
            return None
        # The tagger sometimes confuses service and office; the catalogue knows better.
        for candidate in (kind, *(k for k in KINDS if k != kind)):
            for text in (value, surface):
                resolved = self.resolver.resolve(candidate, text)
                if resolved:
                    return Entity(candidate, resolved)
        return None


_NEGATION_BEFORE = re.compile(
    r"(?:\b(?:nicht|not|kein\w*|statt|anstatt|anstelle|instead of|rather than)\s+"
    r"(?:[\wäöüß]+\s+){0,2})$", re.I)


def _without_negated(found: list[tuple[int, Entity]], text: str) -> list[tuple[int, Entity]]:
    """"nicht ummelden, eine Meldebescheinigung", "statt Coswig lieber Radebeul": of two
    services or offices, the negated one is not meant."""
    out = list(found)
    for kind in ("service", "office"):
        mine = [(p, e) for p, e in out if e.entity == kind]
        negated = [(p, e) for p, e in mine if _NEGATION_BEFORE.search(text[max(0, p - 40):p])]
        if negated and len({e.value for _, e in mine}) > len({e.value for _, e in negated}):
            out = [f for f in out if f not in negated]
    return out


def _intent(raw: dict[str, Any]) -> tuple[str, float, list[tuple[str, float]]]:
    ranking = [
        (str(r["name"]), float(r["confidence"]))
        for r in raw.get("intent_ranking") or []
        if r.get("name") and r["name"] != FALLBACK_INTENT
    ]
    top = raw.get("intent") or {}
    name = top.get("name") or FALLBACK_INTENT
    if name == FALLBACK_INTENT:
        confidence = ranking[0][1] if ranking else 0.0
    else:
        confidence = float(top.get("confidence") or 0.0)
    return name, confidence, ranking

