"""Map service and office names to catalogue ids, and find them in free text.

Names come from the catalogue (id, German and English name, `aliases`) and from the Rasa synonym
file (`nlu_data/train/synonyms.yml`, colloquial names such as "Lappen" or "Kennzeichen"). Matching
is case-insensitive and umlaut-insensitive ("Führerschein", "Fuehrerschein" and "Fuhrerschein" are
the same), then tolerant of small typos ("Fuehrerschien", "Grosenhein").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import yaml
from rapidfuzz import process
from rapidfuzz.distance import OSA

from assistant.config import Config

KINDS = ("service", "office")
SYNONYMS_FILE = Path("nlu_data/train/synonyms.yml")

_WORD = re.compile(r"\w+")
_UMLAUTS_E = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_UMLAUTS_PLAIN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
# Leading words Rasa sometimes includes in an entity span ("den Perso", "my passport").
_LEADING = frozenset({
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "mein",
    "meine", "meinen", "meinem", "meiner", "fürs", "furs", "fuers", "für", "fur", "fuer", "zum",
    "zur", "im", "in", "beim", "the", "a", "an", "my", "for", "at",
})
# Names that are also everyday words ("Pass" in "pass by", "moving" an appointment, "anmelden"
# for a course): trusted when Rasa tagged them as an entity, never picked up by `scan` alone.
_UNSAFE_IN_FREE_TEXT = frozenset({
    "pass", "moving", "moved", "anmelden", "ummelden", "zulassen", "zugelassen", "registration",
    "certification", "id", "lappen", "stilllegen", "beglaubigen", "visa",
})
# Ordinary words one typo away from a name ("die meisten" is not Meißen).
_NEVER_FUZZY = frozenset({
    "meisten", "meinen", "meiner", "meines", "messen", "reisen", "riese", "passen", "passt",
    "person", "personen", "abmelden", "anmelden", "ummelden", "zulassen", "ausweisen",
    "kennzeichnen", "lassen",
})


def fold(text: str) -> str:
    """Case- and umlaut-insensitive form: `Führerschein` -> `fuehrerschein`."""
    return text.casefold().translate(_UMLAUTS_E)


def _keys(name: str) -> set[str]:
    """Lookup keys of a name, word by word; umlauts both as `ue` and as plain `u`."""
    words = _WORD.findall(name.casefold())
    return {" ".join(words).translate(_UMLAUTS_E), " ".join(words).translate(_UMLAUTS_PLAIN)}


def _max_typos(length: int, strict: bool) -> int:
    """How many edits a name of this length may be off; short names must match exactly."""
    if strict:
        return 0 if length < 7 else 1 if length < 10 else 2
    return 0 if length < 5 else 1 if length < 9 else 2


@dataclass(frozen=True)
class Mention:
    """A service or office found in a text: catalogue id and character span."""

    entity: str
    value: str
    start: int
    end: int


def load_synonyms(path: Path) -> dict[str, list[str]]:
    """Catalogue id -> surface forms, from a Rasa YAML synonym file ({} if it is missing)."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, list[str]] = {}
    for item in data.get("nlu") or []:
        if isinstance(item, dict) and "synonym" in item:
            forms = [
                line[1:].strip()
                for line in str(item.get("examples", "")).splitlines()
                if line.strip().startswith("-")
            ]
            out.setdefault(str(item["synonym"]), []).extend(forms)
    return out


