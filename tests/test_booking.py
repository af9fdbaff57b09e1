"""The booking domain without NLU: references, holds, moves, cancellations, the outbox."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from sqlalchemy import select

from assistant.booking import availability, book, cancel, check, references, reschedule
from assistant.storage.models import OutboxItem
from assistant.testing import Harness
from tests.conftest import BERLIN

TUE_9 = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)
ORIGIN = book.Origin(channel="test", sender="c1", language="de")


def test_reference_codes_are_unambiguous_and_forgiving() -> None:
    codes = {references.new_reference() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:200]:
        assert len(code) == 6 and not set(code) & set("IO01")
        assert references.find(f"Mein Termin {references.display(code).lower()} bitte") == code
        assert references.normalize(code[:3] + " " + code[3:]) == code
    assert references.find("Ich komme morgen um 10 Uhr, Tel. 0351 234567") is None
    assert references.find("Guten Morgen") is None


async def test_hold_blocks_others_until_it_expires(offline_harness: Harness) -> None:
    h = offline_harness
    end = TUE_9 + timedelta(minutes=20)
    token = await book.hold(h.ctx, "coswig", TUE_9, end)
    assert token
    assert await book.hold(h.ctx, "coswig", TUE_9, end) is None  # one counter in Coswig
    slots = await availability.free_slots(h.ctx, "personalausweis", "coswig", TUE_9, TUE_9)
    assert slots == []
    h.clock.advance(minutes=h.ctx.config.booking.hold_minutes + 1)
    other = await book.hold(h.ctx, "coswig", TUE_9, end)
    assert other, "an expired hold frees the slot by itself"
    # The first citizen confirms too late: the slot is gone, nothing is double-booked.
    late = await book.confirm(h.ctx, token, service_id="personalausweis", office_id="coswig",
                              start=TUE_9, end=end, citizen=book.Citizen("Zu Spät"),
                              origin=ORIGIN)
    assert late is None


async def test_move_and_cancel_free_the_old_cells(offline_harness: Harness) -> None:
    h = offline_harness
    a = await book.book_now(h.ctx, service_id="personalausweis", office_id="coswig", start=TUE_9,
                            citizen=book.Citizen("Paul Becker", email="p@example.org"),
                            origin=ORIGIN)
    assert a is not None
    new_start = TUE_9 + timedelta(hours=1)
    token = await book.hold(h.ctx, "coswig", new_start, new_start + timedelta(minutes=20))
    moved = await reschedule.move(h.ctx, a.id, token, new_start,
                                  new_start + timedelta(minutes=20), ORIGIN)
    assert moved and moved.start == new_start and moved.reference == a.reference
    assert await availability.free_slots(h.ctx, "personalausweis", "coswig", TUE_9, TUE_9)
    assert not await availability.free_slots(h.ctx, "personalausweis", "coswig", new_start,
                                             new_start)
    done = await cancel.cancel(h.ctx, a.id, ORIGIN)
    assert done and done.status == "cancelled"
    assert await availability.free_slots(h.ctx, "personalausweis", "coswig", new_start,
                                         new_start)
    assert await cancel.cancel(h.ctx, a.id, ORIGIN) is None
    async with h.ctx.db() as session:
        kinds = [(i.kind, i.payload.get("op") or i.payload.get("event"))
                 for i in await session.scalars(select(OutboxItem).order_by(OutboxItem.id))]
    assert ("calendar", "create") in kinds and ("calendar", "update") in kinds
    assert ("calendar", "delete") in kinds and ("notify", "cancelled") in kinds


async def test_lookup_needs_a_matching_proof(offline_harness: Harness) -> None:
    h = offline_harness
    a = await book.book_now(h.ctx, service_id="reisepass", office_id="riesa", start=TUE_9,
                            citizen=book.Citizen("Jörg Müller", phone="+4915112345678"),
                            origin=ORIGIN)
    assert a is not None
    for proof in ("Müller", "mueller", "Jörg Müller", "0151 12345678", "+49 151 12345678"):
        found = await check.lookup(h.ctx, a.reference, proof, ORIGIN)
        assert found.appointment and found.appointment.id == a.id, proof
    stranger = book.Origin(channel="test", sender="mallory", language="de")
    assert (await check.lookup(h.ctx, a.reference, "Schulze", stranger)).appointment is None
    sms = book.Origin(channel="sms", sender="+4915112345678", language="de")
    found = await check.lookup(h.ctx, a.reference, None, sms, verified_contact="+4915112345678")
    assert found.appointment is not None


async def test_outbox_retries_until_the_calendar_answers(offline_harness: Harness) -> None:
    h = offline_harness
    calls: list[str] = []

    async def flaky(ctx, payload):  # type: ignore[no-untyped-def]
        calls.append(payload["op"])
        if len(calls) == 1:
            raise ConnectionError("calendar server down")

    assert h.ctx.outbox is not None
    h.ctx.outbox.register("calendar", flaky)
    await book.book_now(h.ctx, service_id="reisepass", office_id="riesa", start=TUE_9,
                        citizen=book.Citizen("Ina Kurz"), origin=ORIGIN)
    await h.run_outbox_now()
    assert calls == ["create"]
    await h.run_outbox_now()
    assert calls == ["create"], "backoff: not retried at once"
    h.clock.advance(minutes=1)
    await h.run_outbox_now()
    assert calls == ["create", "create"]
    h.clock.advance(hours=1)
    await h.run_outbox_now()
    assert calls == ["create", "create"], "done items never run again"


async def test_a_stopped_outbox_keeps_what_ran_and_gives_back_the_rest(
        offline_harness: Harness) -> None:
    """A worker that stops (a deploy) while a handler hangs: the items that ran stay done,
    the others are free for the next round at once, not only when the lock runs out."""
    h = offline_harness
    ran: list[str] = []
    hanging = asyncio.Event()

    async def calendar(ctx, payload):  # type: ignore[no-untyped-def]
        ran.append("calendar")

    async def notify(ctx, payload):  # type: ignore[no-untyped-def]
        ran.append("notify")
        hanging.set()
        await asyncio.Event().wait()  # a mail server that never answers

    assert h.ctx.outbox is not None
    h.ctx.outbox.register("calendar", calendar)
    h.ctx.outbox.register("notify", notify)
    await book.book_now(h.ctx, service_id="reisepass", office_id="riesa", start=TUE_9,
                        citizen=book.Citizen("Ina Kurz"), origin=ORIGIN)
    worker = asyncio.create_task(h.run_outbox_now())
    await hanging.wait()
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    async with h.ctx.db() as session:
        items = {i.kind: i for i in await session.scalars(select(OutboxItem))}
    assert items["calendar"].done_at is not None
    assert (items["notify"].done_at, items["notify"].locked_until) == (None, None)
    h.ctx.outbox.register("notify", calendar)  # the mail server is back
    assert await h.run_outbox_now() == 1
    assert ran == ["calendar", "notify", "calendar"]


async def test_a_held_slot_needs_no_fresh_notice_but_a_slot_taken_afresh_does(
        offline_harness: Harness) -> None:
    """The minimum notice (60 minutes) is checked when a slot is held; confirming it later
    needs only a start still ahead. A hold purged meanwhile is a new booking: notice again."""
    h = offline_harness  # Monday 09:00; Coswig opens 08:30, one counter
    monday = TUE_9 - timedelta(days=1)
    twenty = timedelta(minutes=20)

    async def confirm(token: str, start: datetime):  # type: ignore[no-untyped-def]
        return await book.confirm(h.ctx, token, service_id="personalausweis",
                                  office_id="coswig", start=start, end=start + twenty,
                                  citizen=book.Citizen("Ina Kurz"), origin=ORIGIN)

    ten = monday.replace(hour=10)
    token = await book.hold(h.ctx, "coswig", ten, ten + twenty)
    assert token and await book.hold(h.ctx, "coswig", ten - timedelta(minutes=15),
                                     ten + timedelta(minutes=5)) is None  # 45 minutes: too soon
    h.clock.advance(minutes=10)  # 50 minutes before the start, the hold expired unclaimed
    assert await confirm(token, ten)

    half = monday.replace(hour=10, minute=30)
    token = await book.hold(h.ctx, "coswig", half, half + twenty)
    assert token
    h.clock.advance(minutes=30)  # 09:40; another hold purges the expired one
    assert await book.hold(h.ctx, "coswig", monday.replace(hour=11, minute=30),
                           monday.replace(hour=11, minute=50))
    assert await confirm(token, half) is None  # taken afresh 50 minutes ahead: too soon

    eleven = monday.replace(hour=11)
    token = await book.hold(h.ctx, "coswig", eleven, eleven + twenty)
    assert token
    h.clock.advance(hours=2)
    assert await confirm(token, eleven) is None  # in the past by now
