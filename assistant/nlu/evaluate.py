"""Score the NLU on the held-out test set (`nlu_data/test/`), through `NLU.parse`.

What is scored is what the API returns: the intent, the canonical entity values (catalogue ids,
reference codes) and the combined time. Prints intent accuracy and macro-F1 (all, German,
English), per-intent F1, the most frequent confusions, entity precision/recall/F1 per type,
time accuracy, language accuracy and parse latency. `--cross-validation` also runs Rasa's own
k-fold cross-validation on the training data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from assistant.config import Config, load_config
from assistant.nlu import rasa_runner
from assistant.nlu.client import RasaClient
from assistant.nlu.parse import BERLIN, NLU, ParseResult

# The "now" the test files' expected times are relative to: Monday 23 November 2026, 09:00.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
ENTITY_TYPES = ("service", "office", "reference")
TARGET_INTENT_F1 = 0.95
TARGET_ENTITY_F1 = 0.93
TARGET_TIME_ACCURACY = 0.97
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<type>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True)
class Example:
    text: str
    intent: str | None  # None: a time-only example (scored for the time and language)
    entities: frozenset[tuple[str, str]]
    time: str | None  # "2026-11-24", "2026-11-24T10:00" or "start/end"
    language: str


def load_examples(path: Path) -> list[Example]:
    """Examples of a Rasa YAML file, or of a `times:` list of {text, time} (time-only examples);
    the language is the file name's last part (`_de`/`_en`)."""
    language = "en" if path.stem.endswith("_en") else "de"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = [Example(str(item["text"]), None, frozenset(), str(item["time"]), language)
           for item in data.get("times") or []]
    for block in data.get("nlu") or []:
        if "intent" not in block:
            continue
        examples = block.get("examples") or []
        if isinstance(examples, str):
            items = [(line[1:].strip(), {}) for line in examples.splitlines()
                     if line.startswith("-")]
        else:
            items = [(str(e["text"]).strip(), e.get("metadata") or {}) for e in examples]
        for annotated, metadata in items:
            text, entities = _plain(annotated)
            out.append(Example(text, block["intent"], entities, metadata.get("time"), language))
    return out


def _plain(annotated: str) -> tuple[str, frozenset[tuple[str, str]]]:
    entities: set[tuple[str, str]] = set()

    def replace(m: re.Match[str]) -> str:
        if m.group("json"):
            spec = json.loads(m.group("json"))
            entities.add((spec["entity"], str(spec.get("value", m.group("text")))))
        else:
            entities.add((m.group("type"), m.group("text")))
        return m.group("text")

    return _ANNOTATION.sub(replace, annotated), frozenset(entities)


# -- metrics ----------------------------------------------------------------------------------


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


def intent_scores(pairs: list[tuple[str, str]]) -> tuple[float, float, dict[str, float]]:
    """Accuracy, macro-F1 over the expected intents, and F1 per intent, of (expected, got)."""
    labels = sorted({expected for expected, _ in pairs})
    per_intent = {}
    for label in labels:
        tp = sum(1 for e, g in pairs if e == label and g == label)
        fp = sum(1 for e, g in pairs if e != label and g == label)
        fn = sum(1 for e, g in pairs if e == label and g != label)
        per_intent[label] = f1(tp, fp, fn)[2]
    accuracy = sum(1 for e, g in pairs if e == g) / len(pairs) if pairs else 0.0
    macro = statistics.fmean(per_intent.values()) if per_intent else 0.0
    return accuracy, macro, per_intent


def _time_text(result: ParseResult) -> str | None:
    if result.time is None:
        return None
    start = result.time.start.astimezone(BERLIN)
    end = result.time.end.astimezone(BERLIN)
    if start.date() == end.date() and (start.hour, start.minute) == (0, 0) and (
        end.hour, end.minute
    ) == (23, 59):
        return start.date().isoformat()
    if start == end:
        return start.strftime("%Y-%m-%dT%H:%M")
    return f"{start:%Y-%m-%dT%H:%M}/{end:%Y-%m-%dT%H:%M}"