class EntityResolver:
    """Turns what a citizen wrote ("perso", "Grosenhein") into catalogue ids."""

    def __init__(self, config: Config, synonyms_path: Path | None = None) -> None:
        path = synonyms_path or config.path.parent / SYNONYMS_FILE
        synonyms = load_synonyms(path)
        items = {"service": config.services, "office": config.offices}
        self._table: dict[str, dict[str, str]] = {}
        service_names: dict[str, list[str]] = {}
        for kind in KINDS:
            names: dict[str, list[str]] = {}
            for item in items[kind]:
                names[item.id] = [
                    item.id,
                    item.id.replace("_", " "),
                    item.name.de,
                    item.name.en,
                    *item.aliases,
                    *synonyms.get(item.id, []),
                ]
                names[item.id] += word_forms(names[item.id])
            self._table[kind] = _build_table(names)
            if kind == "service":
                service_names = names
        # Fuzzy candidates by (kind, number of words, strict).
        self._fuzzy_keys: dict[tuple[str, int, bool], list[str]] = {}
        for kind, table in self._table.items():
            for key in table:
                n = key.count(" ") + 1
                self._fuzzy_keys.setdefault((kind, n, False), []).append(key)
                if key not in _UNSAFE_IN_FREE_TEXT:
                    self._fuzzy_keys.setdefault((kind, n, True), []).append(key)
        self._word_sets: list[tuple[frozenset[str], str]] = []
        for service, forms in service_names.items():
            for form in forms:
                words = frozenset(_stem(w) for w in _WORD.findall(fold(form))
                                  if w not in _FUNCTION_WORDS and len(w) > 2)
                if len(words) >= 2:
                    self._word_sets.append((words, service))
        self._longest = max(
            (k.count(" ") + 1 for table in self._table.values() for k in table), default=1
        )

    def resolve(self, entity: str, value: str) -> str | None:
        """Catalogue id for a `service`/`office` value (id, name, alias, synonym, typo)."""
        table = self._table.get(entity)
        if table is None or not value.strip():
            return None
        words = _WORD.findall(fold(value))
        while words:
            key = " ".join(words)
            if key in table:
                return table[key]
            if words[0] not in _LEADING:
                break
            words = words[1:]
        found = None if set(words) & _NEVER_FUZZY else self._fuzzy(entity, " ".join(words), False)
        if found:
            return found
        inner = [m.value for m in self._scan(value, strict=False) if m.entity == entity]
        return inner[0] if inner else None

    def service_in_own_words(self, text: str) -> str | None:
        """The service whose two- or three-word name is all in the sentence, in any order and
        form: "copies … certified" (certified copy), "das Auto muss abgemeldet werden" (Auto
        abmelden), "deregister my old car". One service or None."""
        stems = {_stem(w) for w in _WORD.findall(fold(text))}
        best: dict[str, int] = {}
        for words, service in self._word_sets:
            if words <= stems:
                best[service] = max(best.get(service, 0), len(words))
        if not best:
            return None
        top = max(best.values())
        winners = [s for s, n in best.items() if n == top]
        return winners[0] if len(winners) == 1 else None

    def scan(self, text: str) -> list[Mention]:
        """Services and offices named anywhere in `text`, left to right.

        Longest names win ("Auto abmelden" over "Abmeldung"); everyday words that double as
        names ("Pass", "moving") and short names with typos are left to Rasa, so a sentence
        like "die meisten Termine passen" finds nothing.
        """
        return self._scan(text, strict=True)

    def scan_lenient(self, text: str) -> list[Mention]:
        """Like `scan`, but also everyday words that double as names ("ich möchte mich
        ummelden"): for a message already known to be about booking a service."""
        return self._scan(text, strict=False, typos=False)

    def _scan(self, text: str, strict: bool, typos: bool = True) -> list[Mention]:
        tokens = [(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]
        # a name never runs across a full stop or comma ("need to register. Can I" is no
        # "register car")
        breaks = [bool(_BREAK.search(text[a[2]:b[1]])) for a, b in pairwise(tokens)]
        used = [False] * len(tokens)
        found: list[Mention] = []
        for fuzzy in (False, True) if typos else (False,):
            for n in range(min(self._longest, len(tokens)), 0, -1):
                for i in range(len(tokens) - n + 1):
                    if any(used[i : i + n]) or any(breaks[i : i + n - 1]):
                        continue
                    window = [t[0] for t in tokens[i : i + n]]
                    hit = self._match(window, strict, fuzzy)
                    if hit:
                        kind, value = hit
                        found.append(Mention(kind, value, tokens[i][1], tokens[i + n - 1][2]))
                        used[i : i + n] = [True] * n
        return sorted(found, key=lambda m: m.start)

    def _fuzzy(self, kind: str, key: str, strict: bool) -> str | None:
        """The id of the closest name within the typo budget for both lengths, if any."""
        budget = _max_typos(len(key), strict)
        if not budget:
            return None
        candidates = self._fuzzy_keys.get((kind, key.count(" ") + 1, strict), [])
        best: tuple[int, str] | None = None
        for name, dist, _ in process.extract_iter(
            key, candidates, scorer=OSA.distance, score_cutoff=budget
        ):
            if dist <= _max_typos(len(name), strict) and (best is None or dist < best[0]) and (
                    _short_words_exact(key, name)):
                best = (dist, name)
        return self._table[kind][best[1]] if best else None

    def _match(self, words: list[str], strict: bool, fuzzy: bool) -> tuple[str, str] | None:
        key = " ".join(words)
        if strict and key in _UNSAFE_IN_FREE_TEXT:
            return None
        for kind in KINDS:
            table = self._table[kind]
            if not fuzzy:
                if key in table:
                    return kind, table[key]
                if len(words) == 2 and min(map(len, words)) >= 4 and "".join(words) in table:
                    return kind, table["".join(words)]  # "führungs zeugnis" (speech-to-text)
            elif not (set(words) & (_NEVER_FUZZY | _FUNCTION_WORDS)):  # "for registration"
                value = self._fuzzy(kind, key, strict)
                if value:
                    return kind, value
        return None


def _short_words_exact(typed: str, name: str) -> bool:
    """A typo is allowed in longer words only: "my german is" is no "german id"."""
    return all(a == b or (len(a) > 3 and len(b) > 3)
               for a, b in zip(typed.split(), name.split(), strict=False))


def _build_table(names: dict[str, Iterable[str]]) -> dict[str, str]:
    """Lookup key -> id; a key claimed by two ids is ambiguous and left out."""
    table: dict[str, str] = {}
    ambiguous: set[str] = set()
    for item_id, forms in names.items():
        for form in forms:
            for key in _keys(form):
                if key and table.setdefault(key, item_id) != item_id:
                    ambiguous.add(key)
    for key in ambiguous:
        del table[key]
    return table

_BREAK = re.compile(r"[.,;:!?()]")
_FUNCTION_WORDS = frozenset({
    "the", "and", "for", "my", "our", "a", "an", "of", "to", "der", "die", "das", "den", "dem",
    "ein", "eine", "einen", "und", "fuer", "mein", "meine", "meinen", "von", "vom", "zum", "zur",
})
# Words for a vehicle, brands and common models included, all read as "auto" when a service is
# named in own words: "Mein alter Golf muss abgemeldet werden" is "Auto abmelden".
_VEHICLES = frozenset({
    "auto", "autos", "wagen", "pkw", "kfz", "karre", "fahrzeug", "fahrzeuge", "motorrad",
    "moped", "mofa", "roller", "anhaenger", "anhanger", "wohnmobil", "wohnwagen", "transporter",
    "lkw", "trabi", "trabant", "gebrauchten", "gebrauchter", "gebrauchtwagen", "neuwagen",
    "golf", "polo", "passat", "astra", "corsa", "fiesta", "octavia",
    "fabia", "skoda", "opel", "vw", "bmw", "audi", "mercedes", "toyota", "honda", "renault",
    "dacia", "hyundai", "mazda", "nissan", "peugeot", "citroen", "fiat", "volvo",
    "car", "cars", "vehicle", "vehicles", "van", "truck", "motorbike", "motorcycle", "scooter",
    "trailer", "camper",
})
# A business of any kind is a "Gewerbe": "einen kleinen Laden aufmachen und anmelden".
_BUSINESS = frozenset({
    "gewerbe", "laden", "geschaeft", "firma", "betrieb", "imbiss", "salon", "friseursalon",
    "werkstatt", "handwerksbetrieb", "cafe", "kneipe", "onlineshop", "shop", "business",
    "company", "store", "firm",
})
_SEPARABLE = re.compile(r"^(ab|an|um|aus|ein|zu|vor|nach|auf|mit|weg|zurueck)ge(?=\w{3})")


def _stem(word: str) -> str:
    """A crude stem for matching names in own words: participles ("abgemeldet" -> "abmeld"),
    plurals and endings ("copies" -> "copy", "certified" -> "certi"); a vehicle of any make is
    "auto"."""
    if word in _VEHICLES:
        return "auto"
    if word in _BUSINESS:
        return "gewer"
    word = _SEPARABLE.sub(r"\1", word)
    if word.startswith("ge") and len(word) > 6 and word.endswith(("t", "en")):
        word = word[2:]  # "gemeldet", "beglaubigt" stays
    if word.endswith("ies"):
        word = word[:-3] + "y"
    return word[:5]
_REGISTRATION = re.compile(r"^(.*?)[\s-]?(an|ab|um)meldung$", re.I)


def word_forms(names: list[str]) -> list[str]:
    """The verb beside the noun a catalogue names: "Kfz-Abmeldung" is also "Kfz abmelden",
    "register a business" also "registering a business" — how people ask for it."""
    out: list[str] = []
    for name in names:
        m = _REGISTRATION.match(name)
        if m and m.group(1).strip(" -"):
            out.append(f"{m.group(1).strip(' -')} {m.group(2).lower()}melden")
        if name.isascii() and name.islower() and name.endswith("ing") and " " not in name:
            out.append(name[:-3] + "ed")  # "moving" -> "moved"
        words = name.split()
        if len(words) >= 2 and words[0].isascii() and words[0].isalpha() and words[0].islower() \
                and not words[0].endswith("ing") and len(words[0]) > 3:
            verb = words[0][:-1] if words[0].endswith("e") else words[0]
            out.append(" ".join([verb + "ing", *words[1:]]))
    return out

