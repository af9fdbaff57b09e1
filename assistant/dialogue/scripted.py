"""Scripted conversations: run a YAML suite against the real application and check outcomes.

The format is described in `tests/conversations/README.md`. A conversation is a list of user
turns (typed text, button clicks) on a fresh database with a pinned clock; it passes when every
turn's reply checks hold and the database afterwards holds exactly the expected appointments.
Used by `tests/test_conversations.py` and by `amtsbote dialogue evaluate`.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import delete, select

from assistant.booking import book, references
from assistant.booking.appointments import normalize_phone
from assistant.messages import Reply
from assistant.storage.models import Appointment, Base
from assistant.testing import Harness

BERLIN = ZoneInfo("Europe/Berlin")
DEFAULT_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)  # a Monday
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_DE = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DE_NUM = ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun",
           "zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn",
           "achtzehn", "neunzehn", "zwanzig")
_EN_NUM = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve")
_PLACEHOLDER = re.compile(r"\{(offered|given)\[(\d+)\](?:\.(\w+))?\}")


@dataclass
class Conversation:
    id: str
    turns: list[dict[str, Any]]
    expect: dict[str, Any]
    lang: str = "de"
    channel: str = "rest"
    now: datetime = DEFAULT_NOW
    given: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""

    @property
    def task(self) -> str:
        """A coarse task label for the figures: book, manage or info."""
        exp = self.expect
        if exp.get("cancelled") or self.given:
            return "manage"
        if exp.get("appointments"):
            return "book"
        return "info"


@dataclass
class Outcome:
    conversation: Conversation
    failures: list[str]
    transcript: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def turns(self) -> int:
        return len(self.conversation.turns)

    def report(self) -> str:
        lines = [f"✗ {self.conversation.id} ({self.conversation.source})"]
        lines += [f"    ! {f}" for f in self.failures]
        for who, text in self.transcript:
            prefix = "    > " if who == "user" else "      "
            lines += [prefix + line for line in text.splitlines()[:12]]
        return "\n".join(lines)


def load_suite(*paths: Path) -> list[Conversation]:
    """Every conversation in the YAML files under `paths` (files or folders)."""
    out: list[Conversation] = []
    seen: set[str] = set()
    for path in paths:
        files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        for file in files:
            for raw in yaml.safe_load(file.read_text(encoding="utf-8")) or []:
                conv = _conversation(raw, file)
                if conv.id in seen:
                    raise ValueError(f"{file}: duplicate conversation id {conv.id}")
                seen.add(conv.id)
                out.append(conv)
    return out


def _conversation(raw: dict[str, Any], file: Path) -> Conversation:
    now = raw.get("now")
    if isinstance(now, str):
        now = datetime.fromisoformat(now)
    if isinstance(now, datetime) and now.tzinfo is None:
        now = now.replace(tzinfo=BERLIN)
    return Conversation(
        id=str(raw["id"]), turns=list(raw.get("turns") or []), expect=dict(raw.get("expect") or {}),
        lang=str(raw.get("lang", "de")), channel=str(raw.get("channel", "rest")),
        now=now or DEFAULT_NOW, given=list(raw.get("given") or []), source=file.name,
    )


# -- spoken forms of a clock time, as citizens say it ----------------------------------------------


def spoken_de(t: datetime) -> str:
    h, m = t.hour, t.minute
    nxt = _DE_NUM[(h % 12) + 1] if (h % 12) + 1 <= 12 else "eins"
    if m == 0:
        return f"{_DE_NUM[h] if h <= 20 else h} Uhr"
    if m == 30:
        return f"halb {nxt}"
    if m == 15:
        return f"Viertel nach {_DE_NUM[h % 12 or 12]}"
    if m == 45:
        return f"Viertel vor {nxt}"
    return f"{_DE_NUM[h] if h <= 20 else h} Uhr {m}"


def spoken_en(t: datetime) -> str:
    h, m = t.hour, t.minute
    h12 = h % 12 or 12
    if m == 0:
        return f"{_EN_NUM[h12]} o'clock"
    if m == 30:
        return f"half past {_EN_NUM[h12]}"
    if m == 15:
        return f"a quarter past {_EN_NUM[h12]}"
    if m == 45:
        return f"a quarter to {_EN_NUM[h12 % 12 + 1]}"
    return f"{h12}:{m:02d}"


def ampm(t: datetime) -> str:
    h12 = t.hour % 12 or 12
    suffix = "am" if t.hour < 12 else "pm"
    return f"{h12} {suffix}" if t.minute == 0 else f"{h12}:{t.minute:02d} {suffix}"


# -- running ------------------------------------------------------------------------------------


class Runner:
    """Runs conversations one after another on one application, wiping the data in between."""

    def __init__(self, harness: Harness) -> None:
        self.h = harness
        self.counter = 0
        self._sms = False

    async def run(self, conv: Conversation) -> Outcome:
        self.counter += 1
        await self._wipe()
        self.h.clock.now = conv.now
        sender = f"conv-{self.counter}-{conv.id}"
        failures: list[str] = []
        transcript: list[tuple[str, str]] = []
        given: list[Appointment] = []
        try:
            given = await self._given(conv)
        except ValueError as exc:
            return Outcome(conv, [f"given: {exc}"], transcript)
        offered: list[dict[str, str]] = []
        last: list[Reply] = []
        self._sms = conv.channel == "sms"
        all_text: list[str] = []
        for i, turn in enumerate(conv.turns, 1):
            try:
                text = self._text(turn, last, offered, given)
            except LookupError as exc:
                failures.append(f"turn {i}: {exc}")
                break
            transcript.append(("user", text if "click" not in turn else f"[{turn['click']}]"))
            replies = await self.h.say(text, sender=sender, channel=self._channel(conv),
                                       **self._incoming_extra(conv, sender))
            said = "\n".join(r.text for r in replies)
            transcript.append(("bot", said))
            all_text.append(said)
            last = replies
            for r in replies:
                if r.data.get("slots"):
                    offered = list(r.data["slots"])
            for key, must in (("reply_matches", True), ("reply_not_matches", False)):
                pattern = turn.get(key)
                if pattern and bool(re.search(pattern, said, re.I | re.S)) != must:
                    failures.append(f"turn {i}: {key} {pattern!r}")
            self.h.clock.advance(seconds=20)
        exp = conv.expect
        pattern = exp.get("reply_matches")
        if pattern and not re.search(pattern, "\n".join(all_text), re.I | re.S):
            failures.append(f"conversation: reply_matches {pattern!r}")
        pattern = exp.get("reply_not_matches")
        if pattern and re.search(pattern, "\n".join(all_text), re.I | re.S):
            failures.append(f"conversation: reply_not_matches {pattern!r}")
        failures += await self._check_store(conv, offered, given)
        return Outcome(conv, failures, transcript)

    @staticmethod
    def _channel(conv: Conversation) -> str:
        return {"sms": "sms", "voice": "voice"}.get(conv.channel, "rest")

    @staticmethod
    def _incoming_extra(conv: Conversation, sender: str) -> dict[str, Any]:
        if conv.channel == "sms":
            return {"verified_contact": "+4915199990000"}
        return {}

    async def _wipe(self) -> None:
        async with self.h.ctx.db() as session:
            for table in reversed(Base.metadata.sorted_tables):
                await session.execute(delete(table))
            await session.commit()

    async def _given(self, conv: Conversation) -> list[Appointment]:
        rows: list[Appointment] = []
        ctx = self.h.ctx
        for g in conv.given:
            office = ctx.config.office(g["office"])
            if office is None:
                raise ValueError(f"unknown office {g['office']}")
            day = g.get("day", "+1")
            if isinstance(day, str) and day.startswith("+"):
                d = conv.now.astimezone(office.tz).date() + timedelta(days=int(day[1:]))
            else:
                d = day if isinstance(day, date) else date.fromisoformat(str(day))
            hh, mm = (int(x) for x in str(g.get("time", "10:00")).split(":"))
            start = datetime(d.year, d.month, d.day, hh, mm, tzinfo=office.tz)
            view = await book.book_now(
                ctx, service_id=g["service"], office_id=office.id, start=start,
                citizen=book.Citizen(g.get("name") or "Anna Berger",
                                     normalize_phone(g.get("phone") or "") or None,
                                     g.get("email")),
                origin=book.Origin(channel="staff", sender=None, language=conv.lang,
                                   actor="staff", seconds=None),
            )
            if view is None:
                raise ValueError(f"could not book {g}")
            async with ctx.db() as session:
                row = await session.get(Appointment, view.id)
                assert row is not None
                # A fixed code per conversation: the run does not depend on a random one.
                row.reference = _fixed_reference(f"{conv.id}/{len(rows)}")
                await session.commit()
                rows.append(row)
        return rows

    def _text(self, turn: dict[str, Any], last: list[Reply], offered: list[dict[str, str]],
              given: list[Appointment]) -> str:
        if "click" in turn:
            want = str(turn["click"]).casefold()
            for r in last:
                for b in r.buttons:
                    if want in b.title.casefold():
                        return b.payload
            titles = [b.title for r in last for b in r.buttons]
            raise LookupError(f"no button {turn['click']!r} in {titles}")
        text = self.fill(str(turn.get("user", "")), offered, given)
        options = [b.payload for r in last for b in r.buttons]
        if self._sms and re.fullmatch(r"\s*\d{1,2}\s*", text) and options:
            # the SMS channel lists buttons as numbered options; a bare number picks one
            n = int(text)
            return options[n - 1] if 1 <= n <= len(options) else text
        return text

    def fill(self, text: str, offered: list[dict[str, str]], given: list[Appointment]) -> str:
        def sub(m: re.Match[str]) -> str:
            kind, index, attr = m.group(1), int(m.group(2)), m.group(3)
            if kind == "offered":
                if not 1 <= index <= len(offered):
                    raise LookupError(f"no offered slot {index} (offered: {len(offered)})")
                office = self.h.ctx.config.office(offered[index - 1]["office"])
                tz = office.tz if office else BERLIN
                t = datetime.fromisoformat(offered[index - 1]["start"]).astimezone(tz)
                values = {
                    None: t.isoformat(), "time": f"{t:%H:%M}", "hour": str(t.hour),
                    "spoken_de": spoken_de(t), "spoken_en": spoken_en(t), "ampm": ampm(t),
                    "weekday_de": WEEKDAY_DE[t.weekday()], "weekday_en": WEEKDAY_EN[t.weekday()],
                    "date": f"{t:%d.%m.}",
                }
            else:
                if not 0 <= index < len(given):
                    raise LookupError(f"no given appointment {index}")
                ref = given[index].reference
                values = {
                    None: ref, "ref": f"{ref[:3]}-{ref[3:]}", "ref_plain": ref.lower(),
                    "ref_spaced": f"{ref[:3]} {ref[3:]}",
                    "last_name": (given[index].citizen_name or "").split()[-1],
                }
            if attr not in values:
                raise LookupError(f"unknown placeholder {m.group(0)}")
            return values[attr]

        return _PLACEHOLDER.sub(sub, text)

    async def _check_store(self, conv: Conversation, offered: list[dict[str, str]],
                           given: list[Appointment]) -> list[str]:
        exp = conv.expect
        async with self.h.ctx.db() as session:
            rows = list(await session.scalars(select(Appointment).order_by(Appointment.id)))
        active = [a for a in rows if a.status == "booked"]
        failures: list[str] = []
        by_id = {a.id: a for a in rows}
        for index in exp.get("cancelled") or []:
            if index >= len(given):
                failures.append(f"expect.cancelled: no given appointment {index}")
            elif by_id[given[index].id].status != "cancelled":
                failures.append(f"given appointment {index} is not cancelled")
        if "appointments" not in exp:
            return failures
        wanted = list(exp.get("appointments") or [])
        unused = list(active)
        for want in wanted:
            match = next((a for a in unused if not self._mismatch(a, want, offered, given)), None)
            if match is None:
                close = [self._mismatch(a, want, offered, given) for a in unused]
                failures.append(f"expected appointment {want} not stored"
                                + (f" ({'; '.join(close[0])})" if len(close) == 1 else ""))
            else:
                unused.remove(match)
        for a in unused:
            failures.append(f"unexpected appointment stored: {self._describe(a)}")
        return failures

    def _mismatch(self, a: Appointment, want: dict[str, Any], offered: list[dict[str, str]],
                  given: list[Appointment]) -> list[str]:
        office = self.h.ctx.config.office(a.office_id)
        tz = office.tz if office else BERLIN
        start = a.start if a.start.tzinfo else a.start.replace(tzinfo=ZoneInfo("UTC"))
        local = start.astimezone(tz)
        out = []
        for key, value in want.items():
            try:
                value = self.fill(str(value), offered, given) if value is not None else None
            except LookupError as exc:
                out.append(str(exc))
                continue
            if key == "service":
                ok = a.service_id == value
            elif key == "office":
                ok = a.office_id == value
            elif key == "name":
                ok = (a.citizen_name or "").casefold() == str(value).casefold()
            elif key == "start":
                ok = value is not None and datetime.fromisoformat(value) == local
            elif key == "weekday":
                ok = WEEKDAYS[local.weekday()] == str(value)[:3].lower()
            elif key == "time":
                ok = f"{local:%H:%M}" == str(value).zfill(5)
            elif key == "date":
                ok = local.date().isoformat() == str(value)
            elif key == "phone":
                ok = a.phone == (normalize_phone(value) if value else None)
            elif key == "email":
                ok = (a.email or None) == (value.lower() if value else None)
            else:
                out.append(f"unknown key {key}")
                continue
            if not ok:
                out.append(f"{key}: got {self._field(a, key, local)!r}")
        return out

    @staticmethod
    def _field(a: Appointment, key: str, local: datetime) -> Any:
        return {"service": a.service_id, "office": a.office_id, "name": a.citizen_name,
                "start": local.isoformat(), "weekday": WEEKDAYS[local.weekday()],
                "time": f"{local:%H:%M}", "date": local.date().isoformat(), "phone": a.phone,
                "email": a.email}.get(key)

    @staticmethod
    def _describe(a: Appointment) -> str:
        return f"{a.service_id} {a.office_id} {a.start} {a.citizen_name!r} {a.phone} {a.email}"


def _fixed_reference(seed: str) -> str:
    alphabet = references.ALPHABET
    digest = hashlib.sha256(seed.encode()).digest()
    code = "".join(alphabet[b % len(alphabet)] for b in digest[:6])
    if not any(c.isdigit() for c in code):
        code = code[:5] + "7"
    if not any(c.isalpha() for c in code):
        code = "K" + code[1:]
    return code


@dataclass
class Figures:
    outcomes: list[Outcome]

    @property
    def passed(self) -> int:
        return sum(o.ok for o in self.outcomes)

    @property
    def rate(self) -> float:
        return self.passed / len(self.outcomes) if self.outcomes else 0.0

    def median_turns(self, task: str | None = None) -> float:
        turns = [o.turns for o in self.outcomes if task is None or o.conversation.task == task]
        return statistics.median(turns) if turns else 0.0

    def summary(self, label: str) -> str:
        lines = [f"{label}: {self.passed}/{len(self.outcomes)} conversations reached their goal "
                 f"({self.rate:.1%})"]
        for task in ("book", "manage", "info"):
            n = sum(o.conversation.task == task for o in self.outcomes)
            if n:
                ok = sum(o.ok for o in self.outcomes if o.conversation.task == task)
                lines.append(f"  {task:<7} {ok}/{n}  median turns {self.median_turns(task):g}")
        return "\n".join(lines)


def with_phone_channels(config: Any) -> Any:
    """`config` with the SMS and phone channels switched on, so conversations on them are read
    the way those channels read them (a spelled code on the phone line)."""
    channels = {**config.channels, "sms": {}, "voice": {"caller_id_is_proof": False}}
    return config.model_copy(update={"channels": channels})


async def run_suite(conversations: list[Conversation], nlu_url: str,
                    config: Any = None) -> Figures:
    from assistant.config import load_config
    from assistant.testing.harness import ROOT

    config = with_phone_channels(config or load_config(ROOT / "config.yml"))
    async with Harness(config, nlu_url=nlu_url, now=DEFAULT_NOW) as h:
        runner = Runner(h)
        return Figures([await runner.run(c) for c in conversations])


# -- `amtsbote dialogue evaluate` ------------------------------------------------------------


def add_subcommands(subparsers: Any) -> None:
    """Register `evaluate` (sets `func(args) -> exit code`)."""
    sub = subparsers.add_parser(
        "evaluate", help="run the conversation suites, print success rate and median turns")
    sub.add_argument("--suite", choices=["tuned", "heldout", "all"], default="all")
    sub.add_argument("--path", type=Path, default=None,
                     help="folder of the suites (default: tests/conversations)")
    sub.add_argument("--rasa-url", default=None,
                     help="a running Rasa server (default: nlu.url if it answers, else started)")
    sub.add_argument("--show-failures", action="store_true")
    sub.set_defaults(func=cli_evaluate)


def cli_evaluate(args: Any) -> int:
    import asyncio
    import os

    from assistant.config import load_config
    from assistant.nlu import rasa_runner

    config_path = Path(getattr(args, "config", None) or "config.yml").resolve()
    root = config_path.parent
    base = args.path or root / "tests" / "conversations"
    suites = ["tuned", "heldout"] if args.suite == "all" else [args.suite]
    config = load_config(config_path)
    url = args.rasa_url or os.environ.get("RASA_URL") or config.nlu.url
    server = None
    try:
        rasa_runner.wait_ready(url, timeout=3)
    except rasa_runner.RasaSetupError:
        model = rasa_runner.ensure_model(config_path, root)
        server = rasa_runner.start_server(model.path, port=rasa_runner.free_port(), root=root)
        server.wait_ready(timeout=420)
        url = server.url
    try:
        code = 0
        for name in suites:
            figures = asyncio.run(run_suite(load_suite(base / name), url, config))
            print(figures.summary(name))
            if args.show_failures:
                for o in figures.outcomes:
                    if not o.ok:
                        print(o.report())
            code = code or (0 if figures.passed == len(figures.outcomes) else 1)
        return code
    finally:
        if server is not None:
            server.stop()
