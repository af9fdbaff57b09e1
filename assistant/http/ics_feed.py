"""Appointments as iCalendar.

- `appointment_event` / `calendar_of`: the VEVENT Amtsbote writes for a booking (UID
  `<reference>@amtsbote`, times in the office's time zone with its VTIMEZONE); the CalDAV
  backend writes exactly these, so staff see the same entry everywhere.
- `GET /api/v1/offices/{office}/appointments.ics`: a subscribable feed of one office's booked
  appointments for staff whose calendar app cannot do CalDAV. Calendar apps cannot send
  headers, so besides `Authorization: Bearer $AMTSBOTE_API_TOKEN` the feed takes `?token=`:
  either the staff token or, better, the office's own read-only feed token (`feed_token`), which
  opens nothing but this feed. `python -m assistant.http.ics_feed OFFICE` prints the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
from datetime import UTC, date, timedelta
from functools import lru_cache
from typing import Literal

from aiohttp import web
from icalendar import Calendar, Event, Timezone
from sqlalchemy import select

from assistant.booking.appointments import to_view
from assistant.config import Office
from assistant.http.common import CTX, TOKEN_ENV
from assistant.i18n import t
from assistant.storage.models import Appointment
from assistant.views import AppointmentView

UID_SUFFIX = "@amtsbote"
PRODID = "-//Amtsbote//Amtsbote//DE"
PersonalData = Literal["none", "name", "full"]
PERSONAL_DATA_LEVELS = ("none", "name", "full")
FEED_PAST = timedelta(days=7)  # the feed also shows the last week, for staff looking back
FEED_REFRESH = timedelta(minutes=15)


def event_uid(reference: str) -> str:
    return f"{reference}{UID_SUFFIX}"


def is_own_uid(uid: str) -> bool:
    """True for events Amtsbote wrote itself (they are in the database already)."""
    return uid.endswith(UID_SUFFIX)


def personal_data_of(office: Office) -> PersonalData:
    """The office's `calendar.options.personal_data` (none unless the office allows more)."""
    level = office.calendar.options.get("personal_data", "none")
    return level if level in PERSONAL_DATA_LEVELS else "none"


def appointment_event(
    a: AppointmentView,
    office: Office,
    service_name: str,
    *,
    personal_data: PersonalData = "none",
    lang: str = "de",
    cancelled: bool = False,
) -> Event:
    """The staff calendar entry for `a`. Personal data only as far as `personal_data` allows:
    `none` (reference and service), `name` (+ citizen name), `full` (+ phone and e-mail)."""
    ref = a.display_reference
    tz = office.tz
    name = a.citizen_name if personal_data in ("name", "full") else None
    if cancelled:
        summary = t("calendar.event.summary_cancelled", lang, reference=ref, service=service_name)
    elif name:
        summary = t("calendar.event.summary_name", lang, reference=ref, service=service_name,
                    name=name)
    else:
        summary = t("calendar.event.summary", lang, reference=ref, service=service_name)
    lines = [t("calendar.event.description", lang, channel=a.channel, reference=ref)]
    if a.mode == "video":
        lines.append(t("calendar.event.video", lang))
    if name:
        lines.append(t("calendar.event.name", lang, name=name))
    if personal_data == "full":
        if a.phone:
            lines.append(t("calendar.event.phone", lang, phone=a.phone))
        if a.email:
            lines.append(t("calendar.event.email", lang, email=a.email))
    ev = Event()
    ev.add("uid", event_uid(a.reference))
    ev.add("dtstamp", a.updated_at.astimezone(UTC))
    ev.add("created", a.created_at.astimezone(UTC))
    ev.add("last-modified", a.updated_at.astimezone(UTC))
    ev.add("dtstart", a.start.astimezone(tz))
    ev.add("dtend", a.end.astimezone(tz))
    ev.add("summary", summary)
    ev.add("location", t("calendar.event.location", lang, office=office.name.get(lang),
                         counter=a.counter))
    ev.add("description", "\n".join(lines))
    ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    ev.add("transp", "OPAQUE")
    ev.add("categories", ["Amtsbote"])
    ev.add("x-amtsbote-reference", ref)
    return ev


