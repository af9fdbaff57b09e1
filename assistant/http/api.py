"""`/api/v1`: catalogue, slots and NLU for everyone; appointments, requests and stats for staff."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select, update

from assistant import stats
from assistant.booking import availability, book, cancel, references
from assistant.booking.appointments import to_view
from assistant.booking.validation import InvalidStart, StaffOverride
from assistant.config import Closure, Office, Service
from assistant.http import ics_feed
from assistant.http.common import (
    CTX,
    BadJSON,
    client_gate,
    json_error,
    loads_json,
    read_json,
    require_staff,
    too_many_requests,
)
from assistant.http.openapi import SPEC, VIDEO_STATUSES, NewAppointment
from assistant.idempotency import HEADER, Claim, Replay, digest, fingerprint, valid_key
from assistant.nlu.client import NLUUnavailable
from assistant.storage.models import Appointment, VideoRequest

BERLIN = ZoneInfo("Europe/Berlin")
# Dates and times a client may give: far enough to either side for any real question, and far
# from the ends of Python's calendar (year 1 and 9999), where adding a day or changing the time
# zone overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2999
ROW_ID = re.compile(r"^[0-9]{1,10}$")  # a database id: digits only ...
MAX_ROW_ID = 2**31 - 1  # ... within PostgreSQL's `integer`


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}),
                              content_type="application/json")


def _in_range(d: date, value: str) -> None:
    if not FIRST_YEAR <= d.year <= LAST_YEAR:
        raise _bad_request(f"date out of range (years {FIRST_YEAR} to {LAST_YEAR}): {value!r}")


def closure_json(c: Closure, today: date) -> dict[str, Any]:
    """A closure as configured; one repeated every year as its current or next repetition."""
    dated = c.next_from(today) or c
    return {"start": dated.start.isoformat(), "end": dated.last.isoformat(),
            **({"every": c.every} if c.every else {})}


def office_json(o: Office, now: datetime) -> dict[str, Any]:
    return {
        "id": o.id,
        "name": {"de": o.name.de, "en": o.name.en},
        "address": o.address.model_dump(),
        "phone": o.phone,
        "timezone": o.timezone,
        "counters": o.counters,
        "opening_hours": {
            d: [f"{r.start:%H:%M}-{r.end:%H:%M}" for r in ranges]
            for d, ranges in o.opening_hours.items()
        },
        "closures": [closure_json(c, now.astimezone(o.tz).date()) for c in o.closures],
        "services": list(o.services),
    }


def service_json(s: Service, offices: list[Office]) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": {"de": s.name.de, "en": s.name.en},
        "duration_minutes": s.duration_minutes,
        "documents": s.documents,
        "fee": {"de": s.fee.de, "en": s.fee.en},
        "notes": {"de": s.notes.de, "en": s.notes.en} if s.notes else None,
        "video": s.video,
        "offices": [o.id for o in offices],
    }


async def offices(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    return web.json_response([office_json(o, ctx.now()) for o in ctx.config.offices])


async def services(request: web.Request) -> web.Response:
    cfg = request.app[CTX].config
    return web.json_response([service_json(s, cfg.offices_for(s.id)) for s in cfg.services])


def _parse_when(value: str | None, default: datetime, end_of_day: bool = False) -> datetime:
    """A date (its start, or with `end_of_day` its last second, in Berlin) or a date and time
    (without an offset: Berlin). 400 for anything else, or outside the years FIRST_YEAR to
    LAST_YEAR."""
    if not value:
        return default
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            _in_range(d, value)
            return datetime.combine(d, time(23, 59, 59) if end_of_day else time(0), BERLIN)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad_request(f"not an ISO-8601 date or time: {value!r}") from None
    _in_range(dt.date(), value)
    # The same moment in Berlin time: whatever offset the client wrote ("+00:53:28"), what
    # the answer repeats of it is an RFC 3339 time.
    return dt.astimezone(BERLIN) if dt.tzinfo else dt.replace(tzinfo=BERLIN)


async def slots(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    q = request.query
    service = ctx.config.service(q.get("service", ""))
    if service is None:
        return json_error(400, "unknown or missing service", services=[s.id for s in
                                                                        ctx.config.services])
    office_ids = [q["office"]] if q.get("office") else [o.id for o in
                                                        ctx.config.offices_for(service.id)]
    if q.get("office") and ctx.config.office(q["office"]) is None:
        return json_error(400, "unknown office")
    now = ctx.now()
    frm = _parse_when(q.get("from"), now)
    to = _parse_when(q.get("to"), frm + timedelta(days=14), end_of_day=True)
    if to < frm or to - frm > timedelta(days=92):
        return json_error(400, "'to' must be after 'from' and at most 92 days later")
    out = []
    for office_id in office_ids:
        for s in await availability.free_slots(ctx, service.id, office_id, frm, to, limit=500):
            out.append({"office": s.office_id, "service": s.service_id,
                        "start": s.start.isoformat(), "end": s.end.isoformat(),
                        "free_counters": len(s.free_counters)})
    out.sort(key=lambda s: s["start"])
    return web.json_response({"slots": out})


async def nlu_parse(request: web.Request) -> web.Response:
    """Open to anyone, so limited like the REST chat (every call reaches Rasa): per client
    address (behind `server.trusted_proxies`) or kiosk terminal and for all clients together,
    counted with the chat's messages."""
    ctx = request.app[CTX]
    gate = client_gate(request.app, ctx)
    wait = gate.take(gate.client(request))
    if wait:
        return too_many_requests(wait)
    try:
        body = await read_json(request)
    except BadJSON:
        return json_error(400, "invalid JSON")
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return json_error(400, "expected {\"text\": \"...\", \"now\": \"ISO-8601 (optional)\"}")
    text = body["text"]
    if len(text) > ctx.config.server.max_message_chars:
        return json_error(413, f"text longer than {ctx.config.server.max_message_chars} characters")
    if body.get("now") is not None and not isinstance(body["now"], str):
        return json_error(400, "'now' must be an ISO-8601 date or time string")
    now = _parse_when(body.get("now"), ctx.now()) if body.get("now") else ctx.now()
    try:
        result = await ctx.nlu.parse(text, now=now)
    except NLUUnavailable:
        return json_error(503, "NLU server unavailable")
    return web.json_response(result.to_api())


