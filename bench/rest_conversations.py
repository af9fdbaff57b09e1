"""Benchmark: N concurrent simulated citizens book appointments by free text over REST.

Prints messages/s, p50/p95 latency per message, how many messages needed Rasa, the server's
CPU time per message, completed bookings/s and double bookings (must be 0), then bare Rasa
`/model/parse` throughput at the same concurrency and the ratio end-to-end / bare.

    .venv/bin/python bench/rest_conversations.py --concurrency 16 --conversations 96

It starts Rasa (unless RASA_URL is set) and `amtsbote serve` on a fresh SQLite database
(or --database-url, e.g. PostgreSQL) in their own processes; the load generator runs here.

By default every citizen sends its next message as soon as the answer arrives (a closed
loop: 16 conversations keep 16 messages in flight, which measures throughput). With
--think SECONDS each citizen pauses 0.5-1.5x that long before each message, as people
reading and typing do; the latency figures then show what a citizen waits for.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_config  # noqa: E402
from assistant.nlu import rasa_runner  # noqa: E402

OFFICES = ["Meißen", "Riesa", "Großenhain", "Radebeul", "Coswig"]
SERVICES = ["einen Personalausweis", "einen Reisepass", "eine Meldebescheinigung",
            "eine Beglaubigung", "mich ummelden"]
WHEN = ["nächste Woche", "so bald wie möglich", "am Donnerstag", "übernächste Woche",
        "Anfang Dezember"]
FIRST = ["Anna", "Karl", "Erika", "Jürgen", "Sam", "Fatima", "Heike", "Lukas"]
LAST = ["Schmidt", "Krause", "Müller", "Okafor", "Lehmann", "Nguyen", "Richter", "Wolf"]
CODE = re.compile(r"\b[A-HJ-NP-Z2-9]{3}-[A-HJ-NP-Z2-9]{3}\b")


async def nlu_counts(base: str) -> tuple[float, float]:
    """(messages that needed Rasa, messages answered without it) from the server's /metrics."""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as r:
        text = await r.text()

    def value(name: str) -> float:
        m = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
        return float(m.group(1)) if m else 0.0

    return value("amtsbote_nlu_calls_total"), value("amtsbote_nlu_skipped_total")


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


