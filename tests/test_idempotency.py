"""`Idempotency-Key` on the staff API's POSTs: a retry gets the same answer and books nothing
twice; another request under the same key is refused; keys are per staff token and expire by
the app's clock (assistant/idempotency.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from assistant.retention import Policy, purge
from assistant.storage.models import Appointment, IdempotencyKey
from assistant.testing import Harness
from tests.conftest import NOW

STAFF = {"Authorization": "Bearer staff-secret"}
START = NOW.replace(day=26, hour=10)  # Thursday: Riesa is open, 2 counters


@pytest.fixture(autouse=True)
def staff_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", "staff-secret")


def booking(name: str = "Else Walter") -> dict[str, Any]:
    return {"service": "meldebescheinigung", "office": "riesa", "start": START.isoformat(),
            "citizen": {"name": name, "phone": "0351 4455667"}}


async def count(h: Harness, table: type) -> int:
    async with h.ctx.db() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_retry_with_the_same_key_gets_the_same_appointment(
        offline_harness: Harness) -> None:
    client = await offline_harness.http()
    key = {**STAFF, "Idempotency-Key": "retry-1"}
    first = await client.post("/api/v1/appointments", headers=key, json=booking())
    assert first.status == 201 and "Idempotent-Replayed" not in first.headers
    # The same document written differently is the same request.
    again = await client.post("/api/v1/appointments", headers={
        **key, "Content-Type": "application/json"}, data=" ".join(
            ['{"citizen": {"phone": "0351 4455667", "name": "Else Walter"},',
             f'"start": "{START.isoformat()}", "office": "riesa",',
             '"service": "meldebescheinigung"}']))
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json()
    assert await count(offline_harness, Appointment) == 1
    assert await count(offline_harness, IdempotencyKey) == 1
    # Without the header every request is a request of its own, as before.
    other = await client.post("/api/v1/appointments", headers=STAFF, json=booking("Anna Berg"))
    assert other.status == 201 and await count(offline_harness, Appointment) == 2

    # A cancellation retried answers the same instead of "not booked any more".
    ref = (await first.json())["reference"]
    cancels = [await client.post(f"/api/v1/appointments/{ref}/cancel",
                                 headers={**STAFF, "Idempotency-Key": "cancel-1"})
               for _ in range(2)]
    assert [c.status for c in cancels] == [200, 200]
    assert (await cancels[0].json()) == (await cancels[1].json())
    assert (await cancels[1].json())["status"] == "cancelled"


async def test_the_same_key_for_another_request_is_refused(offline_harness: Harness) -> None:
    client = await offline_harness.http()
    key = {**STAFF, "Idempotency-Key": "k-2"}
    assert (await client.post("/api/v1/appointments", headers=key, json=booking())).status == 201
    other = await client.post("/api/v1/appointments", headers=key, json=booking("Anna Berg"))
    assert other.status == 422
    assert (await other.json())["code"] == "idempotency_key_reused"
    elsewhere = await client.post("/api/v1/video-requests/1/take", headers=key)
    assert elsewhere.status == 422
    assert await count(offline_harness, Appointment) == 1
    for bad in ("x" * 256, "schlüssel"):
        wrong = await client.post("/api/v1/appointments", json=booking(),
                                  headers={**STAFF, "Idempotency-Key": bad})
        assert wrong.status == 400 and "Idempotency-Key" in (await wrong.json())["error"]
    # A request that changed nothing stores nothing: its key may be used again.
    refused = {**STAFF, "Idempotency-Key": "k-3"}
    gone = await client.post("/api/v1/video-requests/7/take", headers=refused)
    assert gone.status == 404
    assert (await client.post("/api/v1/appointments", headers=refused,
                              json=booking("Carl Dorn"))).status == 201


async def test_keys_of_two_staff_tokens_do_not_collide(
        offline_harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    client = await offline_harness.http()
    first = await client.post("/api/v1/appointments", json=booking(),
                              headers={**STAFF, "Idempotency-Key": "shared"})
    monkeypatch.setenv("AMTSBOTE_API_TOKEN", "another-secret")
    second = await client.post("/api/v1/appointments", json=booking("Anna Berg"), headers={
        "Authorization": "Bearer another-secret", "Idempotency-Key": "shared"})
    assert (first.status, second.status) == (201, 201)
    assert (await first.json())["reference"] != (await second.json())["reference"]
    assert await count(offline_harness, IdempotencyKey) == 2


async def test_keys_expire_by_the_apps_clock_and_retention_deletes_them(
        offline_harness: Harness) -> None:
    h = offline_harness
    client = await h.http()
    key = {**STAFF, "Idempotency-Key": "day-1"}
    first = await client.post("/api/v1/appointments", headers=key, json=booking())
    h.clock.now = NOW + timedelta(hours=23, minutes=59)
    assert (await purge(h.ctx.db, Policy(), h.ctx.now())).idempotency_keys == 0
    replay = await client.post("/api/v1/appointments", headers=key, json=booking())
    assert (await replay.json())["reference"] == (await first.json())["reference"]
    h.clock.now = NOW + timedelta(hours=24)
    fresh = await client.post("/api/v1/appointments", headers=key, json=booking())
    assert fresh.status == 201 and "Idempotent-Replayed" not in fresh.headers
    assert (await fresh.json())["reference"] != (await first.json())["reference"]
    assert await count(h, Appointment) == 2
    h.clock.now = NOW + timedelta(hours=48)
    assert (await purge(h.ctx.db, Policy(), h.ctx.now())).idempotency_keys == 1
    assert await count(h, IdempotencyKey) == 0


async def test_two_concurrent_requests_with_one_key_book_once_on_postgres(pg_url: str) -> None:
    async with Harness(database_url=pg_url, nlu_url="http://127.0.0.1:9", now=NOW) as h:
        async with h.ctx.db() as session:
            await session.execute(text("TRUNCATE appointments, occupancy, outbox, events, "
                                       "idempotency_keys CASCADE"))
            await session.commit()
        client = await h.http()
        key = {**STAFF, "Idempotency-Key": "race"}
        answers = await asyncio.gather(*(
            client.post("/api/v1/appointments", headers=key, json=booking())
            for _ in range(5)))
        assert [a.status for a in answers] == [201] * 5
        assert len({(await a.json())["reference"] for a in answers}) == 1
        assert sum("Idempotent-Replayed" in a.headers for a in answers) == 4
        assert await count(h, Appointment) == 1
        assert await count(h, IdempotencyKey) == 1
