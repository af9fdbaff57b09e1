"""Understanding citizens' messages with the real trained Rasa server (started by the fixture)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from assistant.config import Config, load_config
from assistant.nlu.client import NLUUnavailable, RasaClient
from assistant.nlu.parse import NLU, ParseResult
from assistant.testing import Harness

pytestmark = pytest.mark.rasa

ROOT = Path(__file__).resolve().parents[1]
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)  # a Monday
DECEMBER_1 = datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)  # a Tuesday: issue 13's report


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(ROOT / "config.yml")


@pytest.fixture
async def nlu(config: Config, rasa_url: str) -> AsyncIterator[NLU]:
    nlu = NLU(config, RasaClient(rasa_url, timeout_seconds=10))
    yield nlu
    await nlu.close()


async def parse(nlu: NLU, text: str) -> ParseResult:
    return await nlu.parse(text, now=NOW)


# Sentences that are in neither the training nor the held-out data.
INTENTS = [
    ("greet", "Guten Tag, ich hätte mal eine Frage"),
    ("greet", "Hello, good morning to you"),
    ("goodbye", "Tschüss und bis bald"),
    ("goodbye", "Goodbye, have a nice day"),
    ("affirm", "Ja, das passt mir gut"),
    ("affirm", "Yes, that's fine"),
    ("deny", "Nein, das passt mir leider nicht"),
    ("deny", "No, that doesn't suit me"),
    ("thank", "Vielen Dank für Ihre Hilfe"),
    ("thank", "Thank you so much for your help"),
    ("book_appointment", "Ich brauche einen Termin für einen neuen Reisepass"),
    ("book_appointment", "I want to book an appointment for an ID card"),
    ("reschedule_appointment", "Ich möchte meinen Termin auf Mittwoch verschieben"),
    ("reschedule_appointment", "Can I move my appointment to another day?"),
    ("cancel_appointment", "Ich möchte meinen Termin stornieren"),
    ("cancel_appointment", "Please cancel my appointment"),
    ("check_appointment", "Wann ist mein Termin nochmal?"),
    ("check_appointment", "When is my appointment?"),
    ("request_video_call", "Kann ich das auch per Videoanruf erledigen?"),
    ("request_video_call", "Can we do a video call instead?"),
    ("request_human", "Ich möchte mit einem Mitarbeiter sprechen"),
    ("request_human", "I want to speak to a real person"),
    ("ask_service_info", "Was kostet ein neuer Personalausweis?"),
    ("ask_service_info", "Which documents do I need for a passport?"),
    ("ask_opening_hours", "Wann hat das Bürgerbüro in Riesa geöffnet?"),
    ("ask_opening_hours", "What are the opening hours in Meissen?"),
    ("inform", "in Großenhain bitte"),
    ("inform", "the passport please"),
    ("help", "Was kannst du alles?"),
    ("help", "What can you do for me?"),
    ("out_of_scope", "Wie wird das Wetter nächste Woche?"),
    ("out_of_scope", "Tell me a funny joke"),
]


@pytest.mark.parametrize(("intent", "text"), INTENTS)
async def test_intent_is_understood(nlu: NLU, intent: str, text: str) -> None:
    result = await parse(nlu, text)
    assert result.intent == intent, (text, result.ranking[:3])


@pytest.mark.parametrize(
    ("text", "language"),
    [("Ich brauche einen Termin für meinen Pass", "de"), ("I need an appointment", "en")],
)
async def test_language_is_reported(nlu: NLU, text: str, language: str) -> None:
    assert (await parse(nlu, text)).language == language


@pytest.mark.parametrize(
    ("text", "service", "office"),
    [
        ("Termin für den Perso in Meissen", "personalausweis", "meissen"),
        ("perso riesa morgen", "personalausweis", "riesa"),
        ("Ich will mein Auto ummelden, am liebsten in Großenhain", "kfz_zulassung", "grossenhain"),
        ("Mein Lappen muss umgetauscht werden, geht das in Radebeul?", "fuehrerschein",
         "radebeul"),
        ("I want make appointment for passport in Coswig", "reisepass", "coswig"),
        ("termin fuer fuehrerschein in grossenhain", "fuehrerschein", "grossenhain"),
        ("Ich brauche einen neuen Fuehrerschien in Grosenhein", "fuehrerschein", "grossenhain"),
    ],
)
async def test_services_and_offices_become_catalogue_ids(
    nlu: NLU, text: str, service: str, office: str
) -> None:
    result = await parse(nlu, text)
    assert (result.values("service"), result.values("office")) == ([service], [office])


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Bitte sagen Sie den Termin K7Q-M4P ab", "cancel_appointment"),
        ("cancel k7q m4p please", "cancel_appointment"),
        ("Wann ist mein Termin k7qm4p?", "check_appointment"),
    ],
)
async def test_reference_codes_are_canonical(nlu: NLU, text: str, intent: str) -> None:
    result = await parse(nlu, text)
    assert result.intent == intent
    assert result.values("reference") == ["K7QM4P"]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("morgen vormittag", "2026-11-24T08:00", "2026-11-24T12:00"),
        ("morgen um zehn uhr dreißig", "2026-11-24T10:30", "2026-11-24T10:30"),
        ("Thursday at 10 am", "2026-11-26T10:00", "2026-11-26T10:00"),
    ],
)
async def test_answers_with_a_time_are_inform_with_the_time(
    nlu: NLU, text: str, start: str, end: str
) -> None:
    result = await parse(nlu, text)
    assert result.intent == "inform"
    assert result.time is not None
    assert (result.time.start.isoformat()[:16], result.time.end.isoformat()[:16]) == (start, end)


async def test_api_shape(nlu: NLU) -> None:
    api = (await parse(nlu, "Personalausweis in Riesa morgen um 10 Uhr")).to_api()
    assert set(api) == {"intent", "entities", "language"}
    assert set(api["intent"]) == {"name", "confidence"} and api["language"] == "de"
    assert api["entities"] == [
        {"entity": "service", "value": "personalausweis"},
        {"entity": "office", "value": "riesa"},
        {"entity": "time", "value": {"start": "2026-11-24T10:00:00+01:00",
                                     "end": "2026-11-24T10:00:00+01:00"}},
    ]


async def test_gibberish_is_not_mistaken_for_a_request(nlu: NLU, config: Config) -> None:
    result = await parse(nlu, "xqzt vbnm")
    assert result.intent in ("out_of_scope", "nlu_fallback") or result.uncertain(
        config.nlu.confidence_threshold, config.nlu.ambiguity_margin
    )
    assert len(result.ranking) >= 2 and result.ranking[0][1] >= result.ranking[1][1]


async def test_rasa_down_raises_quickly(config: Config) -> None:
    nlu = NLU(config, RasaClient("http://127.0.0.1:9", timeout_seconds=1, retries=1,
                                 breaker_failures=1, breaker_seconds=60))
    try:
        started = time.monotonic()
        for _ in range(3):
            with pytest.raises(NLUUnavailable):
                await nlu.parse("Ich brauche einen Termin", now=NOW)
        assert time.monotonic() - started < 2
    finally:
        await nlu.close()


# Issue 13: `POST /api/v1/nlu/parse` on Tuesday 1 December 2026 dropped exact times that a
# full stop followed ("halb acht." read "acht." as the 8th of a month): "früh" alone was left
# (06:00-10:00), "vor elf." became "before 11" (00:00-11:00), "tomorrow" the whole day.
def _t(moment: str) -> str:
    return f"{moment}:00+01:00"


ENDPOINT_TIMES = [
    ("Freitag früh um halb acht", _t("2026-12-04T07:30"), _t("2026-12-04T07:30")),
    ("Freitag früh um halb acht.", _t("2026-12-04T07:30"), _t("2026-12-04T07:30")),
    ("Donnerstag um Viertel vor elf", _t("2026-12-03T10:45"), _t("2026-12-03T10:45")),
    ("Donnerstag um Viertel vor elf.", _t("2026-12-03T10:45"), _t("2026-12-03T10:45")),
    ("tomorrow at half past nine", _t("2026-12-02T09:30"), _t("2026-12-02T09:30")),
    ("tomorrow at half past nine.", _t("2026-12-02T09:30"), _t("2026-12-02T09:30")),
    ("Morgen Nachmittag um drei.", _t("2026-12-02T15:00"), _t("2026-12-02T15:00")),
    ("Montag vormittag 10 Uhr.", _t("2026-12-07T10:00"), _t("2026-12-07T10:00")),
    ("Mittwoch um fünf nach halb drei.", _t("2026-12-02T14:35"), _t("2026-12-02T14:35")),
    ("Thursday at quarter to eleven.", _t("2026-12-03T10:45"), _t("2026-12-03T10:45")),
    ("Dienstag zwischen 9 und 11.", _t("2026-12-08T09:00"), _t("2026-12-08T11:00")),
    ("Perso in Riesa, Freitag ab halb neun.", _t("2026-12-04T08:30"), "2026-12-04T23:59:59+01:00"),
    ("Today is too short notice. Is next Tuesday after 4:30 possible?", _t("2026-12-08T16:30"),
     "2026-12-08T23:59:59+01:00"),
    ("Heute ist mir zu kurzfristig, geht nächste Woche Dienstag nach halb fünf?",
     _t("2026-12-08T16:30"), "2026-12-08T23:59:59+01:00"),
    ("Hat Riesa an Silvester offen?", _t("2026-12-31T00:00"), "2026-12-31T23:59:59+01:00"),
]


@pytest.fixture(scope="module")
async def december_client(rasa_url: str) -> AsyncIterator[TestClient]:
    """The whole app over HTTP, its clock pinned at Tuesday 1 December 2026, 09:00."""
    async with Harness(nlu_url=rasa_url, now=DECEMBER_1) as h:
        yield await h.http()


async def _times(client: TestClient, body: dict[str, str]) -> list[dict[str, str]]:
    resp = await client.post("/api/v1/nlu/parse", json=body)
    assert resp.status == 200, await resp.text()
    return [e["value"] for e in (await resp.json())["entities"] if e["entity"] == "time"]


@pytest.mark.parametrize(("text", "start", "end"), ENDPOINT_TIMES)
async def test_times_through_the_endpoint(
    december_client: TestClient, text: str, start: str, end: str
) -> None:
    want = [{"start": start, "end": end}]
    # "now" given (also as UTC), and left out: then the app's clock is "now"
    assert await _times(december_client, {"text": text, "now": DECEMBER_1.isoformat()}) == want
    assert await _times(december_client, {"text": text, "now": "2026-12-01T08:00:00Z"}) == want
    assert await _times(december_client, {"text": text}) == want


@pytest.mark.parametrize(("text", "start", "end"), ENDPOINT_TIMES[:6])
async def test_times_through_nlu_parse(nlu: NLU, text: str, start: str, end: str) -> None:
    result = await nlu.parse(text, now=DECEMBER_1)
    assert result.time is not None
    assert (result.time.start.isoformat(), result.time.end.isoformat()) == (start, end)


@pytest.mark.parametrize("now", [5, True, ["2026-12-01"], "gestern"])
async def test_endpoint_rejects_a_now_that_is_not_iso_8601(
    december_client: TestClient, now: object
) -> None:
    resp = await december_client.post("/api/v1/nlu/parse", json={"text": "morgen", "now": now})
    assert resp.status == 400
