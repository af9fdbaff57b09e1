"""Benchmark: Telegram webhook throughput and latency of the channel itself.

N simulated chats at a given concurrency each tap through the start of a booking (/start,
"Termin buchen", a service, an office, a time range: five updates, all button payloads, so Rasa
is not involved and the figures are the channel's + dialogue's own cost). Every update is
posted to the real web app as Telegram posts it (JSON + secret header); replies go out through
python-telegram-bot to the local Bot API fake (tests/peers/telegram_api.py), which answers at
once. Prints updates/s, p50/p95/max webhook latency (until the replies were sent), messages
sent, and the process's peak RSS.

    .venv/bin/python bench/telegram_webhook.py --chats 200 --concurrency 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp.test_utils import TestServer  # noqa: E402

from assistant.http.app import create_app  # noqa: E402
from assistant.testing import Harness  # noqa: E402
from tests.peers.telegram_api import FakeTelegram  # noqa: E402

SECRET = "bench-webhook-secret"
TAPS = ["Termin buchen", "Personalausweis", "Riesa", "Nächste Woche"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main(chats: int, concurrency: int) -> None:
    async with FakeTelegram() as tg:
        port = _free_port()
        os.environ.update(TELEGRAM_TOKEN=tg.token, TELEGRAM_API_URL=tg.url,
                          TELEGRAM_MODE="webhook", TELEGRAM_WEBHOOK_SECRET=SECRET,
                          TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhooks/telegram",
                          TELEGRAM_STAFF_CHAT_ID="")
        with tempfile.TemporaryDirectory() as tmp:
            async with Harness(config=ROOT / "tests" / "configs" / "telegram.yml",
                               nlu_url="http://127.0.0.1:9",
                               database_url=f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
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

                started = time.perf_counter()
                await asyncio.gather(*(citizen(7_000_000 + i) for i in range(chats)))
                elapsed = time.perf_counter() - started
                await server.close()
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
    print(f"peak RSS of this process (app + fake + load): {rss_mb:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.concurrency))