@lru_cache(maxsize=32)
def _vtimezone(tzid: str, year: int) -> Timezone:
    # A narrow range keeps the VTIMEZONE short (the full 1970-2038 one lists every DST change).
    return Timezone.from_tzid(tzid, first_date=date(year - 1, 1, 1),
                              last_date=date(year + 3, 1, 1))


def calendar_of(events: list[Event], office: Office, name: str | None = None,
                year: int | None = None) -> Calendar:
    """A VCALENDAR with the office's VTIMEZONE and `events` (its years from the first event,
    or from `year` when there are none)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if name:
        cal.add("name", name)
        cal.add("x-wr-calname", name)
        cal.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", FEED_REFRESH)
    cal.add("x-wr-timezone", office.timezone)
    first = min((e.decoded("dtstart").year for e in events), default=year)
    if first is None:
        raise ValueError("calendar_of: give the year of an empty calendar")
    cal.add_component(_vtimezone(office.timezone, first))
    for ev in events:
        cal.add_component(ev)
    return cal


# -- the staff feed ----------------------------------------------------------------------------


def feed_token(office_id: str, staff_token: str | None = None) -> str:
    """The read-only token of one office's feed, derived from the staff token (so rotating
    AMTSBOTE_API_TOKEN rotates every feed URL too)."""
    key = (staff_token if staff_token is not None else os.environ.get(TOKEN_ENV, "")).encode()
    return hmac.new(key, f"appointments.ics:{office_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _authorize(request: web.Request, office_id: str) -> None:
    staff = os.environ.get(TOKEN_ENV)
    if not staff:
        raise web.HTTPServiceUnavailable(
            text='{"error": "staff API disabled: set AMTSBOTE_API_TOKEN"}',
            content_type="application/json",
        )
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
    given = given if given is not None else request.query.get("token", "")
    ok = hmac.compare_digest(given.encode(), staff.encode())
    ok |= hmac.compare_digest(given.encode(), feed_token(office_id, staff).encode())
    if not ok:
        raise web.HTTPUnauthorized(
            text='{"error": "staff token missing or wrong"}', content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def appointments_ics(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    office_id = request.match_info["office"]
    _authorize(request, office_id)
    office = ctx.config.office(office_id)
    if office is None:
        raise web.HTTPNotFound(text='{"error": "unknown office"}', content_type="application/json")
    now = ctx.now()
    async with ctx.db() as session:
        rows = list(await session.scalars(
            select(Appointment)
            .where(Appointment.office_id == office.id, Appointment.status == "booked",
                   Appointment.end >= now - FEED_PAST)
            .order_by(Appointment.start, Appointment.id)
        ))
    lang = ctx.config.default_language
    level = personal_data_of(office)
    events = []
    for row in rows:
        service = ctx.config.service(row.service_id)
        events.append(appointment_event(
            to_view(row), office, service.name.get(lang) if service else row.service_id,
            personal_data=level, lang=lang,
        ))
    cal = calendar_of(events, office, name=t("calendar.feed.name", lang,
                                               office=office.name.get(lang)), year=now.year)
    body = cal.to_ical()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{office.id}-appointments.ics"'
    return web.Response(body=body, content_type="text/calendar", charset="utf-8",
                        headers=headers)


def feed_url(base_url: str, office_id: str) -> str:
    return f"{base_url.rstrip('/')}/api/v1/offices/{office_id}/appointments.ics" \
           f"?token={feed_token(office_id)}"


def main(argv: list[str]) -> int:
    """Print an office's feed URL: `python -m assistant.http.ics_feed OFFICE [--config PATH]`."""
    from assistant.config import load_config

    if not argv or not os.environ.get(TOKEN_ENV):
        print(f"usage: {TOKEN_ENV}=... python -m assistant.http.ics_feed OFFICE [CONFIG]",
              file=sys.stderr)
        return 2
    config = load_config(argv[1] if len(argv) > 1 else None)
    if config.office(argv[0]) is None:
        print(f"unknown office {argv[0]!r}", file=sys.stderr)
        return 1
    print(feed_url(config.server.base_url, argv[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
