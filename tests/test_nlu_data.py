"""The NLU training and held-out data are consistent with the catalogue and with each other."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from assistant.config import Config, load_config
from assistant.nlu import rasa_runner
from assistant.nlu.entities import EntityResolver, fold, load_synonyms
from assistant.nlu.evaluate import Example, held_out_files, load_examples
from assistant.nlu.language import detect_language

ROOT = Path(__file__).resolve().parents[1]
INTENTS = {
    "greet", "goodbye", "affirm", "deny", "thank", "book_appointment", "reschedule_appointment",
    "cancel_appointment", "check_appointment", "request_video_call", "request_human",
    "ask_service_info", "ask_opening_hours", "inform", "help", "out_of_scope",
}


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(ROOT / "config.yml")


@pytest.fixture(scope="module")
def training() -> list[Example]:
    return [e for p in rasa_runner.training_files(ROOT) for e in load_examples(p)]


@pytest.fixture(scope="module")
def held_out() -> list[Example]:
    return [e for p in held_out_files(ROOT) for e in load_examples(p)]


def _lookup_forms() -> dict[str, set[str]]:
    data = yaml.safe_load((ROOT / "nlu_data/train/lookups.yml").read_text(encoding="utf-8"))
    return {
        item["lookup"]: {fold(line[1:].strip()) for line in item["examples"].splitlines()}
        for item in data["nlu"]
    }


def test_held_out_set_is_not_trained_on(training: list[Example],
                                        held_out: list[Example]) -> None:
    test_dir = (ROOT / rasa_runner.TEST_DIR).resolve()
    assert all(test_dir not in p.resolve().parents for p in rasa_runner.training_files(ROOT))
    seen = {fold(e.text) for e in training}
    assert [e.text for e in held_out if fold(e.text) in seen] == []


def test_every_intent_is_trained_and_tested_in_both_languages(
    training: list[Example], held_out: list[Example]
) -> None:
    assert {e.intent for e in training} == INTENTS
    trained = Counter((e.intent, detect_language(e.text)) for e in training)
    assert {i: trained[i, lang] for i in INTENTS for lang in ("de", "en")
            if trained[i, lang] < 15} == {}
    tested = Counter((e.intent, e.language) for e in held_out)
    assert {i: tested[i, lang] for i in INTENTS for lang in ("de", "en")
            if tested[i, lang] < 10} == {}


def test_synonyms_name_catalogue_ids_without_conflicts(config: Config) -> None:
    synonyms = load_synonyms(ROOT / "nlu_data/train/synonyms.yml")
    ids = {s.id for s in config.services} | {o.id for o in config.offices}
    assert set(synonyms) <= ids
    owners: dict[str, set[str]] = {}
    for item_id, forms in synonyms.items():
        for form in forms:
            owners.setdefault(fold(form), set()).add(item_id)
    assert {form: ids for form, ids in owners.items() if len(ids) > 1} == {}


def test_lookup_tables_list_every_synonym(config: Config) -> None:
    lookups = _lookup_forms()
    offices = {o.id for o in config.offices}
    for item_id, forms in load_synonyms(ROOT / "nlu_data/train/synonyms.yml").items():
        kind = "office" if item_id in offices else "service"
        assert {fold(f) for f in forms} - lookups[kind] == set(), item_id


def test_every_annotated_name_resolves(config: Config, training: list[Example],
                                       held_out: list[Example]) -> None:
    resolver = EntityResolver(config)
    unresolved = {(kind, value) for e in training for kind, value in e.entities
                  if kind in ("service", "office") and resolver.resolve(kind, value) is None}
    assert unresolved == set()
    held_out_values = {value for e in held_out for kind, value in e.entities
                       if kind in ("service", "office")}
    ids = {s.id for s in config.services} | {o.id for o in config.offices}
    assert held_out_values <= ids
