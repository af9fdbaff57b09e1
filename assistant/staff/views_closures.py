"""Closures and absences, from the office's day: the whole day, some hours of it (a half
day) or one counter, with a reason the affected citizens are told.

The form (GET) asks for the scope, the times and the reason; posting it without `confirm`
shows the booked appointments the closure would affect, before anything is saved; with
`confirm=yes` the closure is stored (`staff_closures`, read as busy time by the slot search
and the booking services, `assistant.booking.closures`) and each affected citizen gets a
`closure` notice through the outbox (the notifiers and their channel; with the reason and,
if the appointment page is on, the link to pick a new time). The appointments stay booked
until the citizen or a clerk moves or cancels them; the day marks them until then.

Every POST checks the CSRF token and the clerk's office (403 for another one); saving
writes one audit row per affected appointment (ids only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from assistant.config import Office
from assistant.context import Context
from assistant.http.common import CTX
from assistant.outbox import Item, enqueue_all
from assistant.staff import audit, pages
from assistant.staff.sessions import Current
from assistant.staff.views_auth import authenticated
from assistant.staff.views_day import _date, _frame, _office, _office_name
from assistant.staff.views_on_behalf import _summary, _text
from assistant.storage.models import Appointment, StaffClosure

SCOPES = ("day", "hours", "counter")
MAX_REASON = 500


@dataclass
class Typed:
    """What the clerk typed into the closure form (shown again after an error)."""

    day: str = ""
    scope: str = "day"
    frm: str = ""
    to: str = ""
    counter: str = ""
    reason: str = ""
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime
    counter: int | None


def _clock(value: str) -> time | None:
    try:
        found = time.fromisoformat(value)
    except ValueError:
        return None
    return found if len(value) == 5 else None


def _span(office: Office, typed: Typed) -> Span | None:
    """The closure as the form gives it; None (with `typed.errors` filled) when it is none."""
    the_day = _date(typed.day)
    if the_day is None:
        typed.errors["day"] = "day"
    if typed.scope not in SCOPES:
        typed.errors["scope"] = "scope"
    counter = None
    if typed.scope == "counter":
        if not typed.counter.isdigit() or not 1 <= int(typed.counter) <= office.counters:
            typed.errors["counter"] = "counter"
        else:
            counter = int(typed.counter)
    frm = to = None
    whole = typed.scope == "day" or (typed.scope == "counter" and not typed.frm and not typed.to)
    if not whole:
        frm, to = _clock(typed.frm), _clock(typed.to)
        if frm is None:
            typed.errors["frm"] = "time"
        if to is None or (frm is not None and to <= frm):
            typed.errors["to"] = "time"
    if not typed.reason:
        typed.errors["reason"] = "reason"
    if typed.errors or the_day is None:
        return None
    if whole:
        return Span(datetime.combine(the_day, time(0), office.tz),
                    datetime.combine(the_day + timedelta(days=1), time(0), office.tz), counter)
    assert frm is not None and to is not None
    return Span(datetime.combine(the_day, frm, office.tz),
                datetime.combine(the_day, to, office.tz), counter)


async def affected(ctx: Context, office: Office, span: Span) -> list[Appointment]:
    """The booked appointments of the office (on the counter) that overlap the span and whose
    visit has not begun."""
    query = select(Appointment).where(
        Appointment.office_id == office.id, Appointment.status == "booked",
        Appointment.start < span.end, Appointment.end > span.start,
        Appointment.arrived_at.is_(None), Appointment.no_show_at.is_(None))
    if span.counter is not None:
        query = query.where(Appointment.counter == span.counter)
    async with ctx.db() as db:
        return list(await db.scalars(query.order_by(Appointment.start, Appointment.counter)))


def _page(request: web.Request, who: Current, office: Office, typed: Typed,
          found: list[dict[str, Any]] | None = None, status: int = 200) -> web.Response:
    ctx = request.app[CTX]
    lang = pages.language(request)
    back_day = _date(typed.day) or ctx.now().astimezone(office.tz).date()
    return pages.render(request, "closure.html", {
        **_frame(ctx, who), "office": office, "office_name": _office_name(office, lang),
        "typed": typed, "scopes": SCOPES, "counter_numbers": range(1, office.counters + 1),
        "affected": found, "back": f"/staff/offices/{office.id}/days/{back_day.isoformat()}",
        "error": bool(typed.errors)}, status=status)


@pages.handler
async def closure_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    who = await authenticated(request)
    office = _office(request, who)
    today: date = ctx.now().astimezone(office.tz).date()
    day_value = request.query.get("day", today.isoformat())[:10]
    if _date(day_value) is None:
        return pages.message(request, 400, "bad_request", **_frame(ctx, who))
    return _page(request, who, office, Typed(day=day_value))


@pages.handler
async def closure_save(request: web.Request) -> web.StreamResponse:
    """Without `confirm`: the affected appointments; with it: save and tell them."""
    ctx = request.app[CTX]
    who = await authenticated(request, post=True)
    office = _office(request, who)
    form = await request.post()
    typed = Typed(day=_text(form, "day", 10), scope=_text(form, "scope", 16),
                  frm=_text(form, "from", 5), to=_text(form, "to", 5),
                  counter=_text(form, "counter", 4),
                  reason=" ".join(_text(form, "reason", MAX_REASON).split()))
    span = _span(office, typed)
    if span is None:
        return _page(request, who, office, typed, status=400)
    found = await affected(ctx, office, span)
    lang = pages.language(request)
    if form.get("confirm") != "yes":
        return _page(request, who, office, typed,
                     [_summary(ctx, a, office, lang) for a in found])
    now = ctx.now()
    async with ctx.db() as db:
        closure = StaffClosure(office_id=office.id, counter=span.counter, start=span.start,
                               end=span.end, reason=typed.reason, created_by=who.user.id,
                               created_at=now)
        db.add(closure)
        await db.flush()
        await enqueue_all(db, [Item(
            "notify", {"appointment_id": a.id, "event": "closure",
                       "extra": {"reason": typed.reason, "closure_id": closure.id}},
            key=f"notify:{a.id}:closure:{closure.id}") for a in found], now=now)
        await audit.record(db, who.user.id, "closure", [a.id for a in found], now)
        await db.commit()
    ctx.outbox.wake()
    return pages.redirect(f"/staff/offices/{office.id}/days/{typed.day}?closed={len(found)}")
