"""Properties (hypothesis) of what reads untrusted text (issue 14): the time resolver, the NLU
result that combines it with Rasa's entities, the button payload parser and
`POST /api/v1/nlu/parse`.

For any text (random unicode, or German and English date and time words put together at
random), any `now` in years 1 to 9998 (also on the days the clocks change, inside the skipped
and the repeated hour, naive or aware) and either language:
- the time resolver never raises; every interval runs forwards (on the wall clock and in real
  time) in Europe/Berlin, an exact time is one the clocks show (not 02:30 on the last Sunday
  of March), "in 2 Stunden" is two hours of real time later;
- a payload is a well-formed `Understanding`, or no payload (None), or refused with
  `BadPayload` (which the dialogue answers with "I do not know this button"), never another
  exception;
- the API never answers 5xx and its answer is JSON a client can read.

Examples are derandomized (the same on every run and in CI) and bounded: the file runs in
10 to 20 seconds. (To hunt, raise `max_examples` and drop `derandomize` locally.)
"""

from __future__ import annotations

import calendar
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from assistant.config import load_config
from assistant.dialogue.understanding import (
    COMMANDS,
    INTENTS,
    BadPayload,
    Understanding,
    parse_payload,
)
from assistant.nlu.client import RasaClient
from assistant.nlu.parse import NLU, ParseResult
from assistant.nlu.timeparse import TimeRange, extract, resolve
from assistant.testing import Harness, ScriptedRasa
from tests.conftest import NOW

ROOT = Path(__file__).resolve().parent.parent
BERLIN = ZoneInfo("Europe/Berlin")
# Bounded and the same on every run; no example database written into the tree.
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, database=None)

# -- strategies: now ---------------------------------------------------------------------------


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() + 1) % 7)


@st.composite
def nows(draw: st.DrawFn, first_year: int = 1, last_year: int = 9998) -> datetime:
    """A `now` in Europe/Berlin; often on a day the clocks change, around 02:00-03:00 (the
    skipped hour in March, the repeated one in October, fold 0 or 1), or at the ends of the
    calendar; sometimes naive (the resolver takes that as Berlin time)."""
    lived = (max(first_year, 1970), min(last_year, 2100))  # often a year people live in
    year = draw(st.one_of(st.integers(first_year, last_year),
                          st.integers(*lived) if lived[0] <= lived[1] else st.nothing(),
                          st.sampled_from([first_year, first_year + 1, last_year - 1, last_year])))
    kind = draw(st.sampled_from(["dst", "dst", "any", "edge"]))
    if kind == "dst":
        day = _last_sunday(year, draw(st.sampled_from([3, 10]))) + timedelta(
            days=draw(st.sampled_from([0, 0, 0, -1, 1, -6, 6])))
        hour = draw(st.sampled_from([1, 2, 2, 2, 3, 0, 23]))
    elif kind == "edge":
        day = draw(st.sampled_from([date(year, 1, 1), date(year, 12, 31), date(year, 12, 28)]))
        hour = draw(st.integers(0, 23))
    else:
        day = draw(st.dates(date(year, 1, 1), date(year, 12, 31)))
        hour = draw(st.integers(0, 23))
    now = datetime(day.year, day.month, day.day, hour, draw(st.integers(0, 59)),
                   draw(st.integers(0, 59)), draw(st.sampled_from([0, 0, 123456])),
                   tzinfo=BERLIN, fold=draw(st.integers(0, 1)))
    return now.replace(tzinfo=None) if draw(st.integers(0, 9)) == 0 else now


# -- strategies: text --------------------------------------------------------------------------

