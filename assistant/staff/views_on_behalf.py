"""Book, move and cancel on behalf of a citizen (a caller on the phone, someone at the
counter), from the office's day.

Plain server-rendered forms, no JavaScript: the booking form first asks for the service and
the day and then lists that day's free times (the slot search the chat uses) as choices; a
move lists the free times of the appointment's service on a day; a move and a cancellation
are confirmed on a page of their own before anything changes. Saving goes through the
booking services (`book.book_now`, `reschedule.move`, `cancel.cancel`) exactly like the
staff API: the same validation of the start as the chat's, the counter cells that make an
overlap impossible, and the outbox that tells the citizen (confirmation, move, cancellation
by e-mail or SMS when a contact was given). A time taken meanwhile answers with a polite
error and the form again, with what was typed.

Every POST checks the CSRF token and the clerk's office (403 for another one); each change
writes one audit row (ids only) with the clerk's handling time from opening the form to
saving (`assistant.staff.timing`); every time comes from `ctx.now()`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from assistant.booking import availability, book, cancel, reschedule
from assistant.booking.appointments import EMAIL, normalize_phone
from assistant.booking.slots import later
from assistant.booking.validation import InvalidStart
from assistant.config import Office, Service
from assistant.context import Context
from assistant.http.common import CTX
from assistant.i18n import LANGUAGES
from assistant.staff import audit, pages, timing, visits
from assistant.staff.sessions import Current
from assistant.staff.views_auth import authenticated
from assistant.staff.views_day import (
    FIRST_YEAR,
    LAST_YEAR,
    _date,
    _day_url,
    _frame,
    _office,
    _office_name,
)
from assistant.storage.models import Appointment

CHANNELS = ("phone", "counter")  # how the citizen reached the clerk
MAX_NAME = 200
MAX_FIELD = 254
MAX_SLOTS = 500


@dataclass
class Typed:
    """What the clerk typed into the booking form (shown again after an error)."""

    service: str = ""
    day: str = ""
    start: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    channel: str = "phone"
    language: str = "de"
    errors: dict[str, str] = field(default_factory=dict)


def _text(form: MultiDictProxy[Any], name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _start(value: str, office: Office) -> datetime | None:
    """A start as the forms send it (ISO 8601 with offset), in the office's time zone."""
    if not value or len(value) > 40:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    if found.tzinfo is None or not FIRST_YEAR <= found.year <= LAST_YEAR:
        return None
    return found.astimezone(office.tz)


async def _free_starts(ctx: Context, office: Office, service: Service, day: date,
                       skip: datetime | None = None) -> list[datetime]:
    """The free starts of `service` at `office` on `day` (the chat's slot search)."""
    frm = datetime.combine(day, time(0), office.tz)
    to = datetime.combine(day, time(23, 59, 59), office.tz)
    found = await availability.free_slots(ctx, service.id, office.id, frm, to, limit=MAX_SLOTS)
    return [s.start for s in found if skip is None or s.start != skip]


def _services(ctx: Context, office: Office, lang: str) -> list[tuple[str, str]]:
    return [(s.id, s.name.get(lang)) for sid in office.services
            if (s := ctx.config.service(sid)) is not None]


def _duration(who: Current, form: MultiDictProxy[Any], ctx: Context) -> int | None:
    return timing.duration_ms(who.session.csrf_token, form.get(timing.FIELD), ctx.now())


def _done_url(office: Office, a: Appointment | Any, done: str) -> str:
    return f"{_day_url(office, a)}?done={done}&a={a.id}#a{a.id}"


# -- book -----------------------------------------------------------------------------------------


async def _book_page(request: web.Request, who: Current, office: Office, typed: Typed,
                     opened: str, status: int = 200, error: str | None = None
                     ) -> web.Response:
    ctx = request.app[CTX]
    lang = pages.language(request)
    service = ctx.config.service(typed.service) if typed.service in office.services else None
    the_day = _date(typed.day)
    starts = await _free_starts(ctx, office, service, the_day) if service and the_day else []
    today = ctx.now().astimezone(office.tz).date()
    return pages.render(request, "book.html", {
        **_frame(ctx, who), "office": office, "office_name": _office_name(office, lang),
        "services": _services(ctx, office, lang), "service": service, "the_day": the_day,
        "starts": starts, "typed": typed, "opened": opened, "error": error,
        "channels": CHANNELS, "languages": LANGUAGES, "today": today,
        "back": f"/staff/offices/{office.id}/days/{(the_day or today).isoformat()}",
    }, status=status)


