"""Several workers (issue 14): two `amtsbote serve --reuse-port` processes on one PostgreSQL
database behind one port. The kernel (SO_REUSEPORT) spreads connections between them; a test
client keeps one connection to each (found by asking /proc which process owns the server side
of the connection), so it knows which worker answers.

One citizen's messages alternate between the workers: no turn is lost or repeated (the
conversation row is locked for the turn, `assistant/dialogue/state.py`). Fifty staff clients
race for one slot, spread over both workers: exactly the office's counters are booked.

Needs PostgreSQL (TEST_DATABASE_URL; a fresh database is created and dropped) and Rasa.
About 15 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from assistant.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "workers-test-staff-token-0123456789"
pytestmark = [pytest.mark.postgres, pytest.mark.rasa]


# -- a minimal keep-alive HTTP/1.1 client: one TCP connection, so one worker ---------------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.local_port = int(writer.get_extra_info("sockname")[1])
        self.worker: int | None = None  # pid of the serve process that accepted it

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, path: str, body: Any = None,
                      headers: dict[str, str] | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
                "Content-Type: application/json", f"Content-Length: {len(data)}",
                *(f"{k}: {v}" for k, v in (headers or {}).items())]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await self.writer.drain()
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        raw = await self.reader.readexactly(length)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def _hex_address(port: int) -> str:
    return f"0100007F:{port:04X}"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian)


def owner(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """The pid among `pids` holding the server side of the connection from `client_port`."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == _hex_address(server_port) and fields[2] == _hex_address(client_port):
            inode = fields[9]
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(fd.path) == target:
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


# -- two serve processes ----------------------------------------------------------------------


@dataclass
class Workers:
    port: int
    pids: list[int]
    db_url: str

    async def connect(self) -> Connection:
        """A keep-alive connection, after one request so that its worker is known."""
        conn = await Connection.open(self.port)
        status, _ = await conn.request("GET", "/webhooks/rest/")
        assert status == 200
        for _ in range(50):
            conn.worker = owner(self.port, conn.local_port, self.pids)
            if conn.worker is not None:
                return conn
            await asyncio.sleep(0.02)
        raise AssertionError("no worker owns the connection")

    async def one_per_worker(self) -> list[Connection]:
        found: dict[int, Connection] = {}
        spare = []
        for _ in range(60):
            conn = await self.connect()
            assert conn.worker is not None
            if conn.worker in found:
                spare.append(conn)
            else:
                found[conn.worker] = conn
            if len(found) == len(self.pids):
                break
        for conn in spare:
            await conn.close()
        assert len(found) == len(self.pids), "the kernel never chose one of the workers"
        return [found[p] for p in self.pids]