VOCABULARY = [
    # days
    "heute", "morgen", "Morgen", "übermorgen", "uebermorgen", "Montag", "Dienstag", "Mittwoch",
    "Donnerstag", "Freitag", "Samstag", "Sonnabend", "Sonntag", "Mo", "Di.", "Do.", "Fr", "So.",
    "am Montag", "nächsten Dienstag", "übernächsten Freitag", "diesen Mittwoch",
    "Dienstag nächste Woche", "nächste Woche", "übernächste Woche", "diese Woche",
    "Anfang der Woche", "Ende der Woche", "Mitte nächster Woche", "Wochenende",
    "nächstes Wochenende", "KW 1", "KW 52", "KW 53", "Kalenderwoche 99",
    "in zwei Wochen", "in 3 Tagen", "in einem Monat", "in 99 Jahren", "in 12 Monaten",
    "in 99 Wochen", "in 2 Stunden", "in 30 Minuten", "in einer Stunde",
    "im Dezember", "Dezember", "März", "Oktober", "Februar", "Anfang Dezember", "Mitte März",
    "Ende Oktober", "nächsten Monat", "Ende des Monats", "Anfang nächsten Monats",
    "Heiligabend", "Silvester", "Neujahr", "Prosit Neujahr",
    "31.02.", "29.2.", "30.2.", "31.12.", "1.1.", "3.12", "24.12.2026", "29.02.2100",
    "31.12.9999", "1.1.0001", "am 31.", "am 29.", "den 3.", "vom 3. bis 5. Dezember",
    "ab Montag", "bis Freitag", "vor Freitag", "nach dem 3.12.", "ab dem 1.",
    "0001-01-01", "9999-12-31", "2026-03-29", "3-Dec-2026", "2026.12.03", "12/3", "31/12",
    "so bald wie möglich", "schnellstmöglich", "egal wann", "sofort",
    # times
    "halb neun", "halb eins", "Viertel vor elf", "viertel nach drei", "dreiviertel zehn",
    "viertel zehn", "zehn vor zwölf", "10 vor 12", "5 nach halb 3", "nach halb fünf",
    "um 25 Uhr", "um 24 Uhr", "um 0 Uhr", "um null Uhr", "um ein Uhr", "um 2:30", "um 2 Uhr",
    "2:30", "02:30", "02:59:59", "3 Uhr früh", "um 10.30", "10h30", "14h", "14:30", "23:59",
    "um 10", "gegen 9", "ab 15 Uhr", "nach 14 Uhr", "bis 10 Uhr", "vor 10", "nicht vor 10",
    "zwischen 9 und 11", "zwischen 2 und 3 Uhr", "von 14 bis 16 Uhr", "14-16 Uhr", "9 bis 11",
    "früh", "morgens", "vormittags", "mittags", "nachmittags", "abends", "am Abend",
    "zwölf", "dreiundzwanzig", "fünfundvierzig", "neunundneunzig", "zehn Uhr dreißig",
    # English
    "today", "tomorrow", "the day after tomorrow", "tonight", "monday", "next tuesday",
    "this friday", "next week", "the week after next", "weekend", "next weekend",
    "end of the month", "mid december", "late march", "early in the morning", "in the evening",
    "half past two", "quarter to three", "half nine", "ten to twelve", "at 2am", "2:30am",
    "3am", "12pm", "12 noon", "at noon", "noon", "after 3pm", "before 10", "between 9 and 11am",
    "December 3rd", "3rd of December", "Dec 31", "February 30th", "in 3 days", "2 weeks from now",
    "asap", "any time", "Christmas Eve", "New Year's Eve",
    # not times, and glue
    "Guten Morgen", "good morning", "Termin 2", "Option 3", "K7Q-M4P", "0351 123456",
    "Fr. Müller", "3 Personen", "may", "geht nicht", "passt mir leider nicht", "aber",
    "oder", "und", "bis", "um", "am", "den", "dem", "the", "on", "at", "-", ".", ",", "!", "?",
    "2", "9", "31", "99", "1999", "2026", "9999",
]
GLUE = [" ", " ", " ", ", ", ". ", " - ", "-", "", "\n", " \u00a0"]


@st.composite
def time_words(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=6))
    out = words[0]
    for word in words[1:]:
        out += draw(st.sampled_from(GLUE)) + word
    case = draw(st.sampled_from([str, str, str.lower, str.upper]))
    return case(out)


TEXTS = st.one_of(time_words(), time_words(), st.text(max_size=80),
                  st.text(st.characters(codec="utf-8"), max_size=40))
LANGS = st.sampled_from([None, "de", "en"])

# -- checks ------------------------------------------------------------------------------------


def _skipped(moment: datetime) -> bool:
    """A wall time the clocks do not show (it comes back different from a round trip)."""
    if not 1 < moment.year < 9999:  # years 1 and 9999 have no change of the clocks
        return False
    back = moment.astimezone(UTC).astimezone(BERLIN)
    return back.replace(tzinfo=None) != moment.replace(tzinfo=None)


def check_range(r: TimeRange, text: str) -> None:
    for moment in (r.start, r.end):
        assert getattr(moment.tzinfo, "key", None) == "Europe/Berlin", r
        assert moment.microsecond == 0, r
    assert r.start <= r.end, r  # on the wall clock ...
    assert r.start.timestamp() <= r.end.timestamp(), r  # ... and in real time
    assert not _skipped(r.start) and not _skipped(r.end), r
    assert r.text and r.text in text, (r.text, text)
    api = r.to_api()  # the same moments (compared as such: 02:30 in October happens twice)
    assert [datetime.fromisoformat(api[k]).timestamp() for k in ("start", "end")] == [
        r.start.timestamp(), r.end.timestamp()], api