# -- staff --------------------------------------------------------------------------------------


async def appointment(request: web.Request) -> web.Response:
    require_staff(request)
    ctx = request.app[CTX]
    code = references.normalize(request.match_info["reference"])
    if code is None:
        return json_error(404, "no such appointment")
    async with ctx.db() as session:
        a = await session.scalar(select(Appointment).where(Appointment.reference == code))
    if a is None:
        return json_error(404, "no such appointment")
    return web.json_response(to_view(a).to_api())


async def appointments(request: web.Request) -> web.Response:
    require_staff(request)
    ctx = request.app[CTX]
    office = ctx.config.office(request.query.get("office", ""))
    if office is None:
        return json_error(400, "unknown or missing office")
    try:
        day = date.fromisoformat(request.query.get("date", ctx.now().astimezone(office.tz)
                                                   .date().isoformat()))
    except ValueError:
        return json_error(400, "date must be YYYY-MM-DD")
    _in_range(day, day.isoformat())
    frm = datetime.combine(day, time(0), office.tz)
    async with ctx.db() as session:
        rows = await session.scalars(
            select(Appointment)
            .where(Appointment.office_id == office.id, Appointment.start >= frm,
                   Appointment.start < frm + timedelta(days=1))
            .order_by(Appointment.start, Appointment.counter)
        )
        return web.json_response([to_view(a).to_api() for a in rows])


