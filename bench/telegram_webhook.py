"""Benchmark: Telegram webhook throughput and latency of the channel itself.

N simulated chats at a given concurrency each tap through the start of a booking (/start,
"Termin buchen", a service, an office, a time range: five updates, all button payloads, so Rasa
is not involved and the figures are the channel's + dialogue's own cost). Every update is
posted to the real web app as Telegram posts it (JSON + secret header); replies go out through
python-telegram-bot to the local Bot API fake (assistant/testing/peers/telegram_api.py), which
answers at once. Prints updates/s, p50/p95/max webhook latency (until the replies were sent),
messages sent, CPU time per update next to the same turns fed straight into the dialogue, and
the process's peak RSS. On a busy machine trust the CPU figures more than the wall-clock ones.

    .venv/bin/python bench/telegram_webhook.py --chats 200 --concurrency 20 [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestServer

from assistant.http.app import create_app
from assistant.testing import Harness, button, free_port
from assistant.testing.peers.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent

SECRET = "bench-webhook-secret"
TAPS = ["Termin buchen", "Personalausweis", "Riesa", "Nächste Woche"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(chats: int, concurrency: int, database_url: str | None) -> None:
    async with FakeTelegram() as tg:
        port = free_port()
        os.environ.update(TELEGRAM_TOKEN=tg.token, TELEGRAM_API_URL=tg.url,
                          TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET=SECRET,
                          TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhooks/telegram",
                          TELEGRAM_STAFF_CHAT_ID="")
        with tempfile.TemporaryDirectory() as tmp:
            async with Harness(config=ROOT / "tests" / "configs" / "telegram.yml",
                               nlu_url="http://127.0.0.1:9",
                               database_url=database_url
                               or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
                               now=datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Europe/Berlin"))
                               ) as h:
                server = TestServer(create_app(h.ctx, manage_lifecycle=False), port=port)
                await server.start_server()
                latencies: list[float] = []
                gate = asyncio.Semaphore(concurrency)

                async def post(update: dict) -> None:  # type: ignore[type-arg]
                    t0 = time.perf_counter()
                    status = await tg.push(update)
                    latencies.append(time.perf_counter() - t0)
                    assert status == 200, status

                async def citizen(chat: int) -> None:
                    async with gate:
                        await post(tg.message(chat, "/start"))
                        for title in TAPS:
                            await post(tg.click(chat, title))

                cpu0, started = _cpu(), time.perf_counter()
                await asyncio.gather(*(citizen(7_000_000 + i) for i in range(chats)))
                elapsed, cpu_channel = time.perf_counter() - started, _cpu() - cpu0
                await server.close()

                # Baseline: the same turns straight into the dialogue, no Telegram at all.
                async def direct(sender: str) -> None:
                    async with gate:
                        r = await h.say("/start", sender=sender)
                        for title in TAPS:
                            r = await h.click(button(r, title), sender=sender)

                cpu0, started = _cpu(), time.perf_counter()
                await asyncio.gather(*(direct(f"direct-{i}") for i in range(chats)))
                baseline, cpu_direct = time.perf_counter() - started, _cpu() - cpu0
        sent = len(tg.called("sendMessage"))
        offered = sum("Diese Termine" in tg.texts(7_000_000 + i) for i in range(chats))
    latencies.sort()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"chats: {chats}, concurrency: {concurrency}, updates: {len(latencies)}")
    print(f"updates/s: {len(latencies) / elapsed:.1f}  (wall {elapsed:.1f} s)")
    print(f"webhook latency p50: {statistics.median(latencies) * 1000:.1f} ms, "
          f"p95: {latencies[int(len(latencies) * 0.95) - 1] * 1000:.1f} ms, "
          f"max: {latencies[-1] * 1000:.1f} ms")
    print(f"messages sent: {sent}, chats that reached the slot offer: {offered}/{chats}")
    n = len(latencies)
    print(f"CPU per update: {cpu_channel / n * 1000:.1f} ms (app, Bot API fake and load "
          f"generator share this process); dialogue alone: {cpu_direct / n * 1000:.1f} ms")
    print(f"dialogue alone, same turns: {n / baseline:.1f} turns/s")
    print(f"peak RSS of this process (app + fake + load): {rss_mb:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--database-url", help="e.g. an empty PostgreSQL database "
                        "(postgresql+asyncpg://...); default: a fresh SQLite file")
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.concurrency, args.database_url))
