"""Benchmark: days of appointments released at once, booked in a burst on PostgreSQL.

N concurrent staff clients book through the booking API (`POST /api/v1/appointments`) every
start of the released days, each start requested more often than the office has counters
(--oversubscribe), so they collide: 201 booked, 409 taken. In the same run C citizens book by
chat over REST (bench/rest_conversations.py's simulated citizens), reported separately: chat
is bound by the NLU. Afterwards the database is checked: no two booked appointments overlap on
one counter, every 201 is stored exactly once, nothing is stored that was not answered 201,
and every counter of every released start is booked (no refusal while a counter was free).

    .venv/bin/python bench/booking_burst.py --clients 16 --days 20 --workers 2 --chat 8

It creates a fresh database on the PostgreSQL server of TEST_DATABASE_URL (default
postgresql+asyncpg://postgres@127.0.0.1:5432/test) and drops it afterwards (or uses
--database-url as it is), migrates it once, and starts --workers `amtsbote serve` processes
on one port (--reuse-port). Rasa: RASA_URL, else one is started on port 15005.

The released days start --ahead days from today (offices release days at the far end of
their booking horizon; the chat citizens ask for the coming weeks), with every start of each
office's opening hours for one 10-minute service (--service), so the capacity is exact:
starts x counters.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import asyncpg  # noqa: E402
from rest_conversations import Citizen, percentile, wait_http  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from assistant.booking import references  # noqa: E402
from assistant.booking.slots import closed_day, day_starts  # noqa: E402
from assistant.config import Config, load_config  # noqa: E402
from assistant.nlu import rasa_runner  # noqa: E402

DEFAULT_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CHANNEL = "burst"


def released(config: Config, service_id: str, first: date, days: int
             ) -> list[tuple[str, str, int]]:
    """(office, start ISO, counters) of every start of `days` open days from `first`."""
    service = config.service(service_id)
    assert service is not None, f"unknown service {service_id}"
    out: list[tuple[str, str, int]] = []
    day, found = first, 0
    while found < days:
        opened = False
        for office in config.offices_for(service.id):
            if closed_day(office, config.booking, day) is not None:
                continue
            for start in day_starts(office, timedelta(minutes=service.duration_minutes),
                                    config.booking, day):
                out.append((office.id, start.isoformat(), office.counters))
                opened = True
        found += opened
        day += timedelta(days=1)
    return out


async def burst(base: str, token: str, service: str, starts: list[tuple[str, str, int]],
                clients: int, oversubscribe: float) -> dict[str, Any]:
    requests = [(office, start) for office, start, counters in starts
                for _ in range(math.ceil(counters * oversubscribe))]
    random.Random(14).shuffle(requests)
    todo = iter(requests)
    statuses: Counter[int] = Counter()
    refs: list[str] = []
    latencies: list[float] = []
    other: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn, headers=headers) as http:

        async def client(n: int) -> None:
            for office, start in todo:
                t0 = time.perf_counter()
                async with http.post(f"{base}/api/v1/appointments", json={
                        "service": service, "office": office, "start": start,
                        "citizen": {"name": f"Burst Bürger{n}"}, "channel": CHANNEL}) as r:
                    body = await r.json()
                latencies.append(time.perf_counter() - t0)
                statuses[r.status] += 1
                if r.status == 201:
                    refs.append(references.normalize(body["reference"]) or body["reference"])
                elif r.status != 409:
                    other.append(f"{r.status} {body}")

        async def progress() -> None:
            done, at = 0, time.perf_counter()
            while True:
                await asyncio.sleep(10)
                now, total = time.perf_counter(), sum(statuses.values())
                print(f"  ... {total} requests, {(total - done) / (now - at):.0f}/s in the last "
                      f"{now - at:.0f} s", flush=True)
                done, at = total, now

        t0 = time.perf_counter()
        ticker = asyncio.create_task(progress())
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - t0
        ticker.cancel()
    return {"elapsed": elapsed, "requests": len(requests), "statuses": statuses, "refs": refs,
            "latencies": latencies, "other": other}


async def chat(url: str, citizens: int, stop: asyncio.Event, minimum: int) -> dict[str, Any]:
    """`citizens` concurrent chat conversations, new ones until `stop` is set and at least
    `minimum` were had."""
    latencies: list[float] = []
    refs: list[str] = []
    started = 0
    messages = 0

    async def citizen(http: aiohttp.ClientSession, wid: int) -> None:
        nonlocal started, messages
        rng = random.Random(wid)
        while not stop.is_set() or started < minimum:
            n = started
            started += 1
            c = Citizen(http, url, n, latencies)
            ref = await c.book(rng)
            messages += c.messages
            if ref:
                refs.append(references.normalize(ref) or ref)

    conn = aiohttp.TCPConnector(limit=citizens * 2)
    async with aiohttp.ClientSession(connector=conn) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(citizen(http, i) for i in range(citizens)))
        elapsed = time.perf_counter() - t0
    return {"elapsed": elapsed, "conversations": started, "messages": messages,
            "latencies": latencies, "refs": refs}


async def verify(db_url: str, burst_refs: list[str], chat_refs: list[str],
                 starts: list[tuple[str, str, int]], service: str) -> dict[str, int]:
    conn = await asyncpg.connect(make_url(db_url).set(drivername="postgresql")
                                 .render_as_string(hide_password=False))
    try:
        rows = await conn.fetch("SELECT reference, channel, status FROM appointments")
        overlaps = await conn.fetchval(
            "SELECT count(*) FROM appointments a JOIN appointments b ON a.id < b.id "
            "AND a.office_id = b.office_id AND a.counter = b.counter "
            "AND a.status = 'booked' AND b.status = 'booked' "
            "AND a.start < b.\"end\" AND b.start < a.\"end\"")
        same_cell = await conn.fetchval(
            "SELECT count(*) FROM (SELECT office_id, counter, start FROM appointments "
            "WHERE status = 'booked' GROUP BY 1, 2, 3 HAVING count(*) > 1) d")
        released_rows = await conn.fetchval(
            "SELECT count(*) FROM appointments WHERE channel = $1 AND service_id = $2 "
            "AND status = 'booked'", CHANNEL, service)
    finally:
        await conn.close()
    stored = Counter(r["reference"] for r in rows)
    burst_stored = {r["reference"] for r in rows if r["channel"] == CHANNEL}
    chat_stored = {r["reference"] for r in rows if r["channel"] == "rest"}
    capacity = sum(counters for _, _, counters in starts)
    return {
        "overlaps": int(overlaps) + int(same_cell),
        "burst_not_stored_once": sum(1 for r in burst_refs if stored[r] != 1),
        "burst_stored_without_201": len(burst_stored - set(burst_refs)),
        "burst_duplicate_201": len(burst_refs) - len(set(burst_refs)),
        "chat_not_stored_once": sum(1 for r in chat_refs if stored[r] != 1),
        "chat_stored_without_code": len(chat_stored - set(chat_refs)),
        "capacity": capacity,
        "refused_while_free": capacity - int(released_rows),
    }


def start_workers(n: int, port: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    cli = [sys.executable, "-m", "assistant.cli", "-c", str(ROOT / "config.yml")]
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, check=True)
    (ROOT / "var").mkdir(exist_ok=True)
    procs = []
    for i in range(n):
        log = (ROOT / "var" / f"bench-burst-worker-{i + 1}.log").open("wb")
        cmd = [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)]
        procs.append(subprocess.Popen(cmd + (["--reuse-port"] if n > 1 else []), env=env,
                                      cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    return procs


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16, help="concurrent staff API clients")
    ap.add_argument("--days", type=int, default=20, help="open days released at once")
    ap.add_argument("--ahead", type=int, default=45, help="the first released day: days ahead")
    ap.add_argument("--service", default="meldebescheinigung",
                    help="a service as long as the grid step or shorter (exact capacity)")
    ap.add_argument("--oversubscribe", type=float, default=2.0,
                    help="requests per counter and start")
    ap.add_argument("--workers", type=int, default=2, help="`amtsbote serve` processes")
    ap.add_argument("--chat", type=int, default=8, help="concurrent chat citizens (0: none)")
    ap.add_argument("--chat-min", type=int, default=16, help="at least this many conversations")
    ap.add_argument("--database-url", help="use this PostgreSQL database as it is")
    ap.add_argument("--port", type=int, default=18090)
    args = ap.parse_args()

    config = load_config(ROOT / "config.yml")
    first = date.today() + timedelta(days=args.ahead)
    starts = released(config, args.service, first, args.days)
    token = secrets.token_urlsafe(24)

    rasa_proc = None
    rasa = os.environ.get("RASA_URL")
    if args.chat and not rasa:
        model = rasa_runner.ensure_model(config.path, ROOT)
        rasa_proc = rasa_runner.start_server(model.path, port=15005, root=ROOT)
        rasa = "http://127.0.0.1:15005"
    admin = None
    db_url = args.database_url
    if db_url is None:
        base = make_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_ADMIN)
        name = f"amtsbote_bench_{secrets.token_hex(4)}"
        admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        db_url = base.set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": db_url, "RASA_URL": rasa or "http://127.0.0.1:9",
           "AMTSBOTE_API_TOKEN": token, "RASA_TELEMETRY_ENABLED": "false"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs = await asyncio.to_thread(start_workers, args.workers, args.port, env)
        base_url = f"http://127.0.0.1:{args.port}"
        await wait_http(f"{base_url}/healthz")
        await asyncio.sleep(2.0)  # the other workers, too
        if rasa:
            await wait_http(rasa, 300)
        # Warm-up: connections, pools, language models (nothing booked in the window).
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(http.get(f"{base_url}/api/v1/offices") for _ in range(64)))

        stop = asyncio.Event()
        chat_task = None
        if args.chat:
            chat_task = asyncio.create_task(
                chat(f"{base_url}/webhooks/rest/webhook", args.chat, stop, args.chat_min))
        api = await burst(base_url, token, args.service, starts, args.clients,
                          args.oversubscribe)
        stop.set()
        ch = await chat_task if chat_task else None
        checks = await verify(db_url, api["refs"], ch["refs"] if ch else [], starts,
                              args.service)

        lat = api["latencies"]
        booked = api["statuses"][201]
        print(f"released                    {args.days} open days from {first} "
              f"({len(starts)} starts, capacity {checks['capacity']} appointments, "
              f"{args.service})")
        print(f"workers / staff clients     {args.workers} / {args.clients}")
        print(f"API requests                {api['requests']} in {api['elapsed']:.2f} s "
              f"({api['requests'] / api['elapsed']:.0f} requests/s)")
        print(f"  201 booked                {booked} ({booked / api['elapsed']:.0f} bookings/s)")
        print(f"  409 taken                 {api['statuses'][409]}")
        print(f"  other                     {len(api['other'])} {api['other'][:3]}")
        print(f"  latency p50 / p95 / max   {statistics.median(lat) * 1000:.0f} / "
              f"{percentile(lat, 95) * 1000:.0f} / {max(lat) * 1000:.0f} ms")
        if ch:
            clat = ch["latencies"]
            print(f"chat citizens               {args.chat} concurrent, {ch['conversations']} "
                  f"conversations, {ch['messages']} messages in {ch['elapsed']:.1f} s")
            print(f"  booked by chat            {len(ch['refs'])} "
                  f"({len(ch['refs']) / ch['elapsed']:.2f}/s), "
                  f"message p50 / p95 {statistics.median(clat) * 1000:.0f} / "
                  f"{percentile(clat, 95) * 1000:.0f} ms")
        print(f"double bookings             {checks['overlaps']} (overlapping on one counter)")
        lost = (checks["burst_not_stored_once"] + checks["burst_stored_without_201"]
                + checks["burst_duplicate_201"] + checks["refused_while_free"])
        print(f"lost (API)                  {lost} (201 not stored once "
              f"{checks['burst_not_stored_once']}, stored without 201 "
              f"{checks['burst_stored_without_201']}, refused while free "
              f"{checks['refused_while_free']})")
        if ch:
            print(f"lost (chat)                 "
                  f"{checks['chat_not_stored_once'] + checks['chat_stored_without_code']} "
                  f"(code not stored once {checks['chat_not_stored_once']}, stored without a "
                  f"code shown {checks['chat_stored_without_code']})")
        ok = checks["overlaps"] == 0 and lost == 0 and not api["other"] and (
            not ch or checks["chat_not_stored_once"] + checks["chat_stored_without_code"] == 0)
        return 0 if ok else 1
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        if rasa_proc is not None:
            rasa_proc.stop()
        if admin is not None:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(db_url).database}" '
                               "WITH (FORCE)")
            await conn.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