def check_times(text: str, now: datetime, lang: str | None) -> None:
    found = resolve(text, now, lang)
    if found is not None:
        check_range(found, text)
    for r in extract(text, now, lang):
        check_range(r, text)


# -- the time resolver -------------------------------------------------------------------------


@PROPERTY
@given(text=TEXTS, now=nows(), lang=LANGS)
# What the properties found (issue 14): the quoted text held the blanked refusal ...
@example("heute heute, geht nicht, heute", datetime(2026, 11, 23, 10, tzinfo=BERLIN), None)
# ... and a `now` in the skipped hour (fold=1) was given back as the start.
@example("so bald wie möglich", datetime(2026, 3, 29, 2, 0, tzinfo=BERLIN, fold=1), "de")
@example("heute um 2 Uhr früh", datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN), "de")
def test_the_time_resolver_never_raises_and_every_range_is_real(
        text: str, now: datetime, lang: str | None) -> None:
    check_times(text, now, lang)


@PROPERTY
@given(text=time_words(), now=st.one_of(nows(first_year=9990), nows(last_year=3)), lang=LANGS)
@example("in 99 Jahren", datetime(9997, 11, 9, 17, 12, tzinfo=BERLIN), "de")  # year 10096
@example("in 99 Wochen", datetime(9998, 10, 11, 1, 43, tzinfo=BERLIN), None)
@example("KW 52", datetime(9998, 12, 31, 1, 43, tzinfo=BERLIN), "de")
@example("Montag in 2 Jahren", datetime(9998, 3, 1, 12, tzinfo=BERLIN), "de")
def test_at_the_ends_of_the_calendar_there_is_just_no_day(text: str, now: datetime,
                                                          lang: str | None) -> None:
    """ "in 99 Jahren" or "nächste Woche" said on 31 December 9998 would need a day after 9999:
    that is no time, and no exception either."""
    check_times(text, now, lang)


@PROPERTY
@given(words=st.lists(st.sampled_from(["um 2:30", "um 2 Uhr früh", "2:15", "zwischen 2 und 3",
                                       "ab 2:30", "bis 2:45", "at 2:30am", "halb drei früh",
                                       "um 3", "02:00", "02:59"]), min_size=1, max_size=2),
       day=st.sampled_from(["heute", "morgen", "Sonntag", "am Sonntag", "29.3.", "25.10.",
                            "31.3.", "27.10."]),
       now=nows(first_year=1980, last_year=2999))
def test_times_in_the_night_the_clocks_change_are_real(words: list[str], day: str,
                                                       now: datetime) -> None:
    """The hour 02:00-02:59 on the last Sunday of March does not exist: asked for, the answer
    is a time the clocks show, and a range still runs forwards."""
    check_times(" ".join([day, *words]), now, "de")


@PROPERTY
@given(n=st.integers(1, 99), unit=st.sampled_from(["Stunden", "Minuten", "hours", "minutes"]),
       now=nows(first_year=1980, last_year=2999))
@example(2, "Stunden", datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN))  # was 03:00, not 04:00
@example(30, "Minuten", datetime(2026, 10, 25, 2, 10, tzinfo=BERLIN, fold=1))  # was before now
def test_in_hours_and_minutes_is_real_time_later(n: int, unit: str, now: datetime) -> None:
    """ "in 2 Stunden" said at 01:30 on the day the clocks go forward is 04:30, two hours later,
    not 03:30; said in the repeated hour in October it is not before now."""
    aware = now if now.tzinfo else now.replace(tzinfo=BERLIN)
    found = resolve(f"in {n} {unit}", now)
    assert found is not None and found.start == found.end
    step = 3600 if unit in ("Stunden", "hours") else 60
    assert found.start.timestamp() == aware.replace(second=0, microsecond=0).timestamp() + (
        n * step), (now, found)


# -- NLU.parse: Rasa's answer with the time resolver --------------------------------------------


class ScriptedClient:
    """Stands in for `RasaClient`: answers with what the test drew."""

    def __init__(self) -> None:
        self.answer: dict[str, Any] = {}

    async def parse_raw(self, text: str) -> dict[str, Any]:
        return self.answer

    async def close(self) -> None:
        pass


ENTITY_KINDS = st.sampled_from(["service", "office", "reference", "time", "person", ""])
NAMES = st.sampled_from(sorted(INTENTS | {"nlu_fallback"}))


