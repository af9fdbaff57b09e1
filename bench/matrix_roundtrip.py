"""Matrix channel figures against a real Synapse: cold start, reply latency, concurrent chats.

    .venv/bin/python -m bench.matrix_roundtrip [--citizens 10] [--turns 5] [--rasa URL]

Starts a throwaway Synapse (assistant/testing/peers/synapse.py), registers a bot and citizens,
runs the real application with tests/configs/matrix.yml and prints:
- cold start: application start until a citizen who invited the bot has its greeting;
- reply latency: citizen sends a message until the bot's whole answer has arrived (p50/p95);
- the same with N citizens chatting at once, and messages per second overall;
- the bot's resident memory after the run.
Without --rasa the NLU is unreachable (numbered options still work), so the figures measure
the channel and Synapse, not Rasa.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from assistant.testing import Harness
from assistant.testing.peers.synapse import ChatClient, Synapse, running_synapse

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "configs" / "matrix.yml"
# Menu -> book -> Personalausweis -> Meißen -> "as soon as possible": five distinct answers.
SCRIPT = ["1", "1", "1", "1", "zurück"]


async def chat_turns(synapse: Synapse, bot_id: str, turns: int,
                     latencies: list[float]) -> None:
    async with ChatClient(synapse, await synapse.register()) as citizen:
        room = await citizen.open_chat(bot_id)
        await citizen.receive(room, bot_id)
        for i in range(turns):
            started = time.perf_counter()
            await citizen.send(room, SCRIPT[i % len(SCRIPT)])
            await citizen.receive(room, bot_id)
            latencies.append(time.perf_counter() - started)


def summary(name: str, values: list[float]) -> str:
    values = sorted(values)
    p95 = values[max(0, int(len(values) * 0.95) - 1)]
    return (f"{name}: n={len(values)} p50={statistics.median(values) * 1000:.0f} ms "
            f"p95={p95 * 1000:.0f} ms max={values[-1] * 1000:.0f} ms")


async def main(citizens: int, turns: int, rasa: str | None) -> None:
    import os

    async with running_synapse() as synapse:
        bot = await synapse.register("amtsbote")
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.update(MATRIX_TEST_HOMESERVER=synapse.url, MATRIX_TEST_USER_ID=bot.user_id,
                              MATRIX_TEST_PASSWORD=bot.password, MATRIX_TEST_STORE=f"{tmp}/store",
                              MATRIX_TEST_STORE_KEY="bench")
            db = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            async with ChatClient(synapse, await synapse.register()) as first:
                started = time.perf_counter()
                async with Harness(config=CONFIG, nlu_url=rasa or "http://127.0.0.1:9",
                                   database_url=db) as _:
                    room = await first.open_chat(bot.user_id)
                    await first.receive(room, bot.user_id)
                    print(f"cold start to first greeting: {time.perf_counter() - started:.2f} s")

                    single: list[float] = []
                    await chat_turns(synapse, bot.user_id, turns * 2, single)
                    print(summary("reply latency, one citizen", single))

                    many: list[float] = []
                    started = time.perf_counter()
                    await asyncio.gather(*(chat_turns(synapse, bot.user_id, turns, many)
                                           for _ in range(citizens)))
                    elapsed = time.perf_counter() - started
                    print(summary(f"reply latency, {citizens} citizens at once", many))
                    print(f"throughput: {len(many) / elapsed:.1f} answered messages/s "
                          f"({citizens} rooms, including room setup)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (bot + test clients): {rss:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--citizens", type=int, default=10)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--rasa", help="URL of a running Rasa server (default: NLU down)")
    args = parser.parse_args()
    asyncio.run(main(args.citizens, args.turns, args.rasa))
    sys.exit(0)