@dataclass
class Report:
    intents: list[tuple[str, str, str]] = field(default_factory=list)  # (lang, expected, got)
    entity_counts: dict[str, Counter[str]] = field(default_factory=dict)
    times: list[tuple[str, str, str | None]] = field(default_factory=list)  # text, exp, got
    languages: list[tuple[str, str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, example: Example, result: ParseResult, seconds: float) -> None:
        self.languages.append((example.language, result.language))
        self.latencies.append(seconds)
        if example.time:
            self.times.append((example.text, example.time, _time_text(result)))
        if example.intent is None:
            return
        self.intents.append((example.language, example.intent, result.intent))
        got = {(e.entity, e.value) for e in result.entities if e.entity in ENTITY_TYPES}
        for kind in ENTITY_TYPES:
            counts = self.entity_counts.setdefault(kind, Counter())
            expected = {e for e in example.entities if e[0] == kind}
            predicted = {e for e in got if e[0] == kind}
            counts["tp"] += len(expected & predicted)
            counts["fp"] += len(predicted - expected)
            counts["fn"] += len(expected - predicted)
        if result.intent != example.intent or got != set(example.entities):
            self.errors.append(
                f"{example.text!r}: expected {example.intent} {sorted(example.entities)}, "
                f"got {result.intent} ({result.confidence:.2f}) {sorted(got)}"
            )

    def entity_f1(self) -> float:
        total = Counter[str]()
        for counts in self.entity_counts.values():
            total.update(counts)
        return f1(total["tp"], total["fp"], total["fn"])[2]

    def intent_macro(self, language: str | None = None) -> float:
        return intent_scores(
            [(e, g) for lang, e, g in self.intents if language in (None, lang)]
        )[1]

    def meets_targets(self) -> bool:
        return (
            self.intent_macro("de") >= TARGET_INTENT_F1
            and self.intent_macro("en") >= TARGET_INTENT_F1
            and self.entity_f1() >= TARGET_ENTITY_F1
            and self.time_accuracy() >= TARGET_TIME_ACCURACY
        )

    def time_accuracy(self) -> float:
        right = sum(1 for _, expected, got in self.times if expected == got)
        return right / len(self.times) if self.times else 0.0

    def format(self, verbose: bool = False) -> str:
        time_only = len(self.languages) - len(self.intents)
        lines = [f"Held-out examples: {len(self.intents)} (+ {time_only} time-only)", "",
                 "Intent      accuracy  macro-F1"]
        for label, language in (("all", None), ("German", "de"), ("English", "en")):
            pairs = [(e, g) for lang, e, g in self.intents if language in (None, lang)]
            accuracy, macro, _ = intent_scores(pairs)
            lines.append(f"  {label:<9} {accuracy:8.3f}  {macro:8.3f}   (n={len(pairs)})")
        _, _, per_intent = intent_scores([(e, g) for _, e, g in self.intents])
        lines += ["", "F1 per intent"]
        lines += [f"  {name:<24} {score:.3f}" for name, score in per_intent.items()]
        confusions = Counter((e, g) for _, e, g in self.intents if e != g)
        lines += ["", "Confusions (expected -> got)"]
        lines += [f"  {n:3d}  {e} -> {g}" for (e, g), n in confusions.most_common(15)] or [
            "  none"
        ]
        lines += ["", "Entities (canonical values)  precision  recall     F1"]
        total = Counter[str]()
        for kind, counts in self.entity_counts.items():
            total.update(counts)
            p, r, score = f1(counts["tp"], counts["fp"], counts["fn"])
            n = counts["tp"] + counts["fn"]
            lines.append(f"  {kind:<27} {p:9.3f} {r:7.3f} {score:6.3f}   (n={n})")
        p, r, score = f1(total["tp"], total["fp"], total["fn"])
        lines.append(f"  {'all':<27} {p:9.3f} {r:7.3f} {score:6.3f}")
        if self.times:
            right = sum(1 for _, expected, got in self.times if expected == got)
            lines += ["", f"Time expressions: {right}/{len(self.times)} "
                          f"({self.time_accuracy():.3f}) resolved exactly"]
            lines += [f"  {text!r}: expected {exp}, got {got}"
                      for text, exp, got in self.times if exp != got]
        if self.languages:
            right = sum(1 for expected, got in self.languages if expected == got)
            lines.append(f"Language detection: {right / len(self.languages):.3f}")
        if self.latencies:
            ms = sorted(s * 1000 for s in self.latencies)
            p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
            lines.append(f"Parse latency: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms")
        lines.append(
            f"Targets (intent macro-F1 >= {TARGET_INTENT_F1} de and en, entity F1 >= "
            f"{TARGET_ENTITY_F1}, time accuracy >= {TARGET_TIME_ACCURACY}): "
            f"{'met' if self.meets_targets() else 'NOT met'}"
        )
        if verbose and self.errors:
            lines += ["", "Errors", *(f"  {e}" for e in self.errors)]
        return "\n".join(lines)


async def evaluate(config: Config, url: str, files: list[Path]) -> Report:
    nlu = NLU(config, RasaClient(url, timeout_seconds=10, retries=0))
    report = Report()
    try:
        for path in files:
            for example in load_examples(path):
                started = time.perf_counter()
                result = await nlu.parse(example.text, now=NOW)
                report.add(example, result, time.perf_counter() - started)
    finally:
        await nlu.close()
    return report


def held_out_files(root: Path) -> list[Path]:
    return sorted((root / rasa_runner.TEST_DIR).glob("*.yml"))


def cross_validate(config_path: Path, root: Path, folds: int) -> None:
    """Rasa's k-fold cross-validation on the training data; prints its summary."""
    out = root / "var" / "nlu-cv"
    cfg = rasa_runner.write_rasa_config(config_path, out / "config.yml")
    print(f"\nCross-validation ({folds} folds; trains {folds} models) ...", flush=True)
    result = subprocess.run(
        [str(rasa_runner.rasa_bin(root)), "test", "nlu", "--nlu",
         str(root / rasa_runner.TRAIN_DIR), "--cross-validation", "--folds", str(folds),
         "-c", str(cfg), "--out", str(out), "--no-plot"],
        cwd=root, env=rasa_runner.rasa_env(), capture_output=True, text=True,
    )
    log = (result.stdout + result.stderr).splitlines()
    start = next((i for i, line in enumerate(log) if "CV evaluation" in line), None)
    if result.returncode != 0 or start is None:
        raise rasa_runner.RasaSetupError(
            "cross-validation failed:\n" + "\n".join(log[-20:])
        )
    for line in log[start:]:
        if " - " in line and ("evaluation" in line or re.search(r"(train|test) \w", line)):
            print("  " + line.split(" - ", 1)[1].strip())


def run(args: argparse.Namespace) -> int:
    """`amtsbote nlu evaluate [--url URL] [--cross-validation] [--verbose] [--check]`."""
    config_path, root = rasa_runner.config_and_root(args)
    config = load_config(config_path)
    server = None
    url = args.url
    if not url:
        rasa_runner.ensure_env(root)
        model = rasa_runner.ensure_model(config_path, root)
        if model.trained_seconds is not None:
            print(f"Training time: {model.trained_seconds:.0f} s")
        server = rasa_runner.start_server(model.path, port=rasa_runner.free_port(),
                                          log_path=root / "var" / "rasa-evaluate.log", root=root)
        print(f"Starting Rasa with {model.path.name} ...", flush=True)
        server.wait_ready()
        url = server.url
    try:
        report = asyncio.run(evaluate(config, url, held_out_files(root)))
    finally:
        if server is not None:
            server.stop()
    print(report.format(verbose=args.verbose))
    if args.cross_validation:
        cross_validate(config_path, root, args.folds)
    return 1 if args.check and not report.meets_targets() else 0