@st.composite
def rasa_answers(draw: st.DrawFn, text: str) -> dict[str, Any]:
    """What Rasa could answer for `text`: any intent and ranking, entities on any span (Rasa
    counts on the text it was sent, which may be shorter or longer than the citizen's)."""
    span = st.integers(0, len(text) + 3)
    entities = draw(st.lists(st.fixed_dictionaries({
        "entity": ENTITY_KINDS, "start": span, "end": span,
        "value": st.one_of(st.text(max_size=20), st.sampled_from(
            ["reisepass", "Riesa", "Meißen", "perso", "K7Q-M4P", "k7qm4p"]))}), max_size=4))
    ranking = draw(st.lists(st.fixed_dictionaries({
        "name": NAMES, "confidence": st.floats(0, 1)}), max_size=4))
    intent = draw(st.one_of(st.sampled_from(ranking) if ranking else st.nothing(),
                            st.fixed_dictionaries({"name": NAMES,
                                                   "confidence": st.floats(0, 1)})))
    return {"text": text, "intent": intent, "entities": entities, "intent_ranking": ranking}


@pytest.fixture(scope="module")
def nlu() -> tuple[NLU, ScriptedClient]:
    client = ScriptedClient()
    return NLU(load_config(ROOT / "config.yml"), cast(RasaClient, client)), client


@settings(PROPERTY, max_examples=150,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), text=TEXTS, now=nows(), lang=LANGS)
async def test_the_nlu_result_is_well_formed_whatever_rasa_says(
        nlu: tuple[NLU, ScriptedClient], data: st.DataObject, text: str, now: datetime,
        lang: str | None) -> None:
    reader, client = nlu
    client.answer = data.draw(rasa_answers(text))
    result = await reader.parse(text, now=now, lang_hint=lang)
    assert isinstance(result, ParseResult) and result.language in ("de", "en")
    assert result.confidence >= 0 and all(isinstance(n, str) for n, _ in result.ranking)
    for e in result.entities:
        assert e.entity in ("service", "office", "reference") and e.value, e
    # the times are read from the text Rasa was sent (numbers as digits), not Rasa's spans
    for r in [result.time, *result.times]:
        if r is not None:
            assert getattr(r.start.tzinfo, "key", None) == "Europe/Berlin", r
            assert r.start <= r.end and r.start.timestamp() <= r.end.timestamp(), r
            assert not _skipped(r.start) and not _skipped(r.end), r
    json.dumps(result.to_api(), allow_nan=False).encode("utf-8")


# -- button payloads -----------------------------------------------------------------------------

JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**30),
    st.floats(allow_nan=False), st.text(max_size=12),
    st.sampled_from(["2026-11-24T10:00:00+01:00", "2026-11-24T10:00:00", "2026-11-24",
                     "2026-03-29T02:30:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00",
                     "1899-12-31T23:00:00+00:00", "3000-01-01", "morgen", "", "de", "en",
                     "reisepass", "riesa", "K7Q-M4P"]))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=12)
KEYS = st.sampled_from(["service", "office", "reference", "slot", "start", "end", "language",
                        "x", ""])
PAYLOAD_NAMES = st.one_of(st.sampled_from(sorted(INTENTS | COMMANDS | {"start", "help",
                                                                         "abbrechen"})),
                          st.from_regex(r"[a-z_]{1,12}", fullmatch=True))


@st.composite
def payloads(draw: st.DrawFn) -> str:
    """`/name{json}` as a button sends it, and as someone typing or fuzzing might: wrong types,
    times at the ends of the calendar, huge numbers, lone surrogates, deep nesting, junk."""
    name = draw(PAYLOAD_NAMES)
    args = draw(st.dictionaries(KEYS, JSON_VALUES, max_size=5))
    body = json.dumps(args, ensure_ascii=draw(st.booleans()))
    body = draw(st.sampled_from([
        body, body, "", "{}", "[]", "null", '"x"',
        '{"service": "\\ud800"}', '{"\\udfff": 1}', '{"start": "\\ud83d"}',
        '{"slot": ' + "9" * draw(st.integers(1, 5000)) + "}",
        '{"slot": 1e999}', '{"slot": NaN}', '{"slot": -Infinity}', '{"slot": true}',
        '{"a": ' * (depth := draw(st.integers(1, 3000))) + "1" + "}" * depth,
        "[" * depth + "]" * depth, "{" * depth, body[:-1], body + "}", body.replace(":", ""),
    ]))
    junk = draw(st.sampled_from(["", "", " ", "\n", "x", "\ud800"]))
    return f"/{name}{body}{junk}"