def _start(cli: list[str], env: dict[str, str], port: int,
           processes: list[subprocess.Popen[bytes]]) -> None:
    """Migrate, start two workers on `port` and wait until both listen (blocking)."""
    # Migrate once before the workers start; two at once would race to create the schema.
    subprocess.run([*cli, "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=120)
    (ROOT / "var").mkdir(exist_ok=True)
    logs = [ROOT / "var" / f"test-worker-{n}.log" for n in (1, 2)]
    for log in logs:
        with log.open("wb") as out:
            processes.append(subprocess.Popen(
                [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--reuse-port"],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL))
    deadline = time.monotonic() + 90
    for process, log in zip(processes, logs, strict=True):
        while "listens on" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start ({process.poll()}):\n"
                                     f"{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
async def workers(rasa_url: str) -> AsyncIterator[Workers]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("needs TEST_DATABASE_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1/test)")
    url = make_url(base)
    name = f"amtsbote_workers_{secrets.token_hex(4)}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    db_url = url.set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": db_url, "RASA_URL": rasa_url,
           "AMTSBOTE_API_TOKEN": TOKEN, "RASA_TELEMETRY_ENABLED": "false"}
    cli = [sys.executable, "-m", "assistant.cli", "-c", str(ROOT / "config.yml")]
    processes: list[subprocess.Popen[bytes]] = []
    port = free_port()
    try:
        await asyncio.to_thread(_start, cli, env, port, processes)
        yield Workers(port, [p.pid for p in processes], db_url)
    finally:
        await asyncio.to_thread(_stop, processes)
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def db_rows(w: Workers, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(make_url(w.db_url).set(drivername="postgresql")
                                 .render_as_string(hide_password=False))
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


def said(body: Any) -> str:
    assert isinstance(body, list), body
    return "\n".join(m.get("text", "") for m in body)


async def test_one_citizen_alternating_between_the_workers(workers: Workers) -> None:
    a, b = await workers.one_per_worker()
    assert a.worker != b.worker
    sender = f"alternating-{secrets.token_hex(3)}"

    async def say(conn: Connection, text: str) -> str:
        status, body = await conn.request("POST", "/webhooks/rest/webhook",
                                          {"sender": sender, "message": text})
        assert status == 200, body
        return said(body)

    offer = await say(a, "Ich brauche einen Personalausweis in Riesa so bald wie möglich")
    assert "Welcher passt" in offer, offer
    second = re.search(r"^2\. (.+?) Uhr", offer, re.M)
    assert second, offer
    assert "Namen" in await say(b, "2")
    assert "Handynummer" in await say(a, "Anna Schmidt")
    summary = await say(b, "überspringen")
    assert "Bitte prüfen" in summary and second.group(1) in summary, (second.group(1), summary)
    done = await say(a, "ja")
    assert "gebucht" in done, done
    # After the booking, a message to each worker at the same moment: both are answered, one
    # after the other (the row lock), and neither turn is lost.
    both = await asyncio.gather(say(a, "Was kostet ein Reisepass?"),
                                say(b, "Was kostet ein Führungszeugnis?"))
    assert all("€" in text for text in both), both

    rows = await db_rows(workers, "SELECT reference, status FROM appointments WHERE sender = $1",
                         sender)
    assert len(rows) == 1 and rows[0]["status"] == "booked"
    assert rows[0]["reference"][:3] in done
    booked = await db_rows(workers, "SELECT count(*) AS n FROM events WHERE kind = 'booked' "
                                    "AND channel = 'rest'")
    assert booked[0]["n"] == 1  # the turn that booked ran once
    for conn in (a, b):
        await conn.close()


async def test_fifty_staff_clients_race_for_one_slot_on_both_workers(workers: Workers) -> None:
    conns = [await workers.connect() for _ in range(50)]
    spread = Counter(c.worker for c in conns)
    assert set(spread) == set(workers.pids) and min(spread.values()) >= 5, spread
    status, body = await conns[0].request(
        "GET", "/api/v1/slots?service=personalausweis&office=riesa")
    assert status == 200 and body["slots"], body
    # A slot free on both counters, a day or more ahead (clear of the minimum notice).
    slot = next(s for s in body["slots"][len(body["slots"]) // 2:] if s["free_counters"] == 2)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    async def book(n: int, conn: Connection) -> tuple[int, int | None, Any]:
        status, body = await conn.request("POST", "/api/v1/appointments", {
            "service": "personalausweis", "office": "riesa", "start": slot["start"],
            "citizen": {"name": f"Racer Nummer{n}"}}, auth)
        return status, conn.worker, body

    results = await asyncio.gather(*(book(n, c) for n, c in enumerate(conns)))
    statuses = Counter(s for s, _, _ in results)
    assert statuses == {201: 2, 409: 48}, [r for r in results if r[0] not in (201, 409)]
    rows = await db_rows(workers, "SELECT counter, reference FROM appointments WHERE office_id = "
                                  "'riesa' AND start = $1 AND status = 'booked'",
                         datetime.fromisoformat(slot["start"]))
    assert sorted(r["counter"] for r in rows) == [1, 2]
    won = {body["reference"].replace("-", "") for s, _, body in results if s == 201}
    assert won == {r["reference"] for r in rows}
    for conn in conns:
        await conn.close()
