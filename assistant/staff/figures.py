"""The county's figures (issue 16): per month, office and channel.

1. "Anteil der über das Tool gebuchten, geänderten und abgesagten Termine": the event log's
   `booked`, `rescheduled` and `cancelled` rows done through Amtsbote (a citizen's channel)
   against those done by staff (`actor: staff`, or the channels `phone`, `counter`, `staff`).
2. "Bearbeitungszeit je Buchung (Bürger/in, Verwaltung)": the citizen's minutes are the mean
   conversation time the event log holds for bookings through Amtsbote (None: not measured
   yet); the clerk's are the mean `duration_ms` of the audit's `booked`, `moved` and
   `cancelled` rows (on behalf, from opening the form to saving).

Beside them, from the visit steps of the month's appointments: the mean service time
(arrived → done) and the no-show rate (no-shows / (done + no-shows)). Months are calendar
months in the office's time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assistant.config import Office
from assistant.storage.models import Appointment, AuditEntry, Event

KINDS = ("booked", "rescheduled", "cancelled")  # the event log's words
STAFF_CHANNELS = ("phone", "counter", "staff")
CLERK_ACTIONS = ("booked", "moved", "cancelled")


@dataclass
class ChannelFigures:
    channel: str
    by_staff: bool
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    citizen_minutes: float | None = None  # mean conversation time of its bookings

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class OfficeFigures:
    office_id: str
    month: str  # YYYY-MM
    channels: list[ChannelFigures]
    citizen_minutes: float | None
    clerk_minutes: float | None
    service_minutes: float | None
    done: int
    no_shows: int

    def count(self, kind: str, by_staff: bool) -> int:
        return sum(c.counts[kind] for c in self.channels if c.by_staff == by_staff)

    def share(self, kind: str | None = None) -> float | None:
        """The share done through Amtsbote: of one kind, or of all three together."""
        kinds = KINDS if kind is None else (kind,)
        tool = sum(self.count(k, False) for k in kinds)
        staff = sum(self.count(k, True) for k in kinds)
        return tool / (tool + staff) if tool + staff else None

    @property
    def no_show_rate(self) -> float | None:
        seen = self.done + self.no_shows
        return self.no_shows / seen if seen else None


def month_bounds(office: Office, year: int, month: int) -> tuple[datetime, datetime]:
    frm = datetime(year, month, 1, tzinfo=office.tz)
    to = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=office.tz)
    return frm, to


def by_staff(channel: str, actor: str) -> bool:
    return actor == "staff" or channel in STAFF_CHANNELS


async def for_office(session: AsyncSession, office: Office, year: int, month: int
                     ) -> OfficeFigures:
    frm, to = month_bounds(office, year, month)
    events = (await session.execute(
        select(Event.channel, Event.actor, Event.kind, func.count(),
               func.sum(Event.conversation_seconds), func.count(Event.conversation_seconds))
        .where(Event.office_id == office.id, Event.kind.in_(KINDS), Event.at >= frm,
               Event.at < to)
        .group_by(Event.channel, Event.actor, Event.kind))).all()
    channels: dict[tuple[str, bool], ChannelFigures] = {}
    seconds: dict[tuple[str, bool], list[int]] = {}
    for channel, actor, kind, count, secs, measured in events:
        key = (channel, by_staff(channel, actor))
        row = channels.setdefault(key, ChannelFigures(channel, key[1]))
        row.counts[kind] += count
        if kind == "booked" and not key[1] and measured:
            pair = seconds.setdefault(key, [0, 0])
            pair[0] += int(secs)
            pair[1] += measured
    for key, (secs, n) in seconds.items():
        channels[key].citizen_minutes = secs / n / 60
    all_secs = sum(s for s, _ in seconds.values())
    all_n = sum(n for _, n in seconds.values())

    clerk_sum, clerk_n = (await session.execute(
        select(func.sum(AuditEntry.duration_ms), func.count(AuditEntry.duration_ms))
        .join(Appointment, Appointment.id == AuditEntry.appointment_id)
        .where(Appointment.office_id == office.id, AuditEntry.action.in_(CLERK_ACTIONS),
               AuditEntry.at >= frm, AuditEntry.at < to,
               AuditEntry.duration_ms.is_not(None)))).one()

    visits = (await session.execute(
        select(Appointment.arrived_at, Appointment.done_at, Appointment.no_show_at)
        .where(Appointment.office_id == office.id, Appointment.start >= frm,
               Appointment.start < to, Appointment.status != "cancelled",
               (Appointment.done_at.is_not(None)) | (Appointment.no_show_at.is_not(None))))
              ).all()
    served = [(done - arrived).total_seconds() for arrived, done, no_show in visits
              if done is not None and arrived is not None and no_show is None]
    done = sum(1 for _, d, n in visits if d is not None and n is None)
    no_shows = sum(1 for _, _, n in visits if n is not None)
    order = sorted(channels.values(), key=lambda c: (c.by_staff, -c.total, c.channel))
    return OfficeFigures(
        office_id=office.id, month=f"{year:04}-{month:02}", channels=order,
        citizen_minutes=all_secs / all_n / 60 if all_n else None,
        clerk_minutes=int(clerk_sum) / clerk_n / 60_000 if clerk_n else None,
        service_minutes=sum(served) / len(served) / 60 if served else None,
        done=done, no_shows=no_shows)
