"""The running app against its OpenAPI description (issue 14), with Schemathesis: every
operation, with the staff token, examples from the coverage phase (boundary values, missing
and wrongly typed parameters, methods a path does not have) and a bounded number of
generated ones, valid and invalid. No answer may be a server error, and every answer must be
documented: its status, content type, headers and body. TRACE and other methods a path does
not have get 405 with `Allow`.

The NLU server is unreachable here, so `POST /api/v1/nlu/parse` answers 503 (documented).
On SQLite and, with TEST_DATABASE_URL, on PostgreSQL (whose `integer` ids hold 32 bits).

Schemathesis's own HTTP transport does not work with the urllib3 that caldav's niquests
installs, so requests go out through `requests` and the answers are checked with
`Case.validate_response`.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from assistant.http.openapi import SPEC
from assistant.testing import Harness
from tests.conftest import NOW

TOKEN = "staff-secret"
STAFF = {"Authorization": f"Bearer {TOKEN}"}
MAX_EXAMPLES = 25  # generated cases per operation and mode, on top of the coverage phase
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, unsupported_method]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


def _fuzz(base_url: str) -> tuple[dict[str, str], dict[str, int], set[str]]:
    """Run every case; the distinct failures (by operation, kind, status), the number of
    requests per operation and the methods sent."""
    schema = schemathesis.openapi.from_dict(copy.deepcopy(SPEC))
    failures: dict[str, str] = {}
    sent: dict[str, int] = {}
    methods: set[str] = set()
    http = requests.Session()

    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=base_url, headers=STAFF)
        response = http.request(**kwargs, timeout=60, allow_redirects=False)
        sent[case.operation.label] = sent.get(case.operation.label, 0) + 1
        methods.add(kwargs["method"].upper())
        checks = CHECKS
        if case.operation.path == "/api/v1/nlu/parse" and response.status_code == 503:
            checks = CHECKS[1:]  # "NLU server unavailable": documented, and expected here
        try:
            case.validate_response(response, checks=checks, headers=STAFF,
                                   transport_kwargs=kwargs)
        except BaseExceptionGroup as group:
            for failure in group.exceptions:
                key = (f"{case.operation.label} -> {response.status_code}: "
                       f"{getattr(failure, 'code', '')} {getattr(failure, 'title', failure)}")
                failures.setdefault(key, f"{failure}\n{case.as_curl_command(headers=STAFF)}")

    def generated(operation: Any, mode: GenerationMode) -> Callable[[], None]:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def test(case: Any) -> None:
            run(case)

        return test

    for result in schema.get_all_operations():
        operation = result.ok()
        config = schema.config.generation_for(operation=operation, phase="coverage")
        for case in schema.iter_coverage_cases(operation, generation_modes=MODES,
                                               generation_config=config):
            run(case)
        has_input = bool(operation.path_parameters or operation.query or operation.body)
        for mode in MODES if has_input else MODES[:1]:
            generated(operation, mode)()
    return failures, sent, methods


async def _conforms(monkeypatch: pytest.MonkeyPatch, database_url: str | None = None) -> None:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", TOKEN)
    async with Harness(nlu_url="http://127.0.0.1:9", now=NOW, database_url=database_url) as h:
        client = await h.http()
        base_url = str(client.make_url("")).rstrip("/")
        started = time.monotonic()
        failures, sent, methods = await asyncio.to_thread(_fuzz, base_url)
        seconds = time.monotonic() - started
    operations = {f"{method.upper()} {path}" for path, item in SPEC["paths"].items()
                  for method in item}
    assert set(sent) == operations, set(sent) ^ operations
    assert all(n >= 10 for n in sent.values()), sent
    assert "TRACE" in methods, methods  # the coverage phase tried methods a path lacks
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    assert seconds < 180, f"{seconds:.0f} s for {sum(sent.values())} requests"


async def test_the_api_answers_as_its_openapi_description_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    await _conforms(monkeypatch)


@pytest.mark.postgres
async def test_the_api_answers_as_its_openapi_description_says_on_postgresql(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    await _conforms(monkeypatch, pg_url)


async def test_trace_on_every_path_is_a_405_with_allow(offline_harness: Harness) -> None:
    client = await offline_harness.http()
    for path, item in SPEC["paths"].items():
        url = path.replace("{reference}", "K7Q-M4P").replace("{id}", "1").replace(
            "{office}", "riesa")
        resp = await client.request("TRACE", url)
        assert resp.status == 405, (path, resp.status)
        allowed = {m.strip() for m in resp.headers.get("Allow", "").split(",")}
        assert {m.upper() for m in item} <= allowed, (path, resp.headers.get("Allow"))


def test_every_operation_documents_its_errors() -> None:
    """Statuses the app can answer with, per kind of operation (the fuzz test finds those it
    reaches; this one also those it cannot provoke, like 429 or 413)."""
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            label = f"{method.upper()} {path}"
            if op.get("security"):
                assert {"401", "503"} <= codes, label
            if "{" in path:
                assert "404" in codes, label
            if "requestBody" in op:
                assert {"400", "413"} <= codes, label
                assert op["requestBody"]["content"]["application/json"]["schema"], label
    assert "429" in SPEC["paths"]["/webhooks/rest/webhook"]["post"]["responses"]
