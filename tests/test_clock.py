"""One clock: production code reads the time only through the context's clock, `ctx.now()`.

The scan below fails on any other read of the wall clock in assistant/, actions/, channels/ and
plugins/; the only place allowed to read it is where the context's clock is defined
(assistant/context.py). Monotonic timers (`time.monotonic`, `time.perf_counter`) measure
durations, not dates, and are fine.

`scripts/test` runs the tests that need no external peers twice more with the wall clock moved
(libfaketime): to the Monday after summer time ends and to New Year's Eve. The booking below
runs on the wall clock, so there it books across the year's end.
"""

from __future__ import annotations

import ast
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select

from assistant.booking.slots import holiday_name
from assistant.storage.models import Appointment
from assistant.testing import Harness, buttons

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("assistant", "actions", "channels", "plugins")
CLOCK_HOME = ROOT / "assistant" / "context.py"

# Reads of the wall clock, by their full dotted names (whatever a module imported them as).
WALL_CLOCK = {
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
    "datetime.date.today", "time.time", "time.time_ns", "assistant.context.utcnow",
}
# These read the wall clock only when not given a time: localtime(), ctime(), strftime(fmt).
WALL_CLOCK_WITHOUT_ARGS = {"time.localtime": 0, "time.gmtime": 0, "time.ctime": 0,
                           "time.asctime": 0, "time.strftime": 1}


def _imports(tree: ast.AST) -> dict[str, str]:
    """Local name -> full dotted name, from the module's imports."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, names)
        return f"{base}.{node.attr}" if base else None
    return None


def wall_clock_reads(source: str, filename: str = "<source>") -> list[str]:
    """`file:line: name` for each read of (or reference to) the wall clock in `source`."""
    tree = ast.parse(source, filename)
    names = _imports(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            hits = [f"{node.module}.{a.name}" for a in node.names
                    if f"{node.module}.{a.name}" in WALL_CLOCK]
        elif isinstance(node, ast.Name | ast.Attribute) and not isinstance(
                getattr(node, "ctx", None), ast.Store):
            full = _dotted(node, names)
            hits = [full] if full in WALL_CLOCK else []
        elif isinstance(node, ast.Call):
            full = _dotted(node.func, names)
            few = WALL_CLOCK_WITHOUT_ARGS.get(full or "")
            hits = [f"{full}()"] if few is not None and len(node.args) <= few else []
        else:
            hits = []
        found += [f"{filename}:{node.lineno}: {hit}" for hit in hits]  # type: ignore[attr-defined]
    return found


def test_the_scan_finds_wall_clock_reads_however_they_are_imported() -> None:
    assert wall_clock_reads("from datetime import datetime as dt\nx = dt.now()")
    assert wall_clock_reads("import datetime\nx = datetime.date.today()")
    assert wall_clock_reads("from datetime import UTC, datetime\nclock = datetime.now")
    assert wall_clock_reads("import time\nstamp = int(time.time())")
    assert wall_clock_reads("from time import time\nstamp = time()")
    assert wall_clock_reads("import time\ntime.strftime('%Y')")
    assert wall_clock_reads("from assistant.context import utcnow\nnow = utcnow()")
    assert wall_clock_reads("from assistant import context\nnow = context.utcnow()")
    assert not wall_clock_reads("import time\nstarted = time.monotonic(); time.perf_counter()")
    assert not wall_clock_reads("import time\ntime.strftime('%Y', t); time.localtime(0)")
    assert not wall_clock_reads("now = ctx.now()\nday = now.date()\ntoday = turn.now")
    assert not wall_clock_reads("from datetime import datetime\nd = datetime.fromisoformat(s)")


def test_production_code_reads_the_time_only_through_the_context() -> None:
    reads = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == CLOCK_HOME:
                continue
            reads += wall_clock_reads(path.read_text(encoding="utf-8"),
                                      str(path.relative_to(ROOT)))
    assert not reads, "use ctx.now() (the context's clock) instead:\n" + "\n".join(reads)


def test_the_clock_module_itself_reads_it_in_one_function() -> None:
    reads = wall_clock_reads(CLOCK_HOME.read_text(encoding="utf-8"), "assistant/context.py")
    assert len([r for r in reads if "datetime.datetime.now" in r]) == 1, reads


async def test_booking_tomorrow_on_the_wall_clock() -> None:
    """On the real date (or the moved one of scripts/test): "morgen" is the day after the
    app's today, and on New Year's Eve the booking lands in the next year."""
    async with Harness(nlu_url="http://127.0.0.1:9", wall_clock=True) as h:  # Rasa down
        office = h.ctx.config.office("riesa")
        assert office is not None and h.clock.follows_system
        subdivision = h.ctx.config.booking.holiday_subdivision
        today = h.ctx.now().astimezone(office.tz).date()
        day = today + timedelta(days=1)
        while (office.closed_on(day) or holiday_name(day, subdivision)
               or not office.hours_on(day)):
            day += timedelta(days=1)
        said = "morgen" if day == today + timedelta(days=1) else f"am {day.day}.{day.month}."
        r = await h.say("Ich brauche einen Termin")
        r = await h.click(buttons(r)[0])  # Termin buchen
        await h.say('/inform{"service": "personalausweis"}')
        await h.say('/inform{"office": "riesa"}')
        r = await h.say(said)
        await h.click(buttons(r)[0])  # the first slot offered
        await h.say("Karl Krause")
        await h.say("/skip")
        await h.say("/affirm")
        async with h.ctx.db() as session:
            booked = await session.scalar(
                select(Appointment).where(Appointment.citizen_name == "Karl Krause"))
        assert booked is not None, f"nothing booked for {said!r} on {today}"
        assert booked.start.astimezone(office.tz).date() == day, (today, said)
        if today == date(today.year, 12, 31):
            assert day.year == today.year + 1
