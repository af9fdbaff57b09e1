"""The held-out evaluation scores what the API returns (no Rasa needed: results are given)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from assistant.nlu.evaluate import BERLIN, Example, Report, load_examples
from assistant.nlu.parse import Entity, ParseResult
from assistant.nlu.timeparse import TimeRange


def _result(intent: str, *, time: tuple[str, str] | None = None,
            entities: tuple[tuple[str, str], ...] = (), language: str = "de") -> ParseResult:
    span = None
    if time is not None:
        span = TimeRange(datetime.fromisoformat(time[0]).replace(tzinfo=BERLIN),
                         datetime.fromisoformat(time[1]).replace(tzinfo=BERLIN), "")
    return ParseResult("", intent, 0.9, [(intent, 0.9)], [Entity(*e) for e in entities],
                       [], span, language)


def test_time_only_files_are_read_with_their_language(tmp_path: Path) -> None:
    path = tmp_path / "times_en.yml"
    path.write_text('times:\n  - {text: "tomorrow at 9", time: "2026-11-24T09:00"}\n')
    assert load_examples(path) == [
        Example("tomorrow at 9", None, frozenset(), "2026-11-24T09:00", "en")]


def test_a_time_only_example_counts_for_the_time_and_not_for_intents() -> None:
    report = Report()
    report.add(Example("morgen um 9", None, frozenset(), "2026-11-24T09:00", "de"),
               _result("inform", time=("2026-11-24 09:00", "2026-11-24 09:00")), 0.01)
    assert report.intents == []
    assert report.time_accuracy() == 1.0


def test_targets_need_the_time_accuracy_too() -> None:
    report = Report()
    for lang in ("de", "en"):
        report.add(Example("Termin absagen", "cancel_appointment", frozenset(), None, lang),
                   _result("cancel_appointment", language=lang), 0.01)
    report.add(Example("in Riesa", "inform", frozenset({("office", "riesa")}), None, "de"),
               _result("inform", entities=(("office", "riesa"),)), 0.01)
    report.add(Example("en", "inform", frozenset(), None, "en"), _result("inform"), 0.01)
    assert report.meets_targets() is False  # no time examples: accuracy 0
    report.add(Example("Freitag", None, frozenset(), "2026-11-27", "de"),
               _result("inform", time=("2026-11-27 00:00", "2026-11-27 23:59:59")), 0.01)
    assert report.meets_targets() is True
    report.add(Example("Samstag", None, frozenset(), "2026-11-28", "de"),
               _result("inform"), 0.01)  # no time found
    assert report.time_accuracy() == 0.5
    assert report.meets_targets() is False
    assert "Time expressions: 1/2 (0.500)" in report.format()
