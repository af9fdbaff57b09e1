"""Web chat under load: many citizens with the chat open at once.

Starts Amtsbote (tests/configs/webchat.yml, SQLite, Rasa unreachable so only the channel, the
dialogue and the database are measured: messages are button payloads) in a child process, then
opens N WebSocket connections. Prints the server's memory per open chat, and the latency of
button clicks while all N are connected and clicking.

    .venv/bin/python bench/webchat_ws.py [--connections 500] [--clicks 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
CLICKS = ["/greet", "/book_appointment", '/inform{"service": "reisepass"}']


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def serve(port: int) -> None:
    from aiohttp import web

    from assistant.config import load_config
    from assistant.http.app import create_app
    from assistant.testing import Harness

    config = load_config(ROOT / "tests/configs/webchat.yml")
    channels = {**config.channels, "webchat": {**config.channels["webchat"],
                                               "per_ip_per_minute": 0,  # one client address
                                               "messages_per_minute": 600}}
    config = config.model_copy(update={"channels": channels})
    async with Harness(config, nlu_url="http://127.0.0.1:9") as h:
        runner = web.AppRunner(create_app(h.ctx, manage_lifecycle=False), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        print("ready", flush=True)
        await asyncio.Event().wait()


async def citizen(session: aiohttp.ClientSession, url: str, opened: asyncio.Event,
                  go: asyncio.Event, clicks: int, latencies: list[float],
                  connected: list[int]) -> None:
    async with session.ws_connect(url) as ws:
        await ws.send_json({"type": "hello", "language": "de", "mode": "page"})
        await ws.receive_json()
        connected.append(1)
        opened.set()
        await go.wait()
        for i in range(clicks):
            start = time.perf_counter()
            await ws.send_json({"type": "message", "id": f"m{i}", "text": CLICKS[i % 3]})
            while (frame := await ws.receive_json())["type"] not in ("reply", "error"):
                pass
            if frame["type"] == "error":
                raise RuntimeError(f"error frame: {frame}")
            latencies.append(time.perf_counter() - start)


async def bench(port: int, n: int, clicks: int, pid: int) -> None:
    url = f"http://127.0.0.1:{port}/webchat/ws"
    base = rss_mib(pid)
    latencies: list[float] = []
    connected: list[int] = []
    go = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(citizen(session, url, asyncio.Event(), go, clicks,
                                             latencies, connected)) for _ in range(n)]
        while len(connected) < n:
            await asyncio.sleep(0.2)
            if any(t.done() and t.exception() for t in tasks):
                raise next(t.exception() for t in tasks if t.done() and t.exception())
        held = rss_mib(pid)
        start = time.perf_counter()
        go.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    lat = sorted(latencies)
    print(f"open chats:            {n}")
    print(f"server RSS idle:       {base:.1f} MiB")
    print(f"server RSS with {n}:  {held:.1f} MiB  ({(held - base) * 1024 / n:.1f} KiB per chat)")
    print(f"clicks answered:       {len(lat)} in {elapsed:.1f} s ({len(lat) / elapsed:.0f}/s)")
    print(f"click latency p50:     {statistics.median(lat) * 1000:.0f} ms")
    print(f"click latency p95:     {lat[int(len(lat) * 0.95) - 1] * 1000:.0f} ms")
    print(f"click latency max:     {lat[-1] * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--clicks", type=int, default=3)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.port))
        return 0
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = subprocess.Popen([sys.executable, __file__, "--serve", "--port", str(port)],
                             stdout=subprocess.PIPE, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != b"ready":
            print("server did not start", file=sys.stderr)
            return 1
        asyncio.run(bench(port, args.connections, args.clicks, child.pid))
    finally:
        child.terminate()
        child.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
