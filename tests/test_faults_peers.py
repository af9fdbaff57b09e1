"""Faults with real processes, part two (issue 14): the offices' CalDAV calendars (a Radicale
process) and the mail relay (aiosmtpd) down for OUTAGE_SECONDS while citizens book and cancel
by chat (REST webhook) and staff book and cancel through the API.

What a citizen notices: nothing. Every booking is confirmed at once and stored once; no reply
mentions an error. Once the peers are back the outbox writes each appointment into Radicale
once, sends each mail once and removes the events of what was cancelled meanwhile; nothing is
given up, and the log holds neither a traceback nor a name or an address.

The outbox's retry backoff runs on the context's clock. While the peers are away the test moves
that clock CLOCK_SPEED times as fast as the wall clock (the outbox retries, and fails, several
times with growing backoff); once they are back, one step of MAX_BACKOFF makes every retry due,
so nothing waits minutes. Time: about OUTAGE_SECONDS + 5 s (AMTSBOTE_PEER_OUTAGE_SECONDS sets
the outage; the default is the issue's 20 s). The chat citizens talk to the shared Rasa
(`rasa_url`).

Then the calendar server hangs: Radicale paused (SIGSTOP) for PAUSE_SECONDS (10 s) while
citizens book by chat and staff by API. Every reply comes within 3 s (the calendar's read
deadline is 2 s), each booking is stored once and, after SIGCONT, is one event in Radicale.
The whole file takes about 45 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from assistant.booking import references
from assistant.booking.busy_cache import Busy, BusyCache
from assistant.config import CalendarCfg, Config, load_config
from assistant.i18n import t
from assistant.outbox import MAX_BACKOFF
from assistant.storage.models import Appointment, OutboxItem
from assistant.testing import Harness
from assistant.testing.peers.radicale import (
    CALDAV_PASSWORD,
    CALDAV_USER,
    PASSWORD_ENV,
    USER_ENV,
    Radicale,
    caldav_options,
)
from assistant.testing.peers.smtp import SMTPPeer
from assistant.values import CalendarUnavailable
from tests.conftest import NOW

OUTAGE_SECONDS = float(os.environ.get("AMTSBOTE_PEER_OUTAGE_SECONDS", "20"))
CLOCK_SPEED = 10  # context seconds per wall second while the peers are away
TYPING = 0.5  # wall seconds a citizen takes to answer
REPLY_SECONDS = 5.0  # a generous bound: the reply must not wait for a peer's timeout
TOKEN = "peer-fault-staff-token-0123456789"
STAFF = {"Authorization": f"Bearer {TOKEN}"}
EMAIL_CONFIG = Path(__file__).parent / "configs" / "email.yml"

pytestmark = pytest.mark.rasa
T = TypeVar("T")


@dataclass(frozen=True)
class Citizen:
    name: str
    email: str
    first: str = ""  # the first chat message (chat citizens)

    @property
    def last_name(self) -> str:
        return self.name.split()[-1]


# Names and addresses found nowhere else, so the log check cannot be fooled.
BEFORE = Citizen("Hildebrand Sauerampfer", "h.sauerampfer@zwiebelpost.de",
                 "Ich brauche bitte einen neuen Personalausweis in Riesa")
CHAT = [Citizen("Edeltraud Zwiebelmaier", "edeltraud.zwiebelmaier@zwiebelpost.de",
                "Guten Tag, ich brauche einen Termin für einen Personalausweis in Riesa"),
        Citizen("Kunigunde Pfefferkorn", "kunigunde@pfefferkorn-familie.de",
                "Ich möchte einen Reisepass beantragen, in Meißen bitte")]
STAFF_CITIZENS = [Citizen(f"Ottilie Quastenflosser{chr(65 + n)}",
                          f"quastenflosser.{n}@zwiebelpost.de") for n in range(6)]
STAFF_OFFICES = ("meissen", "grossenhain", "radebeul")
STAFF_SERVICE = "meldebescheinigung"
PERSONAL = ["Hildebrand", "Sauerampfer", "Edeltraud", "Zwiebelmaier", "Kunigunde",
            "Pfefferkorn", "Ottilie", "Quastenflosser", "zwiebelpost", "pfefferkorn-familie"]


@dataclass
class Turn:
    who: str
    said: str
    status: int
    seconds: float
    answer: str


@dataclass
class Outage:
    turns: list[Turn] = field(default_factory=list)  # every reply while the peers were away
    booked: dict[str, Citizen] = field(default_factory=dict)  # confirmed meanwhile: ref -> who
    before: str = ""  # booked (and delivered) before the outage, cancelled during it
    cancelled: str = ""  # booked and cancelled during the outage (staff)
    failed_attempts: int = 0  # outbox attempts that failed while the peers were away
    stored: dict[str, int] = field(default_factory=dict)  # reference -> rows
    status: dict[str, str] = field(default_factory=dict)  # reference -> status
    events: Counter[str] = field(default_factory=Counter)  # UID -> events in Radicale
    mails: list[tuple[str, str]] = field(default_factory=list)  # (recipient, subject)
    left: list[OutboxItem] = field(default_factory=list)  # outbox items not done at the end
    late: list[OutboxItem] = field(default_factory=list)  # ... of them due already
    log: list[logging.LogRecord] = field(default_factory=list)
    delivered_in: float = 0.0  # wall seconds from the peers' restart to an empty outbox


# -- the scenario ------------------------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # aiosmtpd runs in this process but stands for a separate mail relay: not our log.
        if not record.name.startswith("mail.log"):
            self.format(record)  # renders the traceback into record.exc_text
            self.records.append(record)


def config(radicale: Radicale) -> Config:
    """tests/configs/email.yml (mail to the SMTP peer) with every office's calendar in its own
    Radicale calendar."""
    base = load_config(EMAIL_CONFIG)
    offices = []
    for office in base.offices:
        cal = radicale.new_calendar(f"Bürgerbüro {office.id}")
        offices.append(office.model_copy(update={"calendar": CalendarCfg(
            backend="caldav", options=caldav_options(radicale, cal))}))
    return base.model_copy(update={"offices": offices})


@contextlib.asynccontextmanager
async def application(rasa_url: str, folder: Path) -> AsyncIterator[Peers]:
    """Radicale, the mail relay and the application (outbox running), with the log recorded."""
    radicale = Radicale(folder).start()
    smtp = SMTPPeer()
    smtp.start()
    records = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AMTSBOTE_API_TOKEN", TOKEN)
            mp.setenv(USER_ENV, CALDAV_USER)
            mp.setenv(PASSWORD_ENV, CALDAV_PASSWORD)
            smtp.env(mp)
            cfg = config(radicale)
            async with Harness(cfg, nlu_url=rasa_url, now=NOW, run_outbox=True) as h:
                yield Peers(h, radicale, smtp, records.records)
    finally:
        root.removeHandler(records)
        root.setLevel(level)
        smtp.stop()
        radicale.stop()


@dataclass
class Peers:
    h: Harness
    radicale: Radicale
    smtp: SMTPPeer
    log: list[logging.LogRecord]


@pytest.fixture(scope="module")
async def outage(rasa_url: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[Outage]:
    async with application(rasa_url, tmp_path_factory.mktemp("radicale-outage")) as peers:
        result = await _scenario(peers.h, peers.radicale, peers.smtp)
        result.log = peers.log  # the shutdown's records come too: the same list
    yield result


async def _scenario(h: Harness, radicale: Radicale, smtp: SMTPPeer) -> Outage:
    client = await h.http()
    out = Outage()
    # Before: one booking by chat while everything is up; its event and mail go out.
    out.before = await book_by_chat(client, "before", BEFORE, [])
    await wait_for_outbox(h, within=15)
    assert len(smtp.to(BEFORE.email)) == 1, "the setup does not deliver mail"

    await asyncio.to_thread(radicale.stop)
    smtp.stop()
    stopped = time.monotonic()
    driving = asyncio.Event()
    driver = asyncio.create_task(drive_clock(h, driving))
    try:
        # Spread over the outage, as people come: the busy times' cache runs stale meanwhile.
        chats = [later(OUTAGE_SECONDS * (0.05 + 0.4 * n),
                       book_by_chat(client, f"chat{n}", c, out.turns, pause=TYPING))
                 for n, c in enumerate(CHAT)]
        refs = await asyncio.gather(
            *chats, later(OUTAGE_SECONDS * 0.3, cancel_by_chat(
                client, "before-again", BEFORE, out.before, out.turns, pause=TYPING)),
            staff_bookings(client, out, every=OUTAGE_SECONDS / (len(STAFF_CITIZENS) + 2)))
        out.booked.update(zip(refs[:len(CHAT)], CHAT, strict=True))
        # The rest of the outage: the outbox keeps retrying (and failing) meanwhile.
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    finally:
        driving.set()
        await driver
    async with h.ctx.db() as session:
        out.failed_attempts = await session.scalar(
            select(func.sum(OutboxItem.attempts)).where(OutboxItem.done_at.is_(None))) or 0

    await asyncio.to_thread(radicale.start)
    smtp.start()
    restarted = time.monotonic()
    # Every retry is due within MAX_BACKOFF on the context's clock: one step, no waiting.
    h.clock.advance(seconds=MAX_BACKOFF.total_seconds() + 1)
    assert h.ctx.outbox is not None
    h.ctx.outbox.wake()
    await wait_for_outbox(h, within=30)
    out.delivered_in = time.monotonic() - restarted

    await collect(h, radicale, smtp, out)
    return out


async def collect(h: Harness, radicale: Radicale, smtp: SMTPPeer, out: Outage) -> None:
    """What is stored, left in the outbox, in Radicale and in the mailboxes now."""
    async with h.ctx.db() as session:
        out.stored = dict((await session.execute(
            select(Appointment.reference, func.count()).group_by(Appointment.reference))).all())
        out.status = dict((await session.execute(
            select(Appointment.reference, Appointment.status))).all())
        out.left = list(await session.scalars(select(OutboxItem).where(
            OutboxItem.done_at.is_(None))))
    now = h.ctx.now()
    out.late = [i for i in out.left if i.due_at <= now]
    cal_client = radicale.client()
    for cal in cal_client.principal().calendars():
        for event in cal.search(event=True):
            out.events[str(event.icalendar_component.get("uid"))] += 1
    out.mails = [(rcpt, str(r.message["Subject"])) for r in smtp.messages for rcpt in r.rcpt_tos]


async def drive_clock(h: Harness, done: asyncio.Event) -> None:
    """Move the context's clock CLOCK_SPEED times as fast as the wall clock and wake the outbox,
    so its backoff runs its course (retries fail while the peers are away)."""
    assert h.ctx.outbox is not None
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 1.0)
        h.clock.advance(seconds=CLOCK_SPEED)
        h.ctx.outbox.wake()


async def wait_for_outbox(h: Harness, within: float) -> None:
    """Until no calendar write or notification is left undone (reminders wait for their day)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with h.ctx.db() as session:
            left = await session.scalar(select(func.count()).select_from(OutboxItem).where(
                OutboxItem.done_at.is_(None), OutboxItem.kind != "reminder"))
        if not left:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the outbox still has {left} item(s) after {within} s")


