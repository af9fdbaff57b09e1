"""Appointments as iCalendar: the one builder of the staff calendar entries Amtsbote writes.

- `appointment_event`: the VEVENT for a booking (UID `<reference>@amtsbote`, times in the
  office's time zone), with as much personal data as the office allows (`personal_data_of`).
- `calendar_of`: a VCALENDAR of such events with the office's VTIMEZONE.
- `event_uid` / `is_own_uid`: the UID of a booking's event, and whether an event read from a
  calendar is one Amtsbote wrote (those are in the database already).

The CalDAV backend writes exactly these events and the staff feed
(`assistant/http/ics_feed.py`) serves them, so staff see the same entry everywhere.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from functools import lru_cache
from typing import Literal

from icalendar import Calendar, Event, Timezone

from assistant.config import Office
from assistant.i18n import t
from assistant.values import AppointmentView

UID_SUFFIX = "@amtsbote"
PRODID = "-//Amtsbote//Amtsbote//DE"
PersonalData = Literal["none", "name", "full"]
PERSONAL_DATA_LEVELS = ("none", "name", "full")
FEED_REFRESH = timedelta(minutes=15)  # how often a subscribed (named) calendar is re-read


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
    year = min(max(year, 1971), 9995)  # any stored year renders (old data, imports)
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