@pages.handler
async def book_form(request: web.Request) -> web.StreamResponse:
    """Step 1 (service and day) and, once both are chosen, step 2 (time, citizen)."""
    ctx = request.app[CTX]
    who = await authenticated(request)
    office = _office(request, who)
    q = request.query
    today = ctx.now().astimezone(office.tz).date()
    day_value = q.get("day", today.isoformat())[:10]
    if _date(day_value) is None:
        return pages.message(request, 400, "bad_request", **_frame(ctx, who))
    typed = Typed(service=q.get("service", "")[:64], day=day_value)
    opened = timing.keep_or_stamp(who.session.csrf_token, q.get(timing.FIELD), ctx.now())
    return await _book_page(request, who, office, typed, opened)


@pages.handler
async def book_save(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    who = await authenticated(request, post=True)
    office = _office(request, who)
    form = await request.post()
    typed = Typed(service=_text(form, "service", 64), day=_text(form, "day", 10),
                  start=_text(form, "start", 40), name=_text(form, "name", MAX_NAME),
                  phone=_text(form, "phone", 40), email=_text(form, "email"),
                  channel=_text(form, "channel", 16), language=_text(form, "language", 2))
    opened = timing.keep_or_stamp(who.session.csrf_token, form.get(timing.FIELD), ctx.now())
    service = ctx.config.service(typed.service) if typed.service in office.services else None
    start = _start(typed.start, office)
    phone = normalize_phone(typed.phone) if typed.phone else None
    errors = typed.errors
    if service is None:
        errors["service"] = "service"
    if _date(typed.day) is None:
        errors["day"] = "day"
    if start is None or (_date(typed.day) and start.date() != _date(typed.day)):
        errors["start"] = "start"
    if not typed.name:
        errors["name"] = "name"
    if typed.phone and phone is None:
        errors["phone"] = "phone"
    if typed.email and not EMAIL.fullmatch(typed.email):
        errors["email"] = "email"
    if typed.channel not in CHANNELS:
        errors["channel"] = "channel"
    if typed.language not in LANGUAGES:
        typed.language = "de"
    if errors:
        return await _book_page(request, who, office, typed, opened, 400, "invalid")
    assert service is not None and start is not None
    try:
        view = await book.book_now(
            ctx, service_id=service.id, office_id=office.id, start=start,
            citizen=book.Citizen(typed.name, phone, typed.email or None),
            origin=book.Origin(channel=typed.channel, sender=None, language=typed.language,
                               actor="staff", seconds=None))
    except InvalidStart:
        view = None  # too soon by now, or no longer a time the office offers
    if view is None:
        typed.start = ""
        errors["start"] = "taken"
        return await _book_page(request, who, office, typed, opened, 409, "taken")
    async with ctx.db() as db:
        await audit.record(db, who.user.id, "booked", [view.id], ctx.now(),
                           _duration(who, form, ctx))
        await db.commit()
    return pages.redirect(_done_url(office, view, "booked"))


# -- move and cancel ------------------------------------------------------------------------------


async def _appointment(request: web.Request, who: Current, office: Office) -> Appointment:
    """The path's appointment of this office that may still be moved or cancelled: 400 for an
    id that is none, 404 for another office's or none, 409 when it is past, cancelled or the
    visit has begun."""
    ctx = request.app[CTX]
    raw = request.match_info["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise pages.Respond(pages.message(request, 400, "bad_request", **_frame(ctx, who)))
    async with ctx.db() as db:
        a = await db.get(Appointment, int(raw))
    if a is None or a.office_id != office.id:
        raise pages.Respond(pages.message(request, 404, "not_found", **_frame(ctx, who)))
    if visits.state(a) != "booked" or a.start <= ctx.now():
        raise pages.Respond(pages.message(request, 409, "conflict", **_frame(ctx, who),
                                          back=_day_url(office, a)))
    return a


def _summary(ctx: Context, a: Appointment, office: Office, lang: str) -> dict[str, Any]:
    service = ctx.config.service(a.service_id)
    return {"id": a.id, "start": a.start.astimezone(office.tz),
            "end": a.end.astimezone(office.tz), "reference": a.reference,
            "service": service.name.get(lang) if service else a.service_id,
            "name": a.citizen_name or "–", "counter": a.counter}


async def _move_page(request: web.Request, who: Current, office: Office, a: Appointment,
                     the_day: date, opened: str, status: int = 200,
                     error: str | None = None) -> web.Response:
    ctx = request.app[CTX]
    lang = pages.language(request)
    service = ctx.config.service(a.service_id)
    own = a.start.astimezone(office.tz)
    starts = await _free_starts(ctx, office, service, the_day, skip=own) if service else []
    return pages.render(request, "move.html", {
        **_frame(ctx, who), "office": office, "office_name": _office_name(office, lang),
        "a": _summary(ctx, a, office, lang), "the_day": the_day, "starts": starts,
        "opened": opened, "error": error, "back": _day_url(office, a)}, status=status)


@pages.handler
async def move_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    who = await authenticated(request)
    office = _office(request, who)
    a = await _appointment(request, who, office)
    day_value = request.query.get("day", "")[:10]
    the_day = _date(day_value) if day_value else a.start.astimezone(office.tz).date()
    if the_day is None:
        return pages.message(request, 400, "bad_request", **_frame(ctx, who))
    async with ctx.db() as db:
        await audit.record(db, who.user.id, "view", [a.id], ctx.now())
        await db.commit()
    opened = timing.keep_or_stamp(who.session.csrf_token, request.query.get(timing.FIELD),
                                  ctx.now())
    return await _move_page(request, who, office, a, the_day, opened)


@pages.handler
async def move_save(request: web.Request) -> web.StreamResponse:
    """Without `confirm`: the confirmation page; with it: the move."""
    ctx = request.app[CTX]
    who = await authenticated(request, post=True)
    office = _office(request, who)
    a = await _appointment(request, who, office)
    form = await request.post()
    opened = timing.keep_or_stamp(who.session.csrf_token, form.get(timing.FIELD), ctx.now())
    start = _start(_text(form, "start", 40), office)
    service = ctx.config.service(a.service_id)
    lang = pages.language(request)
    if start is None or service is None:
        day = _date(_text(form, "day", 10)) or a.start.astimezone(office.tz).date()
        return await _move_page(request, who, office, a, day, opened, 400, "choose")
    end = later(start, timedelta(minutes=service.duration_minutes))
    if form.get("confirm") != "yes":
        return pages.render(request, "confirm.html", {
            **_frame(ctx, who), "office": office, "kind": "move",
            "a": _summary(ctx, a, office, lang), "to_start": start, "to_end": end,
            "opened": opened, "action": f"/staff/offices/{office.id}/appointments/{a.id}/move",
            "back": f"/staff/offices/{office.id}/appointments/{a.id}/move"
                    f"?day={start.date().isoformat()}"})
    moved = await reschedule.move(
        ctx, a.id, "", start, end,
        book.Origin(channel="staff", sender=None, language=a.language, actor="staff"))
    if moved is None:
        return await _move_page(request, who, office, a, start.date(), opened, 409, "taken")
    async with ctx.db() as db:
        await audit.record(db, who.user.id, "moved", [a.id], ctx.now(),
                           _duration(who, form, ctx))
        await db.commit()
    return pages.redirect(_done_url(office, moved, "moved"))


@pages.handler
async def cancel_form(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    who = await authenticated(request)
    office = _office(request, who)
    a = await _appointment(request, who, office)
    async with ctx.db() as db:
        await audit.record(db, who.user.id, "view", [a.id], ctx.now())
        await db.commit()
    lang = pages.language(request)
    return pages.render(request, "confirm.html", {
        **_frame(ctx, who), "office": office, "kind": "cancel",
        "a": _summary(ctx, a, office, lang), "to_start": None, "to_end": None,
        "opened": timing.stamp(who.session.csrf_token, ctx.now()),
        "action": f"/staff/offices/{office.id}/appointments/{a.id}/cancel",
        "back": f"{_day_url(office, a)}#a{a.id}"})


@pages.handler
async def cancel_save(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    who = await authenticated(request, post=True)
    office = _office(request, who)
    a = await _appointment(request, who, office)
    form = await request.post()
    done = await cancel.cancel(
        ctx, a.id, book.Origin(channel="staff", sender=None, language=a.language,
                               actor="staff"))
    if done is None:  # cancelled meanwhile
        return pages.message(request, 409, "conflict", **_frame(ctx, who),
                             back=_day_url(office, a))
    async with ctx.db() as db:
        await audit.record(db, who.user.id, "cancelled", [a.id], ctx.now(),
                           _duration(who, form, ctx))
        await db.commit()
    return pages.redirect(_done_url(office, a, "cancelled"))