async def later(seconds: float, coro: Awaitable[T]) -> T:
    await asyncio.sleep(seconds)
    return await coro


async def say(client: TestClient, who: str, message: str, turns: list[Turn]) -> str:
    started = time.monotonic()
    resp = await client.post("/webhooks/rest/webhook", json={"sender": who, "message": message})
    body = await resp.json()
    answer = "\n".join(m.get("text", "") for m in body) if isinstance(body, list) else str(body)
    turns.append(Turn(who, message, resp.status, time.monotonic() - started, answer))
    assert resp.status == 200, (resp.status, body)
    return answer


async def book_by_chat(client: TestClient, who: str, c: Citizen, turns: list[Turn],
                       pause: float = 0.0) -> str:
    """A booking conversation: each question answered by what it asks; the reference."""
    answers = [("Bitte prüfen Sie", "ja, bitte buchen"), ("E-Mail-Adresse", c.email),
               ("Namen", c.name), ("Welcher passt", "2"), ("Wann passt es Ihnen", "nächste Woche")]
    answer = await say(client, who, c.first, turns)
    for _ in range(8):
        if "Ihr Termin ist gebucht" in answer:
            code = references.find(answer)
            assert code, answer
            return code
        reply = next((a for marker, a in answers if marker in answer), None)
        assert reply is not None, f"unexpected question: {answer}"
        await asyncio.sleep(pause)
        answer = await say(client, who, reply, turns)
    raise AssertionError(f"no booking after 8 turns: {answer}")


