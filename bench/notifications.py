"""Benchmark: e-mail notifications, the appointment page and the retention job.

Prints
- building one confirmation (text + HTML + .ics): ms per mail and its size;
- sending through the outbox to a local aiosmtpd (one SMTP connection per mail): mails/s;
- GET /termin/{token} and the free-slots page through the real web app: requests/s, p50/p95;
- `assistant.retention.purge` over N past appointments on SQLite (or --database-url): seconds.

    .venv/bin/python bench/notifications.py --mails 200 --requests 300 --appointments 20000

Everything runs in this process on a fresh SQLite database (Rasa is not needed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import insert

from assistant.booking import book as booking
from assistant.booking.availability import free_slots
from assistant.retention import Policy, purge
from assistant.storage.models import Appointment
from assistant.testing import Harness
from assistant.testing.peers.smtp import SMTPPeer
from plugins.notify_email import build_message

ROOT = Path(__file__).resolve().parent.parent

CONFIG = ROOT / "tests" / "configs" / "email.yml"


async def book_many(h: Harness, n: int) -> list:
    out = []
    frm = h.ctx.now() + timedelta(days=1)
    offices = ["meissen", "riesa", "grossenhain", "radebeul", "coswig"]
    for i in range(n):
        office = offices[i % len(offices)]
        slots = await free_slots(h.ctx, "meldebescheinigung", office, frm,
                                 frm + timedelta(days=60), limit=1)
        view = await booking.book_now(
            h.ctx, service_id="meldebescheinigung", office_id=office, start=slots[0].start,
            citizen=booking.Citizen(f"Jörg Weiß {i}", None, f"b{i}@example.org"),
            origin=booking.Origin("test", f"s{i}", "de"))
        out.append(view)
    return out


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))]


async def main(args: argparse.Namespace) -> None:
    smtp = SMTPPeer()
    smtp.start()
    os.environ.update(AMTSBOTE_TEST_SMTP_PORT=str(smtp.port), AMTSBOTE_TEST_SMTP_STARTTLS="false",
                      AMTSBOTE_TEST_SMTP_CA="")
    try:
        async with Harness(config=CONFIG, database_url=args.database_url,
                           nlu_url="http://127.0.0.1:9") as h:
            booked = await book_many(h, args.mails)
            s = h.ctx.settings("email")
            link = await h.ctx.call_first("appointment_link", ctx=h.ctx,
                                          appointment=booked[0])
            t0 = time.perf_counter()
            for _ in range(200):
                msg = build_message(h.ctx, s, "booked", booked[0], link)
            build_ms = (time.perf_counter() - t0) / 200 * 1000
            print(f"build confirmation: {build_ms:.2f} ms/mail, {len(msg.as_bytes())} bytes")

            t0 = time.perf_counter()
            while await h.run_outbox_now():
                pass
            elapsed = time.perf_counter() - t0
            sent = len(smtp.messages)
            print(f"outbox -> SMTP: {sent} mails in {elapsed:.2f} s = {sent / elapsed:.0f} "
                  "mails/s (plus calendar items, one connection per mail)")

            client = await h.http()
            path = urlsplit(link or "").path
            for name, target in (("appointment page", path), ("free-slots page", path + "/slots")):
                times = []
                for _ in range(args.requests):
                    t1 = time.perf_counter()
                    response = await client.get(target)
                    await response.read()
                    assert response.status == 200
                    times.append((time.perf_counter() - t1) * 1000)
                print(f"GET {name}: {1000 / statistics.mean(times):.0f} req/s sequential, "
                      f"p50 {pct(times, 0.5):.1f} ms, p95 {pct(times, 0.95):.1f} ms")

            now = h.ctx.now()
            rows = [dict(reference=f"R{i:05d}", office_id="riesa", service_id="meldebescheinigung",
                         start=now - timedelta(days=30, minutes=i), end=now - timedelta(days=30),
                         counter=1, mode="in_person", status="booked", channel="test",
                         sender=f"s{i}", language="de", citizen_name="Erika Mustermann",
                         name_key="mustermann", email=f"e{i}@example.org", created_at=now,
                         updated_at=now) for i in range(args.appointments)]
            async with h.ctx.db() as session:
                await session.execute(insert(Appointment), rows)
                await session.commit()
            t0 = time.perf_counter()
            report = await purge(h.ctx.db, Policy(), now)
            print(f"retention: anonymised {report.appointments} appointments in "
                  f"{time.perf_counter() - t0:.2f} s")
    finally:
        smtp.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--appointments", type=int, default=20000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    if args.database_url is None:
        tmp = tempfile.mkdtemp(prefix="amtsbote-bench-")
        args.database_url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
    asyncio.run(main(args))
