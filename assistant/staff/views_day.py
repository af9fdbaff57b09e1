"""The office's day, its week and the search (GET), and the visit's steps (POST).

`/staff/` goes to the user's first office, today (in the office's time zone, by `ctx.now()`).
A day lists the appointments per counter; every appointment shown is audited as `view`; each
row has a one-click form for the next steps. Unknown office 404, an office the user may not
see 403 (pages and POSTs), a date that is none 400: polite pages, never a traceback."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import or_, select

from assistant.booking import references
from assistant.booking.appointments import fold
from assistant.config import Office
from assistant.context import Context
from assistant.http.common import CTX
from assistant.i18n import has, t
from assistant.staff import access, audit, pages, visits
from assistant.staff.sessions import Current
from assistant.staff.views_auth import authenticated
from assistant.storage.models import Appointment, StaffClosure

FIRST_YEAR, LAST_YEAR = 1900, 2999  # as the API: far from the ends of Python's calendar
MAX_QUERY = 100
MAX_RESULTS = 50


@dataclass
class Row:
    id: int
    start: datetime
    end: datetime
    service: str
    reference: str
    name: str
    channel: str
    state: str
    steps: list[str]
    office: str = ""
    changeable: bool = False  # may still be moved or cancelled on behalf
    closed: bool = False  # booked in a closure entered since: until it is moved


def _office_name(office: Office, lang: str) -> str:
    return office.name.get(lang)


def _row(ctx: Context, a: Appointment, lang: str, tz: Any) -> Row:
    service = ctx.config.service(a.service_id)
    channel_key = f"staff.channel.{a.channel}"
    return Row(id=a.id, start=a.start.astimezone(tz), end=a.end.astimezone(tz),
               service=service.name.get(lang) if service else a.service_id,
               reference=a.reference, name=a.citizen_name or "–",
               channel=t(channel_key, lang) if has(channel_key, lang) else a.channel,
               state=visits.state(a), steps=visits.next_steps(a), office=a.office_id,
               changeable=visits.state(a) == "booked" and a.start > ctx.now())


def _date(value: str) -> date | None:
    try:
        d = date.fromisoformat(value)
    except ValueError:
        return None
    return d if len(value) == 10 and FIRST_YEAR <= d.year <= LAST_YEAR else None


def _office(request: web.Request, who: Current) -> Office:
    """The office of the path: 404 when there is none, 403 when the user may not see it."""
    ctx = request.app[CTX]
    office = ctx.config.office(request.match_info["office"])
    if office is None:
        raise pages.Respond(pages.message(request, 404, "not_found", **_frame(ctx, who)))
    if not access.may_see(who.user, ctx.config, office.id):
        raise pages.Respond(pages.message(request, 403, "forbidden", **_frame(ctx, who)))
    return office


def _frame(ctx: Context, who: Current) -> dict[str, Any]:
    """What every logged-in page shows around its content (header, logout form)."""
    return {"user": who.user, "csrf_token": who.session.csrf_token,
            "offices": [ctx.config.office(o) for o in access.visible_offices(who.user,
                                                                              ctx.config)]}


def _day_of(request: web.Request, who: Current) -> date:
    found = _date(request.match_info["day"])
    if found is None:
        ctx = request.app[CTX]
        raise pages.Respond(pages.message(request, 400, "bad_request", **_frame(ctx, who)))
    return found


@pages.handler
async def home(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    who = await authenticated(request)
    visible = access.visible_offices(who.user, ctx.config)
    if not visible:
        return pages.message(request, 403, "no_office", **_frame(ctx, who))
    wanted = request.query.get("office")
    office = ctx.config.office(wanted if wanted in visible else visible[0])
    assert office is not None
    today = ctx.now().astimezone(office.tz).date()
    return pages.redirect(f"/staff/offices/{office.id}/days/{today.isoformat()}")


@pages.handler
async def day_page(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    who = await authenticated(request)
    office = _office(request, who)
    the_day = _day_of(request, who)
    lang = pages.language(request)
    frm = datetime.combine(the_day, time(0), office.tz)
    to = datetime.combine(the_day + timedelta(days=1), time(0), office.tz)
    async with ctx.db() as db:
        found = list(await db.scalars(
            select(Appointment)
            .where(Appointment.office_id == office.id, Appointment.start >= frm,
                   Appointment.start < to)
            .order_by(Appointment.counter, Appointment.start)))
        closures = list(await db.scalars(
            select(StaffClosure)
            .where(StaffClosure.office_id == office.id, StaffClosure.start < to,
                   StaffClosure.end > frm).order_by(StaffClosure.start)))
        await audit.record(db, who.user.id, "view", [a.id for a in found], ctx.now())
        await db.commit()
    per_counter: dict[int, list[Row]] = {n: [] for n in range(1, office.counters + 1)}
    for a in found:
        row = _row(ctx, a, lang, office.tz)
        row.closed = in_closure(closures, a)
        per_counter.setdefault(a.counter, []).append(row)
    today = ctx.now().astimezone(office.tz).date()
    return pages.render(request, "day.html", {
        **_frame(ctx, who), "office": office, "office_name": _office_name(office, lang),
        "day": the_day, "today": today, "counters": sorted(per_counter.items()),
        "done": _done(request, per_counter), "closures": closures,
        "closed": _count(request.query.get("closed", "")), "tz": office.tz,
        "total": sum(1 for a in found if a.status != "cancelled"),
        "previous": the_day - timedelta(days=1), "next": the_day + timedelta(days=1)})


DONE = ("booked", "moved", "cancelled")


def in_closure(closures: list[StaffClosure], a: Appointment) -> bool:
    """Is the booked appointment `a` (in part) inside one of the closures?"""
    return a.status == "booked" and visits.state(a) == "booked" and any(
        c.start < a.end and c.end > a.start and (c.counter is None or c.counter == a.counter)
        for c in closures)


def _count(raw: str) -> int | None:
    """`?closed=N` after saving a closure: how many appointments it affects."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None