async def cancel_by_chat(client: TestClient, who: str, c: Citizen, code: str,
                         turns: list[Turn], pause: float = 0.0) -> None:
    answer = await say(client, who, f"Ich möchte meinen Termin {references.display(code)} "
                                    "absagen", turns)
    assert "Nachname" in answer, answer
    await asyncio.sleep(pause)
    answer = await say(client, who, c.last_name, turns)
    assert "wirklich absagen" in answer, answer
    await asyncio.sleep(pause)
    answer = await say(client, who, "ja", turns)
    assert "ist abgesagt" in answer, answer


async def staff_bookings(client: TestClient, out: Outage, every: float) -> None:
    """Staff book for callers through the API every `every` seconds (the first free slot
    each time, spread over three offices), and then cancel the first of these bookings."""
    day = (NOW + timedelta(days=1)).date().isoformat()
    for n, c in enumerate(STAFF_CITIZENS):
        await asyncio.sleep(every)
        office = STAFF_OFFICES[n % len(STAFF_OFFICES)]
        started = time.monotonic()
        resp = await client.get("/api/v1/slots", params={
            "service": STAFF_SERVICE, "office": office, "from": day})
        out.turns.append(Turn(f"staff{n}", "GET /api/v1/slots", resp.status,
                              time.monotonic() - started, ""))
        assert resp.status == 200, await resp.text()
        start = (await resp.json())["slots"][0]["start"]
        started = time.monotonic()
        resp = await client.post("/api/v1/appointments", headers=STAFF, json={
            "service": STAFF_SERVICE, "office": office, "start": start, "channel": "phone",
            "citizen": {"name": c.name, "email": c.email}})
        body = await resp.json()
        out.turns.append(Turn(f"staff{n}", "POST /api/v1/appointments", resp.status,
                              time.monotonic() - started, str(body)))
        assert resp.status == 201, body
        out.booked[references.normalize(body["reference"]) or "?"] = c
    await asyncio.sleep(every)
    code = next(iter(out.booked))
    started = time.monotonic()
    resp = await client.post(f"/api/v1/appointments/{code}/cancel", headers=STAFF)
    out.turns.append(Turn("staff-cancel", "cancel", resp.status, time.monotonic() - started,
                          await resp.text()))
    assert resp.status == 200
    out.cancelled = code


