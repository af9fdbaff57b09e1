"""Unauthenticated bad input gets 400 (or 404) with a JSON error, never a 500 with a traceback
in the log (issue 14): JSON nested 30,000 deep, lone UTF-16 surrogates, dates at the ends of
the calendar, path ids out of range. The web chat socket answers a bad frame with an error
frame and stays open."""

from __future__ import annotations

import json
import logging

import pytest
from aiohttp import WSMsgType

from assistant.http.common import BadJSON, loads_json
from assistant.testing import Harness
from tests.conftest import NOW

STAFF = {"Authorization": "Bearer staff-secret"}
JSON = {"Content-Type": "application/json"}
DEEP = "[" * 30_000 + "]" * 30_000
DEEP_OPEN = "[" * 30_000  # fits one web chat frame (32 KiB)


@pytest.fixture(autouse=True)
def staff_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", "staff-secret")


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]


@pytest.mark.parametrize("text", [
    DEEP, DEEP_OPEN, '{"a": ' * 40 + "1" + "}" * 40, '"\\ud800"', '{"\\udc00": 1}',
    '["ok", {"x": ["\\ud83d"]}]', "NaN", '{"n": -Infinity}', "1e999", b'"\xed\xa0\x80"',
    b"\xff\xfe", "9" * 5000, "{not json",
])
def test_the_shared_json_reader_refuses_with_one_exception(text: str | bytes) -> None:
    with pytest.raises(BadJSON):
        loads_json(text)


def test_the_shared_json_reader_reads_what_clients_send() -> None:
    assert loads_json('{"sender": "s", "message": "Grüße \\ud83d\\ude00", "n": [1, 2.5]}') == {
        "sender": "s", "message": "Grüße \U0001f600", "n": [1, 2.5]}
    assert loads_json(b'[[[[1]]]]') == [[[[1]]]]
    nested = "[" * 32 + "]" * 32
    assert loads_json(nested) is not None
    with pytest.raises(BadJSON):
        loads_json("[" + nested + "]")


@pytest.mark.parametrize("path", ["/webhooks/rest/webhook", "/api/v1/nlu/parse",
                                  "/webchat/message", "/api/v1/appointments"])