def check_understanding(u: Understanding, text: str) -> None:
    assert u.text == text and u.from_button and u.confidence == 1.0
    assert (u.intent is None) != (u.command is None), u
    assert u.intent is None or u.intent in INTENTS
    assert u.command is None or u.command in COMMANDS
    for value in (u.service, u.office, u.reference):
        assert value is None or isinstance(value, str)
        if value:
            value.encode("utf-8")  # no lone surrogate: it could not be stored or logged
    assert u.choice is None or type(u.choice) is int
    assert (u.start is None) == (u.end is None), u
    if u.start is not None and u.end is not None:
        assert getattr(u.start.tzinfo, "key", None) == "Europe/Berlin", u.start
        assert getattr(u.end.tzinfo, "key", None) == "Europe/Berlin", u.end
        assert u.start <= u.end
        # the dialogue searches days after it and changes time zones: no overflow
        (u.end + timedelta(days=366)).astimezone(UTC)
    json.dumps(u.args, allow_nan=False, ensure_ascii=False).encode("utf-8")


@PROPERTY
@given(text=st.one_of(payloads(), payloads(), st.text(max_size=60),
                      st.text(max_size=30).map(lambda s: "/" + s)))
def test_a_payload_is_understood_refused_or_no_payload(text: str) -> None:
    try:
        u = parse_payload(text)
    except BadPayload:
        return  # the dialogue says it does not know this button
    if u is not None:
        check_understanding(u, text)


def test_the_buttons_own_payloads_are_understood() -> None:
    """The other side of the property: what the dialogue's own buttons send is not refused."""
    start = datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)
    u = parse_payload(f'/inform{{"start": "{start.isoformat()}", '
                      f'"end": "{(start + timedelta(days=14)).isoformat()}"}}')
    assert u is not None and u.start == start and u.end == start + timedelta(days=14)
    u = parse_payload('/choose{"slot": 2}')
    assert u is not None and u.command == "choose" and u.choice == 2
    u = parse_payload('/inform{"start": "2026-11-24T10:00:00"}')  # no offset: Berlin time
    assert u is not None and u.start == datetime(2026, 11, 24, 10, tzinfo=BERLIN) == u.end
    for bad in ('/inform{"start": "2026-11-24T10:00:00+01:00", "end": 3}',
                '/inform{"start": "9999-12-31T10:00:00+01:00"}',
                '/inform{"start": "2026-11-25T10:00:00+01:00", '
                '"end": "2026-11-24T10:00:00+01:00"}',
                '/inform{"slot": ' + "9" * 5000 + "}", '/inform{"service": "\\ud800"}'):
        with pytest.raises(BadPayload):
            parse_payload(bad)


# -- the HTTP path ----------------------------------------------------------------------------


def _rasa_answer(text: str) -> dict[str, Any]:
    """A plausible Rasa answer that tags spans of whatever it was sent."""
    words = text.split()
    entities = []
    if words:
        start = text.index(words[0])
        entities.append({"entity": "office", "start": start, "end": start + len(words[0]),
                         "value": words[0]})
        entities.append({"entity": "service", "start": 0, "end": len(text), "value": text})
    intent = {"name": "book_appointment", "confidence": 0.8}
    return {"text": text, "intent": intent, "entities": entities,
            "intent_ranking": [intent, {"name": "inform", "confidence": 0.2}]}


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[TestClient]:
    async with ScriptedRasa(default=_rasa_answer) as rasa, Harness(nlu_url=rasa.url,
                                                                   now=NOW) as h:
        yield await h.http()


@settings(PROPERTY, max_examples=120,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(TEXTS, payloads(), st.text(min_size=1990, max_size=2010)),
       now=st.one_of(st.none(), nows(first_year=1900, last_year=2999)))
async def test_the_parse_api_never_answers_5xx(api: TestClient, text: str,
                                               now: datetime | None) -> None:
    body: dict[str, Any] = {"text": text}
    if now is not None:
        body["now"] = now.isoformat()
    resp = await api.post("/api/v1/nlu/parse", json=body)
    assume(resp.status != 429)
    assert resp.status < 500, (resp.status, await resp.text())
    answer = await resp.json()
    assert resp.status in (200, 400, 413), (resp.status, answer)
    if resp.status == 200:
        assert answer["intent"]["name"] and isinstance(answer["entities"], list)
        for e in answer["entities"]:
            if e["entity"] == "time":
                start, end = (datetime.fromisoformat(e["value"][k]) for k in ("start", "end"))
                assert start.timestamp() <= end.timestamp(), e
    else:
        assert answer["error"]