# -- what a user notices -----------------------------------------------------------------------


async def test_every_booking_confirmed_during_the_outage_is_stored_once(outage: Outage) -> None:
    assert len(outage.booked) == len(CHAT) + len(STAFF_CITIZENS)
    assert {outage.stored.get(ref) for ref in outage.booked} == {1}
    assert {ref for ref in outage.booked if outage.status[ref] == "booked"} == \
        set(outage.booked) - {outage.cancelled}
    assert outage.status[outage.cancelled] == outage.status[outage.before] == "cancelled"
    assert len(outage.stored) == len(outage.booked) + 1  # nothing else was stored


async def test_replies_come_at_once_and_never_mention_an_error(outage: Outage) -> None:
    errors = [t(k, "de") for k in ("error.internal", "nlu.down", "nlu.down_short")]
    assert len(outage.turns) >= 3 * len(CHAT) + 3 + len(STAFF_CITIZENS)
    for turn in outage.turns:
        assert turn.status in (200, 201), turn
        assert turn.seconds < REPLY_SECONDS, turn
        assert not any(e in turn.answer for e in errors), turn
        for word in ("Fehler", "schiefgegangen", "nicht erreichbar", "Kalender", "E-Mail-Server",
                     "error", "Traceback"):
            assert word not in turn.answer, turn


async def test_the_outbox_retried_while_the_peers_were_away(outage: Outage) -> None:
    # Calendar writes and mails of 8 bookings and 2 cancellations, each tried at once and
    # again as its backoff ran out on the moved clock: far more than one attempt each.
    assert outage.failed_attempts >= 3 * 2 * (len(CHAT) + len(STAFF_CITIZENS)), \
        outage.failed_attempts
    assert outage.delivered_in < 20, outage.delivered_in


async def test_each_appointment_is_one_event_in_radicale(outage: Outage) -> None:
    kept = {ref for ref in outage.booked if ref != outage.cancelled}
    assert outage.events == Counter({f"{ref}@amtsbote": 1 for ref in kept})