async def wait_http(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as r:
                    if r.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError(url)


class Citizen:
    def __init__(self, http: aiohttp.ClientSession, url: str, n: int, latencies: list[float],
                 think: float = 0.0):
        self.http, self.url, self.sender = http, url, f"bench-{n}-{random.random():.6f}"
        self.latencies = latencies
        self.think = think
        self.messages = 0

    async def say(self, text: str) -> str:
        if self.think:
            await asyncio.sleep(self.think * random.uniform(0.5, 1.5))
        t0 = time.perf_counter()
        async with self.http.post(self.url, json={"sender": self.sender, "message": text}) as r:
            body = await r.json()
        if r.status != 200:
            raise RuntimeError(f"HTTP {r.status}: {body}")
        self.latencies.append(time.perf_counter() - t0)
        if os.environ.get("BENCH_VERBOSE"):
            print(f"{self.sender} > {text}\n  < {[m.get('text', '')[:70] for m in body]}")
        self.messages += 1
        return "\n".join(m.get("text", "") for m in body)

    async def book(self, rng: random.Random) -> str | None:
        text = await self.say(f"Guten Tag, ich brauche {rng.choice(SERVICES)} in "
                              f"{rng.choice(OFFICES)} {rng.choice(WHEN)}")
        for _ in range(6):
            if "Namen" in text:
                break
            if "Diese Termine" in text or "nächstgelegenen" in text:
                text = await self.say(str(rng.randint(1, 3)))
            elif "Wann passt" in text:
                text = await self.say("so bald wie möglich")
            else:
                text = await self.say("Personalausweis in Riesa nächste Woche")
        text = await self.say(f"{rng.choice(FIRST)} {rng.choice(LAST)}")
        if "Handynummer" in text or "E-Mail" in text:
            text = await self.say("überspringen")
        text = await self.say("ja")
        m = CODE.search(text)
        return m.group(0) if m else None


async def run_conversations(url: str, concurrency: int, conversations: int,
                            think: float = 0.0) -> dict:
    latencies: list[float] = []
    refs: list[str] = []
    counter = iter(range(conversations))
    messages = 0

    async def worker(http: aiohttp.ClientSession, wid: int) -> None:
        nonlocal messages
        rng = random.Random(wid)
        for n in counter:
            c = Citizen(http, url, n, latencies, think)
            ref = await c.book(rng)
            messages += c.messages
            if ref:
                refs.append(ref)

    conn = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(connector=conn) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(http, i) for i in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {"elapsed": elapsed, "messages": messages, "latencies": latencies, "refs": refs}


async def bare_rasa(rasa: str, concurrency: int, requests: int) -> tuple[float, list[float]]:
    """Throughput of Rasa alone (requests/s) and its latencies, `concurrency` in flight."""
    texts = [f"Guten Tag, ich brauche {s} in {o} {w}" for s in SERVICES for o in OFFICES
             for w in WHEN]
    counter = iter(range(requests))
    latencies: list[float] = []
    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            for i in counter:
                started = time.perf_counter()
                async with http.post(f"{rasa}/model/parse", json={"text": texts[i % len(texts)]}
                                     ) as r:
                    await r.read()
                latencies.append(time.perf_counter() - started)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests / (time.perf_counter() - t0), latencies


async def double_bookings(db_url: str) -> int:
    from sqlalchemy import func, select

    from assistant.storage.db import create_engine, sessionmaker
    from assistant.storage.models import Appointment

    engine = create_engine(db_url)
    async with sessionmaker(engine)() as s:
        rows = await s.execute(
            select(Appointment.office_id, Appointment.counter, Appointment.start, func.count())
            .where(Appointment.status == "booked")
            .group_by(Appointment.office_id, Appointment.counter, Appointment.start)
            .having(func.count() > 1))
        dup = len(rows.all())
    await engine.dispose()
    return dup


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--conversations", type=int, default=96)
    ap.add_argument("--database-url")
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean pause before each message, seconds (default 0: closed loop)")
    args = ap.parse_args()

    config = load_config(ROOT / "config.yml")
    rasa_proc = None
    rasa = os.environ.get("RASA_URL")
    if not rasa:
        model = rasa_runner.ensure_model(config.path, ROOT)
        rasa_proc = rasa_runner.start_server(model.path, port=15005, root=ROOT)
        rasa = "http://127.0.0.1:15005"
    tmp = tempfile.TemporaryDirectory()
    db_url = args.database_url or f"sqlite+aiosqlite:///{tmp.name}/bench.sqlite3"
    env = {**os.environ, "DATABASE_URL": db_url, "RASA_URL": rasa,
           "AMTSBOTE_PORT": str(args.port), "AMTSBOTE_HOST": "127.0.0.1"}
    (ROOT / "var").mkdir(exist_ok=True)
    server_log = (ROOT / "var" / "bench-server.log").open("wb")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "assistant.cli", "-c", str(ROOT / "config.yml"), "serve",
        env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=server_log)
    try:
        await wait_http(rasa)
        await wait_http(f"http://127.0.0.1:{args.port}/healthz")
        url = f"http://127.0.0.1:{args.port}/webhooks/rest/webhook"
        print(f"server log: {server_log.name}", flush=True)
        await run_conversations(url, 2, 4)  # warm-up
        base = f"http://127.0.0.1:{args.port}"
        calls0, skipped0 = await nlu_counts(base)
        cpu0 = cpu_seconds(server.pid)
        res = await run_conversations(url, args.concurrency, args.conversations, args.think)
        cpu1 = cpu_seconds(server.pid)
        calls1, skipped1 = await nlu_counts(base)
        lat = res["latencies"]
        e2e = res["messages"] / res["elapsed"]
        bare, bare_lat = await bare_rasa(rasa, args.concurrency, max(400, res["messages"]))
        dups = await double_bookings(db_url)
        print(f"concurrency                {args.concurrency}"
              + (f" (think time {args.think:g} s)" if args.think else " (closed loop)"))
        print(f"conversations              {args.conversations}")
        print(f"messages                   {res['messages']} in {res['elapsed']:.1f} s")
        print(f"messages/s (end-to-end)    {e2e:.1f}")
        print(f"messages that needed Rasa  {calls1 - calls0:.0f} "
              f"({(calls1 - calls0) / res['messages']:.0%}); answered without it: "
              f"{skipped1 - skipped0:.0f}")
        print(f"latency p50 / p95          {statistics.median(lat) * 1000:.0f} ms / "
              f"{percentile(lat, 95) * 1000:.0f} ms")
        if cpu0 is not None and cpu1 is not None:
            print(f"server CPU per message     {(cpu1 - cpu0) / res['messages'] * 1000:.1f} ms "
                  f"({(cpu1 - cpu0) / res['elapsed']:.0%} of one core)")
        print(f"completed bookings         {len(res['refs'])} "
              f"({len(res['refs']) / res['elapsed']:.2f}/s)")
        print(f"double bookings            {dups}")
        print(f"bare Rasa /model/parse/s   {bare:.1f} (closed loop, "
              f"p50 {statistics.median(bare_lat) * 1000:.0f} ms / "
              f"p95 {percentile(bare_lat, 95) * 1000:.0f} ms)")
        print(f"ratio end-to-end / bare    {e2e / bare:.2f}")
    finally:
        server.terminate()
        await server.wait()
        if rasa_proc is not None:
            rasa_proc.stop()
        server_log.close()
        tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
