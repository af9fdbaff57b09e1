"""Slot search for an office whose CalDAV calendar (a real Radicale) holds 5,000 events.

    .venv/bin/python bench/slot_search_caldav.py [--events 5000] [--runs 20] [--populate files|put]

Starts Radicale on a free loopback port with a fresh storage folder, fills one calendar with
`--events` staff entries spread over the next 365 days (every 50th a weekly series), then runs
the slot search a citizen's message triggers (`assistant.booking.availability.offer`, the next
14 days):

- cold: a fresh application, nothing cached; the first search reads the whole booking horizon
  (90 days) from the server, parses and expands it;
- warm: the same search again within the cache time (median and max of `--runs`);
- refresh: after the cache time, with only Amtsbote's own booking changed in the calendar.

`--populate files` (default) writes the events into Radicale's storage folder and lets Radicale
index them once before measuring; `--populate put` uploads each event with a PUT (slower to set
up, same server state). Prints the figures; no assertion, no timing in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import caldav
import radicale
from caldav.elements import dav
from icalendar import Calendar, Event, Timezone

from assistant.booking.availability import offer
from assistant.booking.book import Citizen, Origin, book_now
from assistant.testing import BERLIN, Harness
from assistant.testing.peers.radicale import CALDAV_USER, Radicale, caldav_options, office_calendar

ROOT = Path(__file__).resolve().parents[1]

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)
SUMMARIES = ["Teambesprechung", "Schulung", "Urlaub", "Telefondienst", "Arzttermin", "Pause"]


def staff_events(n: int, seed: int = 1) -> list[bytes]:
    """`n` single VCALENDAR objects like a groupware holds them (own VTIMEZONE each)."""
    rng = random.Random(seed)
    vtz = Timezone.from_tzid("Europe/Berlin", first_date=date(2025, 1, 1),
                             last_date=date(2029, 1, 1))
    out = []
    for i in range(n):
        day = NOW.date() + timedelta(days=rng.randrange(0, 365))
        start = datetime.combine(day, datetime.min.time(), tzinfo=BERLIN) + timedelta(
            hours=7, minutes=5 * rng.randrange(0, 132))
        ev = Event()
        ev.add("uid", f"bench-{i}@groupware.example")
        ev.add("dtstamp", datetime(2026, 11, 1, tzinfo=UTC))
        ev.add("dtstart", start)
        ev.add("dtend", start + timedelta(minutes=rng.choice([15, 30, 45, 60, 90])))
        ev.add("summary", rng.choice(SUMMARIES))
        if i % 50 == 0:
            ev.add("rrule", {"freq": "weekly", "count": 20})
        cal = Calendar()
        cal.add("prodid", "-//bench//DE")
        cal.add("version", "2.0")
        cal.add_component(vtz)
        cal.add_component(ev)
        out.append(cal.to_ical())
    return out


def populate(server: Radicale, bodies: list[bytes], how: str) -> tuple[str, float]:
    """Create the calendar and its events; return its URL and the seconds it took."""
    t0 = time.perf_counter()
    if how == "files":
        server.stop()
        folder = server.folder / "storage" / "collection-root" / CALDAV_USER / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".Radicale.props").write_text(
            json.dumps({"tag": "VCALENDAR", "D:displayname": "Bürgerbüro Bench"}))
        for i, body in enumerate(bodies):
            (folder / f"bench-{i}.ics").write_bytes(body)
        server.start()
        cal = server.client(timeout=1800).calendar(url=f"{server.url}{CALDAV_USER}/bench/")
    else:
        cal = server.client().principal().make_calendar(name="Bürgerbüro Bench", cal_id="bench")
        client = server.client()
        for i, body in enumerate(bodies):
            client.put(f"{cal.url}bench-{i}.ics", body.decode(), {"Content-Type": "text/calendar"})
    # Let Radicale build its own item cache and sync-token history once (its one-time work
    # for files it has not seen, not Amtsbote's cold cache being measured).
    cal.search(start=NOW, end=NOW + timedelta(days=1), event=True, post_filter=False)
    cal.get_properties([dav.SyncToken()])
    return str(cal.url), time.perf_counter() - t0


async def measure(server: Radicale, url: str, runs: int) -> dict[str, float | int]:
    cal = server.client().calendar(url=url)
    config = office_calendar(ROOT / "tests" / "configs" / "caldav.yml", "caldav",
                             caldav_options(server, cal, cache_seconds=3600, timeout_seconds=600))
    async with Harness(config, now=NOW) as h:
        office = h.ctx.config.office("meissen")
        # Warm the application's own code paths on an office without external calendar, so
        # "cold" below is the calendar's cold cost, not Python's first-call costs.
        await offer(h.ctx, "personalausweis", "riesa", None, None)
        t0 = time.perf_counter()
        first = await offer(h.ctx, "personalausweis", "meissen", None, None)
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(runs):
            t0 = time.perf_counter()
            await offer(h.ctx, "personalausweis", "meissen", None, None)
            warm.append(time.perf_counter() - t0)
        rt = h.ctx.pm.get_plugin("caldav").office_runtime(h.ctx, office)
        conn = rt.connection
        cache = rt.caches[0]
        # A booking is written back (as the outbox does), then the cache time runs out: the
        # refresh asks the server what changed and finds only Amtsbote's own event.
        await book_now(h.ctx, service_id="personalausweis", office_id="meissen",
                       start=first.slots[0].start, citizen=Citizen("Bench"),
                       origin=Origin(channel="test", sender="bench", language="de"))
        await h.run_outbox_now()
        h.clock.advance(seconds=3601)
        t0 = time.perf_counter()
        await cache.refresh(h.ctx.now())
        check_only = time.perf_counter() - t0
        assert (cache.fetches, cache.checks) == (1, 1), (cache.fetches, cache.checks)
        frm, to = NOW, NOW + timedelta(days=92)
        t0 = time.perf_counter()
        await asyncio.to_thread(conn.report, None, frm, to)
        report_only = time.perf_counter() - t0
        t0 = time.perf_counter()
        busy = await conn.aread(frm, to)
        read_all = time.perf_counter() - t0
    return {"cold": cold, "warm_median": statistics.median(warm), "warm_max": max(warm),
            "offered": len(first.slots), "busy_in_horizon": len(busy),
            "fetches": rt.caches[0].fetches, "report_only": report_only, "read_all": read_all,
            "check_only": check_only}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--populate", choices=["files", "put"], default="files")
    args = parser.parse_args()
    os.environ.setdefault("TEST_CALDAV_USER", CALDAV_USER)
    os.environ.setdefault("TEST_CALDAV_PASSWORD", "not-checked")
    with tempfile.TemporaryDirectory(prefix="amtsbote-bench-") as tmp:
        server = Radicale(Path(tmp)).start()
        try:
            bodies = staff_events(args.events)
            url, setup = populate(server, bodies, args.populate)
            r = asyncio.run(measure(server, url, args.runs))
        finally:
            server.stop()
    print(f"slot search with a CalDAV calendar of {args.events} events (Radicale "
          f"{radicale.VERSION}, caldav {caldav.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    print(f"  populated with {args.populate} in {setup:.1f} s; {r['busy_in_horizon']} busy "
          f"intervals in the 90-day horizon; offer() gave {r['offered']} slots")
    print(f"  cold cache : {r['cold'] * 1000:8.1f} ms  (first offer(): PROPFIND sync-token, "
          f"one REPORT over the horizon, parse, expand, slot search)")
    print(f"  warm cache : {r['warm_median'] * 1000:8.1f} ms median, "
          f"{r['warm_max'] * 1000:.1f} ms max over {args.runs} runs "
          f"({r['fetches']} server read(s) in total)")
    print(f"  a horizon read alone: {r['read_all'] * 1000:.0f} ms, of which the server's "
          f"REPORT answer {r['report_only'] * 1000:.0f} ms (the rest: parse and expand)")
    print(f"  refresh after the cache time when only Amtsbote's own booking changed: "
          f"{r['check_only'] * 1000:.0f} ms (sync-collection REPORT, no full read)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