async def test_cancellations_during_the_outage_remove_the_events(outage: Outage) -> None:
    assert f"{outage.before}@amtsbote" not in outage.events  # written before, removed after
    assert f"{outage.cancelled}@amtsbote" not in outage.events  # never left behind
    before = [s for to, s in outage.mails if to == BEFORE.email]
    shown = references.display(outage.before)
    assert len(before) == 2 and before[0].startswith(f"Terminbestätigung {shown}")
    assert before[1].startswith(f"Termin abgesagt {shown}")
    # Booked and cancelled while the mail relay was away: the cancellation alone, never a
    # confirmation of what is cancelled already.
    c = outage.booked[outage.cancelled]
    [mail] = [s for to, s in outage.mails if to == c.email]
    assert mail.startswith(f"Termin abgesagt {references.display(outage.cancelled)}"), mail


async def test_each_confirmation_mail_arrives_once(outage: Outage) -> None:
    for ref, c in outage.booked.items():
        if ref == outage.cancelled:
            continue
        mails = [s for to, s in outage.mails if to == c.email]
        assert len(mails) == 1 and mails[0].startswith(
            f"Terminbestätigung {references.display(ref)}"), (c.name, mails)
    assert len(outage.mails) == len(outage.booked) + 2


async def test_nothing_is_left_in_the_outbox(outage: Outage) -> None:
    assert outage.late == []
    assert {i.kind for i in outage.left} <= {"reminder"}  # each waits for its day
    # Nothing given up either: the mail plugin drops only what it can never deliver.
    assert not [r for r in outage.log if r.name.startswith(("assistant", "plugins"))
                and "dropped" in r.getMessage()]


async def test_the_log_holds_no_traceback_and_no_personal_data(outage: Outage) -> None:
    assert [r for r in outage.log if r.name.startswith(("assistant", "plugins"))
            and r.levelno >= logging.WARNING], "the outage left no trace in the log"
    for r in outage.log:
        line = r.getMessage()
        if r.levelno >= logging.INFO:  # what the server logs unless started with --verbose
            assert r.exc_info is None and "Traceback" not in line, (r.name, line, r.exc_text)
        found = [p for p in PERSONAL if p.casefold() in line.casefold()]
        assert not found, (r.name, line)


# -- the calendar server hangs -----------------------------------------------------------------
# Radicale paused (SIGSTOP): it accepts connections but never answers, so every request waits
# for its timeout (10 s). The busy times have run stale meanwhile; a citizen's reply waits at
# most the calendar's read deadline (2 s) and then uses the busy times read last.

PAUSE_SECONDS = float(os.environ.get("AMTSBOTE_PEER_PAUSE_SECONDS", "10"))
PAUSED_REPLY_SECONDS = 3.0


@pytest.fixture(scope="module")
async def paused(rasa_url: str, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[Outage]:
    async with application(rasa_url, tmp_path_factory.mktemp("radicale-paused")) as peers:
        result = await _paused_scenario(peers.h, peers.radicale, peers.smtp)
        result.log = peers.log
    yield result


async def _paused_scenario(h: Harness, radicale: Radicale, smtp: SMTPPeer) -> Outage:
    client = await h.http()
    out = Outage()
    out.before = await book_by_chat(client, "before", BEFORE, [])  # every calendar read once
    await wait_for_outbox(h, within=15)
    assert radicale.proc is not None
    radicale.proc.send_signal(signal.SIGSTOP)
    paused = time.monotonic()
    driving = asyncio.Event()
    driver = asyncio.create_task(drive_clock(h, driving))
    try:
        h.clock.advance(seconds=61)  # past every office's cache time: the busy times are stale
        chats = [later(PAUSE_SECONDS * (0.05 + 0.3 * n),
                       book_by_chat(client, f"chat{n}", c, out.turns, pause=TYPING))
                 for n, c in enumerate(CHAT)]
        refs = await asyncio.gather(*chats, staff_bookings(
            client, out, every=PAUSE_SECONDS / (len(STAFF_CITIZENS) + 2)))
        out.booked.update(zip(refs[:len(CHAT)], CHAT, strict=True))
        await asyncio.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - paused)))
    finally:
        driving.set()
        await driver
        radicale.proc.send_signal(signal.SIGCONT)
    resumed = time.monotonic()
    h.clock.advance(seconds=MAX_BACKOFF.total_seconds() + 1)
    assert h.ctx.outbox is not None
    h.ctx.outbox.wake()
    await wait_for_outbox(h, within=30)
    out.delivered_in = time.monotonic() - resumed
    await collect(h, radicale, smtp, out)
    return out