def body_error(exc: ValidationError) -> web.Response:
    """400 naming the first bad field of a request body (all of them under `errors`)."""
    found = exc.errors()
    if found[0]["type"] == "json_invalid":
        return json_error(400, "invalid JSON")
    errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in found]
    if not found[0]["loc"]:
        return json_error(400, "expected a JSON object", errors=errors)
    field = errors[0]["field"]
    return json_error(400, f"{field}: {errors[0]['message']}", field=field, errors=errors)


def idempotency_claim(request: web.Request, body: Any = None) -> Claim | None:
    """The request's `Idempotency-Key` (after `require_staff`), or None without one; 400 for
    a key that is empty, longer than 255 characters or not printable ASCII. Keys are kept per
    staff token (its hash), so two principals' keys never meet."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not valid_key(key):
        raise _bad_request(f"{HEADER} must be 1 to 255 printable ASCII characters")
    ctx = request.app[CTX]
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return Claim(principal=digest(f"staff-token:{token}"), key=key,
                 request=fingerprint(request.method, request.path, body), now=ctx.now(),
                 ttl=timedelta(hours=ctx.config.server.idempotency_key_hours))


def replayed(answer: Replay) -> web.Response:
    """The stored answer to a repeated key (marked `Idempotent-Replayed: true`), 422 for a
    key used for another request, 409 with Retry-After while it cannot be told yet."""
    response = web.json_response(answer.body, status=answer.status)
    if answer.status == 409 and answer.body.get("code") == "idempotency_key_in_use":
        response.headers["Retry-After"] = "1"
    elif answer.body.get("code") != "idempotency_key_reused":
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def create_appointment(request: web.Request) -> web.Response:
    """Staff book by hand (phone, counter): counted as not done through Amtsbote.

    The whole body is checked before anything is stored: 400 names a bad field, 422 says
    (`code`) why the start cannot be booked (assistant/booking/validation.py), 409 that every
    counter is taken."""
    require_staff(request)
    ctx = request.app[CTX]
    raw = await request.read()
    try:
        document = loads_json(raw)  # the shared checks for client JSON: depth, surrogates, NaN
        body = NewAppointment.model_validate_json(raw)
    except BadJSON:
        return json_error(400, "invalid JSON")
    except ValidationError as exc:
        return body_error(exc)
    service, office = ctx.config.service(body.service), ctx.config.office(body.office)
    if service is None:
        return json_error(400, "unknown service", field="service",
                          services=[s.id for s in ctx.config.services])
    if office is None:
        return json_error(400, "unknown office", field="office",
                          offices=[o.id for o in ctx.config.offices])
    start = body.start if body.start.tzinfo else body.start.replace(tzinfo=office.tz)
    claim = idempotency_claim(request, document)
    try:
        view = await book.book_now(
            ctx, service_id=service.id, office_id=office.id, start=start,
            citizen=book.Citizen(body.citizen.name, body.citizen.phone, body.citizen.email),
            origin=book.Origin(channel=body.channel, sender=None, language=body.language,
                               actor="staff", seconds=None),
            override=StaffOverride(body.override.reason) if body.override else None,
            claim=claim,
        )
    except InvalidStart as exc:
        return json_error(422, exc.message, code=exc.code, field=exc.field)
    except Replay as answer:
        return replayed(answer)
    if view is None:
        return json_error(409, "slot not free", code="slot_taken")
    if body.staff_seconds is not None:
        async with ctx.db() as session:
            stats.record(session, "staff_time", now=ctx.now(), channel="staff",
                         office_id=office.id, service_id=service.id,
                         staff_seconds=body.staff_seconds, actor="staff")
            await session.commit()
    return web.json_response(view.to_api(), status=201)


async def cancel_appointment(request: web.Request) -> web.Response:
    require_staff(request)
    ctx = request.app[CTX]
    code = references.normalize(request.match_info["reference"]) or ""
    async with ctx.db() as session:
        a = await session.scalar(select(Appointment).where(Appointment.reference == code))
    if a is None:
        return json_error(404, "no such appointment")
    try:
        view = await cancel.cancel(ctx, a.id, book.Origin(channel="staff", sender=None,
                                                          language=a.language, actor="staff"),
                                   claim=idempotency_claim(request))
    except Replay as answer:
        return replayed(answer)
    if view is None:
        return json_error(409, "appointment is not booked")
    return web.json_response(view.to_api())


def _request_json(r: VideoRequest) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "status": r.status, "office": r.office_id,
            "service": r.service_id, "channel": r.channel, "language": r.language,
            "staff_url": r.staff_url, "callback_number": r.callback_number,
            "created_at": r.created_at.isoformat()}


async def video_requests(request: web.Request) -> web.Response:
    require_staff(request)
    ctx = request.app[CTX]
    status = request.query.get("status", "waiting")
    if status not in VIDEO_STATUSES:
        return json_error(400, "unknown status", statuses=list(VIDEO_STATUSES))
    async with ctx.db() as session:
        rows = await session.scalars(
            select(VideoRequest).where(VideoRequest.status == status)
            .order_by(VideoRequest.created_at)
        )
        return web.json_response([_request_json(r) for r in rows])


async def take_video_request(request: web.Request) -> web.Response:
    """A clerk takes a waiting request (first come, first served)."""
    require_staff(request)
    ctx = request.app[CTX]
    raw = request.match_info["id"]
    if not ROW_ID.match(raw) or int(raw) > MAX_ROW_ID:  # not "+1", "1_0", "١", 10**30
        return json_error(404, "no such request")
    rid = int(raw)
    claim = idempotency_claim(request)
    async with ctx.db() as session:
        try:
            if claim is not None:
                await claim.take(session)
        except Replay as answer:
            return replayed(answer)
        done = await session.execute(
            update(VideoRequest).where(VideoRequest.id == rid, VideoRequest.status == "waiting")
            .values(status="taken", taken_at=ctx.now())
        )
        row = await session.get(VideoRequest, rid)
        if row is None or done.rowcount != 1:
            await session.rollback()
            return json_error(404, "no such request") if row is None else json_error(
                409, "already taken")
        body = _request_json(row)
        if claim is not None:
            await claim.store(session, 200, body)
        await session.commit()
    return web.json_response(body)


async def statistics(request: web.Request) -> web.Response:
    require_staff(request)
    ctx = request.app[CTX]
    now = ctx.now()
    frm = _parse_when(request.query.get("from"), now - timedelta(days=30))
    to = _parse_when(request.query.get("to"), now + timedelta(days=1), end_of_day=True)
    async with ctx.db() as session:
        return web.json_response(await stats.summary(session, frm, to))


async def openapi(_: web.Request) -> web.Response:
    return web.json_response(SPEC)


def add_routes(app: web.Application) -> None:
    client_gate(app, app[CTX])  # made now: the app cannot take new keys once it runs
    r = app.router
    r.add_get("/api/v1/openapi.json", openapi)
    r.add_get("/api/v1/offices", offices)
    r.add_get("/api/v1/offices/{office}/appointments.ics", ics_feed.appointments_ics)
    r.add_get("/api/v1/services", services)
    r.add_get("/api/v1/slots", slots)
    r.add_post("/api/v1/nlu/parse", nlu_parse)
    r.add_get("/api/v1/appointments", appointments)
    r.add_post("/api/v1/appointments", create_appointment)
    r.add_get("/api/v1/appointments/{reference}", appointment)
    r.add_post("/api/v1/appointments/{reference}/cancel", cancel_appointment)
    r.add_get("/api/v1/video-requests", video_requests)
    r.add_post("/api/v1/video-requests/{id}/take", take_video_request)
    r.add_get("/api/v1/stats", statistics)