def _done(request: web.Request, per_counter: dict[int, list[Row]]
          ) -> tuple[str, Row, int] | None:
    """After booking, moving or cancelling on behalf (`?done=booked&a=ID`): what was done to
    which of the day's appointments (and its counter), for a notice above the list."""
    done, raw = request.query.get("done"), request.query.get("a", "")
    if done not in DONE or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    return next(((str(done), r, n) for n, rows in per_counter.items() for r in rows
                 if r.id == int(raw)), None)


@pages.handler
async def week_page(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    who = await authenticated(request)
    office = _office(request, who)
    the_day = _day_of(request, who)
    lang = pages.language(request)
    monday = the_day - timedelta(days=the_day.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    if days[-1].year > LAST_YEAR or days[0].year < FIRST_YEAR:
        return pages.message(request, 400, "bad_request", **_frame(ctx, who))
    frm = datetime.combine(monday, time(0), office.tz)
    to = datetime.combine(monday + timedelta(days=7), time(0), office.tz)
    async with ctx.db() as db:
        rows = (await db.execute(
            select(Appointment.counter, Appointment.start)
            .where(Appointment.office_id == office.id, Appointment.status != "cancelled",
                   Appointment.start >= frm, Appointment.start < to))).all()
    counts: dict[tuple[int, date], int] = defaultdict(int)
    for counter, start in rows:
        counts[(counter, start.astimezone(office.tz).date())] += 1
    counters = sorted({*range(1, office.counters + 1), *(c for c, _ in counts)})
    table = [(n, [counts[(n, d)] for d in days]) for n in counters]
    totals = [sum(counts[(n, d)] for n in counters) for d in days]
    return pages.render(request, "week.html", {
        **_frame(ctx, who), "office": office, "office_name": _office_name(office, lang),
        "days": days, "table": table, "totals": totals, "monday": monday,
        "previous": monday - timedelta(days=7), "next": monday + timedelta(days=7),
        "today": ctx.now().astimezone(office.tz).date()})


@pages.handler
async def search_page(request: web.Request) -> web.StreamResponse:
    """By reference or name, within the offices the user may see (each hit is audited)."""
    ctx = request.app[CTX]
    who = await authenticated(request)
    lang = pages.language(request)
    query = request.query.get("q", "").strip()[:MAX_QUERY]
    visible = access.visible_offices(who.user, ctx.config)
    results: list[Row] = []
    too_short = bool(query) and len(query) < 2
    if query and not too_short and visible:
        code, key = references.normalize(query), fold(query)
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches = [Appointment.citizen_name.ilike(f"%{escaped}%", escape="\\")]
        if code:
            matches.append(Appointment.reference == code)
        if key:
            matches.append(Appointment.name_key.like(f"{key}%"))
        async with ctx.db() as db:
            found = list(await db.scalars(
                select(Appointment).where(Appointment.office_id.in_(visible), or_(*matches))
                .order_by(Appointment.start.desc()).limit(MAX_RESULTS)))
            await audit.record(db, who.user.id, "view", [a.id for a in found], ctx.now())
            await db.commit()
        for a in found:
            office = ctx.config.office(a.office_id)
            tz = office.tz if office else None
            results.append(_row(ctx, a, lang, tz))
    names = {o.id: _office_name(o, lang) for o in ctx.config.offices}
    return pages.render(request, "search.html", {
        **_frame(ctx, who), "query": query, "results": results, "too_short": too_short,
        "office_names": names, "max_results": MAX_RESULTS})


@pages.handler
async def visit_step(request: web.Request) -> web.StreamResponse:
    """One click: arrived, started (in progress), done or no-show; back to the day."""
    ctx = request.app[CTX]
    who = await authenticated(request, post=True)
    office = _office(request, who)
    form = await request.post()
    step, raw_id = form.get("step"), request.match_info["id"]
    if step not in visits.STEPS or not raw_id.isascii() or not raw_id.isdigit() or len(
            raw_id) > 10:
        return pages.message(request, 400, "bad_request", **_frame(ctx, who))
    async with ctx.db() as db:
        a = await db.get(Appointment, int(raw_id))
        if a is None or a.office_id != office.id:
            return pages.message(request, 404, "not_found", **_frame(ctx, who))
        outcome = await visits.mark(db, a, str(step), who.user.id, ctx.now())
        await db.commit()
    if not outcome.changed and outcome.state != visits.REACHED[str(step)]:
        return pages.message(request, 409, "conflict", **_frame(ctx, who),
                             back=_day_url(office, a))
    return pages.redirect(f"{_day_url(office, a)}#a{a.id}")


def _day_url(office: Office, a: Appointment) -> str:
    return f"/staff/offices/{office.id}/days/{a.start.astimezone(office.tz).date().isoformat()}"


async def to_home(_: web.Request) -> web.StreamResponse:
    return pages.redirect("/staff/")