async def test_while_the_calendar_hangs_every_reply_comes_within_the_deadline(
        paused: Outage) -> None:
    slowest = sorted(paused.turns, key=lambda t: -t.seconds)[:8]
    print(f"\n{len(paused.turns)} replies while Radicale was paused; slowest: "
          + ", ".join(f"{t.who} {t.seconds:.2f} s" for t in slowest))
    assert len(paused.turns) >= 4 * len(CHAT) + 2 * len(STAFF_CITIZENS) + 1
    slow = [t for t in paused.turns if t.status not in (200, 201)
            or t.seconds >= PAUSED_REPLY_SECONDS]
    assert not slow, slow


async def test_while_the_calendar_hangs_each_booking_is_stored_once(paused: Outage) -> None:
    assert len(paused.booked) == len(CHAT) + len(STAFF_CITIZENS)
    assert {paused.stored.get(ref) for ref in paused.booked} == {1}
    assert {ref for ref in paused.booked if paused.status[ref] == "booked"} == \
        set(paused.booked) - {paused.cancelled}
    assert len(paused.stored) == len(paused.booked) + 1  # and the one booked before


async def test_after_the_calendar_resumes_each_appointment_is_one_event(paused: Outage) -> None:
    kept = {paused.before, *paused.booked} - {paused.cancelled}
    assert paused.events == Counter({f"{ref}@amtsbote": 1 for ref in kept})
    assert paused.late == [] and {i.kind for i in paused.left} <= {"reminder"}
    assert paused.delivered_in < 20, paused.delivered_in


async def test_the_hang_is_logged_without_personal_data(paused: Outage) -> None:
    waited = [r for r in paused.log if r.name == "assistant.booking.busy_cache"
              and r.levelno == logging.WARNING and "no answer within" in r.getMessage()]
    assert waited, "the stale answers were not logged"
    for r in paused.log:
        line = r.getMessage()
        if r.levelno >= logging.INFO:
            assert r.exc_info is None and "Traceback" not in line, (r.name, line, r.exc_text)
        assert not [p for p in PERSONAL if p.casefold() in line.casefold()], (r.name, line)


async def test_a_hung_read_costs_a_reply_the_deadline_once_and_runs_on_alone() -> None:
    """Without a peer: a source that does not answer. Nothing read yet: after the deadline the
    cache says so (the core then offers times as if the calendar were empty, as when the server
    is down); the next reply does not wait again, no second read starts meanwhile, and the
    busy times the read brings at last are used from then on."""
    answer = asyncio.Event()
    reads = 0
    training = Busy(NOW + timedelta(hours=2), NOW + timedelta(hours=3), None, "Schulung", "t@x")

    async def fetch(frm: datetime, to: datetime) -> list[Busy]:
        nonlocal reads
        reads += 1
        await answer.wait()
        return [training]

    cache = BusyCache("hung", fetch, ttl=timedelta(seconds=60), retry=timedelta(seconds=30),
                      horizon=timedelta(days=90), deadline=0.3)
    day = (NOW, NOW + timedelta(days=1))
    started = time.monotonic()
    with pytest.raises(CalendarUnavailable):
        await cache.get(NOW, *day)
    assert 0.25 < time.monotonic() - started < 1.0
    started = time.monotonic()
    with pytest.raises(CalendarUnavailable):
        await cache.get(NOW + timedelta(seconds=1), *day)
    assert time.monotonic() - started < 0.1 and reads == 1
    answer.set()
    assert await cache.refresh(NOW + timedelta(seconds=2)) and reads == 1
    assert await cache.get(NOW + timedelta(seconds=3), *day) == [training]
    # Stale, and the source hangs again: the last busy times after the deadline.
    answer.clear()
    started = time.monotonic()
    assert await cache.get(NOW + timedelta(seconds=61), *day) == [training]
    assert 0.25 < time.monotonic() - started < 1.0 and reads == 2
    await cache.close()