async def test_deeply_nested_json_is_a_400(offline_harness: Harness, path: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    client = await offline_harness.http()
    for body in (DEEP, DEEP_OPEN, '{"sender": ' + "[" * 2000 + "]" * 2000 + "}"):
        resp = await client.post(path, data=body, headers={**JSON, **STAFF})
        assert resp.status == 400, (path, resp.status, await resp.text())
        assert resp.content_type == "application/json" and "error" in await resp.json()
    _no_errors_logged(caplog)


async def test_lone_surrogates_are_a_400(offline_harness: Harness,
                                         caplog: pytest.LogCaptureFixture) -> None:
    client = await offline_harness.http()
    cases = [
        ("/webhooks/rest/webhook", '{"sender": "\\ud800", "message": "hallo"}'),
        ("/webhooks/rest/webhook", '{"sender": "s1", "message": "hallo \\udfff"}'),
        ("/webhooks/rest/webhook", '{"sender": "s1", "message": "hi", "metadata": {"\\ud800": 1}}'),
        ("/api/v1/nlu/parse", '{"text": "morgen \\ud800"}'),
        ("/webchat/message", '{"text": "\\ud800", "language": "de"}'),
        ("/api/v1/appointments", '{"service": "meldebescheinigung", "office": "riesa", '
                                 '"start": "2026-11-24T10:00:00", "citizen": {"name": "\\ud800"}}'),
    ]
    for path, body in cases:
        resp = await client.post(path, data=body, headers={**JSON, **STAFF})
        assert resp.status == 400, (path, body, resp.status, await resp.text())
        assert "error" in await resp.json()
    _no_errors_logged(caplog)


async def test_a_payload_nested_too_deep_is_an_unknown_button(
        offline_harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    client = await offline_harness.http()
    text = '/inform{"office": ' + "[" * 990 + "]" * 990 + "}"
    resp = await client.post("/webhooks/rest/webhook", json={"sender": "s1", "message": text})
    assert resp.status == 200 and "kenne ich nicht" in (await resp.json())[0]["text"]
    _no_errors_logged(caplog)


async def test_now_and_dates_out_of_range_are_a_400(offline_harness: Harness,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    client = await offline_harness.http()
    for now in (20261124, 9999, "9999-12-31", "9999-12-31T23:59:59", "0001-01-01T00:00:00-05:00",
                "9999-12-31T23:00:00+00:00"):
        resp = await client.post("/api/v1/nlu/parse", json={"text": "morgen um 10", "now": now})
        assert resp.status == 400, (now, await resp.text())
        assert "error" in await resp.json()
    for query in ("from=9999-12-31", "to=9999-12-31", "from=0001-01-01",
                  "from=9999-12-31T23:59:59%2B00:00", "from=0001-01-01T00:00:00-05:00"):
        resp = await client.get(f"/api/v1/slots?service=personalausweis&{query}")
        assert resp.status == 400, (query, await resp.text())
        resp = await client.get(f"/api/v1/stats?{query}", headers=STAFF)
        assert resp.status == 400, (query, await resp.text())
    for day in ("9999-12-31", "0001-01-01"):
        resp = await client.get(f"/api/v1/appointments?office=riesa&date={day}", headers=STAFF)
        assert resp.status == 400, (day, await resp.text())
    # Ordinary dates still work.
    resp = await client.get("/api/v1/slots?service=personalausweis&from=2026-11-24&to=2026-11-24")
    assert resp.status == 200 and (await resp.json())["slots"]
    _no_errors_logged(caplog)


async def test_path_ids_out_of_range_are_a_404(offline_harness: Harness,
                                               caplog: pytest.LogCaptureFixture) -> None:
    client = await offline_harness.http()
    for rid in ("1806532059863129522176", "9223372036854775808", "2147483648", "-1", "+1",
                "1_0", "%D9%A1", "0x10", "1.0"):
        resp = await client.post(f"/api/v1/video-requests/{rid}/take", headers=STAFF)
        assert resp.status == 404, (rid, resp.status, await resp.text())
        assert (await resp.json())["error"] == "no such request"
    _no_errors_logged(caplog)


async def test_a_staff_booking_in_9999_is_refused_and_the_feed_stays_up(
        offline_harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    client = await offline_harness.http()
    for start in ("9999-12-31T10:00:00", "9999-12-31T23:30:00-05:00"):
        resp = await client.post("/api/v1/appointments", headers=STAFF, json={
            "service": "meldebescheinigung", "office": "meissen", "start": start,
            "citizen": {"name": "Ida Ende"}, "override": {"reason": "Test"}})
        assert resp.status in (400, 422), (start, await resp.text())
    feed = await client.get("/api/v1/offices/meissen/appointments.ics", headers=STAFF)
    assert feed.status == 200 and "BEGIN:VCALENDAR" in await feed.text()
    _no_errors_logged(caplog)


async def test_the_web_chat_socket_answers_bad_frames_and_stays_open(
        offline_harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    client = await offline_harness.http()
    ws = await client.ws_connect("/webchat/ws")
    hello = json.dumps({"type": "hello", "language": "de"})
    await ws.send_str(hello)
    assert (await ws.receive_json(timeout=10))["type"] == "ready"
    for frame in (DEEP_OPEN, '{"type": "message", "text": "' + "[" * 100 + '", "x": '
                  + "[" * 10_000 + "]" * 10_000 + "}",
                  '{"type": "message", "text": "hallo \\ud800"}',
                  '{"type": "hello", "sender": "\\udc00"}', "NaN", "[1e999]"):
        await ws.send_str(frame)
        msg = await ws.receive(timeout=10)
        assert msg.type == WSMsgType.TEXT, (frame[:40], msg)
        assert json.loads(msg.data)["code"] == "invalid_json", msg.data
    await ws.send_str('{"type": "ping"}')
    assert (await ws.receive_json(timeout=10)) == {"type": "pong"}
    assert not ws.closed
    await ws.close()
    _no_errors_logged(caplog)


async def test_trace_and_unknown_methods_are_a_405_with_allow(offline_harness: Harness) -> None:
    client = await offline_harness.http()
    for method, path in (("TRACE", "/api/v1/offices"), ("TRACE", "/webhooks/rest/webhook"),
                         ("DELETE", "/api/v1/slots"), ("PATCH", "/api/v1/appointments"),
                         ("TRACE", "/healthz")):
        resp = await client.request(method, path)
        assert resp.status == 405, (method, path, resp.status)
        assert resp.headers.get("Allow"), (method, path, dict(resp.headers))
        assert method not in resp.headers["Allow"]
        if path.startswith("/api/"):
            assert (await resp.json())["error"] == "Method Not Allowed"


@pytest.mark.postgres
async def test_ids_and_dates_out_of_range_on_postgresql(
        pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL's integer columns hold 32 bits: a larger id is no request either."""
    async with Harness(nlu_url="http://127.0.0.1:9", now=NOW, database_url=pg_url) as h:
        client = await h.http()
        for rid in ("2147483648", "999999999999999999", "1806532059863129522176"):
            resp = await client.post(f"/api/v1/video-requests/{rid}/take", headers=STAFF)
            assert resp.status == 404, (rid, resp.status, await resp.text())
        for query in ("from=2999-12-31", "from=1900-01-01", "from=9999-12-31"):
            resp = await client.get(f"/api/v1/stats?{query}", headers=STAFF)
            assert resp.status in (200, 400), (query, await resp.text())
        resp = await client.get("/api/v1/slots?service=personalausweis&from=2999-12-20")
        assert resp.status == 200
    _no_errors_logged(caplog)
