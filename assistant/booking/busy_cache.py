"""Busy times read from external calendars: the library calendar backends share.

- `busy_of(calendar, ...)`: expand an iCalendar object (recurring events included, with
  recurring-ical-events) into busy intervals. Transparent ("free") and cancelled events, and the
  events Amtsbote wrote itself, are skipped; all-day events block whole days in the office's
  time zone. `merge_calendars` parses many objects (a CalDAV answer) in one go.
- `BusyCache`: one office source's busy times over the whole booking horizon, re-read after a
  TTL (by the context's clock), one read at a time. A citizen waits for a read at most
  `deadline` seconds (counted from the read's start); after that, and when the source cannot
  be read, the last busy times are served while the read goes on in the background, and a
  failed source is not asked again for `retry`. Never read yet: CalendarUnavailable, which the
  core takes as "no busy times". `refresh_loop` keeps the caches warm so no citizen waits;
  `busy_from` asks several caches of one office at once.
- Read-only iCalendar feeds (`FeedCfg`, `feed_cache`): an `.ics` URL fetched with aiohttp and
  re-validated with a conditional GET (ETag / Last-Modified), so an unchanged feed costs one
  304. The ICS backend reads only these; the CalDAV backend adds them as `extra_ics`.
- `report_conflicts`: an event read from a calendar that overlaps a booked appointment is
  reported once to staff (`staff_notice` kind `calendar_conflict`); nothing is moved or cancelled.
- `office_options` validates an office's `calendar.options` for a backend, worded for the IT
  admin; `redact` shortens a URL to what a log may show.

Plugins reach it as `from assistant.plugin import busy_cache`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import recurring_ical_events
from icalendar import Calendar
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select

from assistant.booking.icalendar import is_own_uid
from assistant.config import ConfigError, Office, require_env
from assistant.i18n import day, t, when
from assistant.storage.models import Appointment
from assistant.values import BusyInterval, CalendarUnavailable

if TYPE_CHECKING:
    from assistant.context import Context

log = logging.getLogger(__name__)
MARGIN = timedelta(days=1)
USER_AGENT = "Amtsbote calendar reader (+https://github.com/amtsbote)"


@dataclass(frozen=True)
class Busy:
    """A busy interval with the calendar entry it came from."""

    start: datetime  # aware, UTC
    end: datetime
    counter: int | None  # None: blocks every counter of the office
    summary: str
    uid: str

    def view(self) -> BusyInterval:
        return BusyInterval(start=self.start, end=self.end, counter=self.counter,
                            summary=self.summary)


def _aware(value: date | datetime, tz: tzinfo) -> datetime:
    if not isinstance(value, datetime):  # an all-day event: the whole local day
        return datetime.combine(value, time.min, tzinfo=tz).astimezone(UTC)
    if value.tzinfo is None:  # floating time: the office's local time
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def busy_of(cal: Calendar, start: datetime, end: datetime, tz: tzinfo,
            counter: int | None = None) -> list[Busy]:
    """Busy intervals of `cal` overlapping [start, end), recurring events expanded."""
    out: list[Busy] = []
    for ev in recurring_ical_events.of(cal, skip_bad_series=True).between(start, end):
        uid = str(ev.get("UID", ""))
        if is_own_uid(uid):
            continue
        if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(ev.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if "DTSTART" not in ev:
            continue
        s = _aware(ev.start, tz)
        try:
            e = _aware(ev.end, tz)
        except Exception:  # no DTEND/DURATION: RFC 5545 says "one day"/"instant"
            e = s + (timedelta(days=1) if not isinstance(ev.start, datetime) else timedelta(0))
        if e <= s:
            continue
        out.append(Busy(s, e, counter, str(ev.get("SUMMARY", "")), uid))
    return out


_COMPONENT = re.compile(r"^BEGIN:(VTIMEZONE|VEVENT)\r?$.*?^END:\1\r?$", re.M | re.S)
_TZID = re.compile(r"^TZID:(.*?)\r?$", re.M)


def merge_calendars(texts: Iterable[str]) -> Calendar:
    """Many VCALENDAR objects (as a CalDAV server returns them) as one calendar: every VEVENT,
    and each VTIMEZONE once (the same zone comes with every object; parsing it a thousand
    times costs more than the events). Lines are matched unfolded, as RFC 5545 guarantees for
    BEGIN/END lines."""
    texts = list(texts)
    zones: dict[str, str] = {}
    events: list[str] = []
    for text in texts:
        for m in _COMPONENT.finditer(text):
            if m.group(1) == "VEVENT":
                events.append(m.group(0))
            else:
                tzid = _TZID.search(m.group(0))
                zones.setdefault(tzid.group(1) if tzid else m.group(0), m.group(0))
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Amtsbote//merge//EN",
                         *zones.values(), *events, "END:VCALENDAR", ""])
    try:
        return Calendar.from_ical(body)
    except Exception:  # one broken object: parse them one by one and skip the broken ones
        merged, broken = Calendar(), 0
        for text in texts:
            try:
                for component in Calendar.from_ical(text).subcomponents:
                    merged.add_component(component)
            except Exception:
                broken += 1
        log.warning("%d calendar object(s) are not valid iCalendar and were skipped", broken)
        return merged


def overlapping(items: Iterable[Busy], start: datetime, end: datetime) -> list[Busy]:
    return [b for b in items if b.start < end and start < b.end]


Fetch = Callable[[datetime, datetime], Awaitable[list[Busy]]]
OnFresh = Callable[[list[Busy], datetime, datetime], Awaitable[None]]


class BusyCache:
    """Busy times of one source over [now - 1 day, now + horizon + 1 day], kept for `ttl`."""

    def __init__(self, name: str, fetch: Fetch, *, ttl: timedelta, retry: timedelta,
                 horizon: timedelta, deadline: float = 2.0, on_fresh: OnFresh | None = None,
                 source: object | None = None,
                 unchanged: Callable[[], Awaitable[bool]] | None = None) -> None:
        self.name = name  # for logs; never contains credentials
        self.source = source  # what `fetch` reads (for tests and the benchmark)
        self._unchanged = unchanged  # cheap "did anything change?" check, if the source has one
        self._fetch = fetch
        self.ttl = ttl
        self.retry = retry
        self.horizon = horizon
        self.deadline = deadline  # seconds a citizen waits for a read, from the read's start
        self._on_fresh = on_fresh
        self._reading: asyncio.Task[bool] | None = None  # the one read under way
        self._reading_since = 0.0  # loop time
        self._late_logged = False
        self.items: list[Busy] = []
        self.window: tuple[datetime, datetime] | None = None
        self.fetched_at: datetime | None = None
        self.failed_at: datetime | None = None
        self.fetches = 0  # full reads, for tests and the benchmark
        self.checks = 0  # cheap "unchanged" checks

    def _fresh(self, now: datetime) -> bool:
        return self.fetched_at is not None and now - self.fetched_at < self.ttl

    def start_refresh(self, now: datetime) -> asyncio.Task[bool] | None:
        """The read under way, or a new one (none while the source failed less than `retry`
        ago); it runs to its end whoever stops waiting for it."""
        if self._reading is not None and not self._reading.done():
            return self._reading
        if self.failed_at is not None and now - self.failed_at < self.retry:
            return None
        self._reading = asyncio.create_task(self._refresh(now), name=f"read {self.name}")
        self._reading_since = asyncio.get_running_loop().time()
        self._late_logged = False
        return self._reading

    async def refresh(self, now: datetime) -> bool:
        """Read the source now, or wait for the read under way; True on success."""
        task = self.start_refresh(now)
        return await asyncio.shield(task) if task is not None else False

    async def close(self) -> None:
        """Stop waiting for a read under way (at shutdown)."""
        if self._reading is not None:
            self._reading.cancel()
            await asyncio.gather(self._reading, return_exceptions=True)

    async def _refresh(self, now: datetime) -> bool:
        frm, to = now - MARGIN, now + self.horizon + MARGIN
        try:
            if await self._still_valid(now):
                items, (frm, to) = self.items, self.window  # type: ignore[misc]
            else:
                self.fetches += 1
                items = await self._fetch(frm, to)
        except Exception as exc:
            self.failed_at = now
            if not isinstance(exc, CalendarUnavailable):  # a bug: a citizen must not see it
                log.exception("calendar %s: read failed", self.name)
            elif self.window is None:
                log.warning("calendar %s unreadable and nothing cached: %s", self.name, exc)
            else:
                log.warning("calendar %s unreadable, using busy times read at %s: %s",
                            self.name, self.fetched_at, exc)
            return False
        self.items, self.window, self.fetched_at, self.failed_at = items, (frm, to), now, None
        if self._on_fresh is not None:
            try:
                await self._on_fresh(items, frm, to)
            except Exception:  # a failed notice must not hide the busy times
                log.exception("calendar %s: conflict check failed", self.name)
        return True

    async def _still_valid(self, now: datetime) -> bool:
        """The last read still holds: the source says nothing changed and the read window
        still reaches the end of the booking horizon."""
        if self._unchanged is None or self.window is None or self.failed_at is not None:
            return False
        if self.window[1] < now + self.horizon:
            return False
        self.checks += 1
        return await self._unchanged()

    async def get(self, now: datetime, start: datetime, end: datetime) -> list[Busy]:
        """Busy intervals overlapping [start, end) (as far as the read window reaches: the
        booking horizon); re-read first when stale, waiting until `deadline` seconds after
        the read's start at most. Raises CalendarUnavailable only when the source was never
        read."""
        task = None if self._fresh(now) else self.start_refresh(now)
        if task is not None and not task.done():
            left = self._reading_since + self.deadline - asyncio.get_running_loop().time()
            if left > 0:
                await asyncio.wait([task], timeout=left)
            if not task.done() and not self._late_logged:
                self._late_logged = True
                log.warning("calendar %s: no answer within %.1f s, %s (still reading)",
                            self.name, self.deadline,
                            f"using busy times read at {self.fetched_at}"
                            if self.window is not None else "nothing cached yet")
        if self.window is None:
            raise CalendarUnavailable(f"calendar {self.name} not readable yet")
        return overlapping(self.items, start, end)


async def refresh_loop(caches: Callable[[], Iterable[BusyCache]], ctx: Context,
                       every: Callable[[BusyCache], float]) -> None:
    """Keep caches warm: start a read of each one when its TTL is over (real time), forever;
    a source that does not answer delays no other."""
    last: dict[int, float] = {}
    loop = asyncio.get_running_loop()
    while True:
        for cache in list(caches()):
            if loop.time() - last.get(id(cache), float("-inf")) >= every(cache):
                last[id(cache)] = loop.time()
                cache.start_refresh(ctx.now())
        await asyncio.sleep(min((every(c) for c in caches()), default=60.0) / 4 or 0.05)


async def busy_from(caches: list[BusyCache], ctx: Context, office: Office, start: datetime,
                    end: datetime) -> list[Busy]:
    """Busy times from several caches; unreadable ones are skipped (and logged), unless none
    could ever be read, then CalendarUnavailable."""
    now = ctx.now()
    results = await asyncio.gather(*(c.get(now, start, end) for c in caches),
                                   return_exceptions=True)
    out: list[Busy] = []
    failures: list[BaseException] = []
    for cache, result in zip(caches, results, strict=True):
        if isinstance(result, CalendarUnavailable):
            failures.append(result)
            log.debug("calendar %s: %s", cache.name, result)  # the cache logged the failure
        elif isinstance(result, BaseException):
            raise result
        else:
            out.extend(result)
    if failures and len(failures) == len(caches):
        raise CalendarUnavailable(f"no calendar of {office.id} could be read")
    return out


# -- read-only iCalendar feeds ----------------------------------------------------------------


class FeedCfg(BaseModel):
    """One feed: its URL (put secret URLs in an environment variable: `${NAME}`), the counter
    it blocks (none: every counter) and optional Basic-auth credentials from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field(pattern=r"^https?://")
    counter: int | None = Field(default=None, ge=1)
    username_env: str | None = None
    password_env: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_url(cls, value: Any) -> Any:
        return {"url": value} if isinstance(value, str) else value

    def auth(self) -> aiohttp.BasicAuth | None:
        if not self.username_env:
            return None
        return aiohttp.BasicAuth(require_env(self.username_env),
                                 require_env(self.password_env or ""))


def redact(url: str) -> str:
    """Scheme and host only: feed URLs often carry a secret token in the path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/…"


def office_options(office: Office, model: type[BaseModel], backend: str) -> Any:
    """Validate `office.calendar.options` with `model`, worded for the IT admin."""
    try:
        return model.model_validate(office.calendar.options)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = "unknown key (check the spelling)" if err["type"] == "extra_forbidden" \
            else err["msg"].removeprefix("Value error, ")
        raise ConfigError(
            f"office {office.id}: calendar.options{'.' + key if key else ''} "
            f"(backend {backend}): {msg}"
        ) from None


@dataclass
class FeedSource:
    """A feed URL with the last parsed calendar and its validators for conditional GETs."""

    cfg: FeedCfg
    session: aiohttp.ClientSession
    office: Office
    timeout: float
    max_bytes: int
    calendar: Calendar | None = None
    etag: str | None = None
    last_modified: str | None = None
    requests: int = 0
    not_modified: int = 0
    _auth: aiohttp.BasicAuth | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._auth = self.cfg.auth()

    @property
    def name(self) -> str:
        return f"{self.office.id} ics {redact(self.cfg.url)}"

    async def fetch(self, frm: datetime, to: datetime) -> list[Busy]:
        headers = {"User-Agent": USER_AGENT, "Accept": "text/calendar"}
        if self.calendar is not None:
            if self.etag:
                headers["If-None-Match"] = self.etag
            if self.last_modified:
                headers["If-Modified-Since"] = self.last_modified
        try:
            async with self.session.get(
                self.cfg.url, headers=headers, auth=self._auth,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                self.requests += 1
                if resp.status == 304 and self.calendar is not None:
                    self.not_modified += 1
                elif resp.status == 200:
                    body = await self._read(resp)
                    self.calendar = await asyncio.to_thread(Calendar.from_ical, body)
                    self.etag = resp.headers.get("ETag")
                    self.last_modified = resp.headers.get("Last-Modified")
                else:
                    raise CalendarUnavailable(f"{redact(self.cfg.url)} answered HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CalendarUnavailable(f"{redact(self.cfg.url)}: {type(exc).__name__}") from None
        except (ValueError, KeyError, IndexError, TypeError) as exc:  # not iCalendar
            text = f"{redact(self.cfg.url)}: not an iCalendar feed ({type(exc).__name__}: {exc})"
            raise CalendarUnavailable(text[:300]) from None
        assert self.calendar is not None
        try:
            return await asyncio.to_thread(busy_of, self.calendar, frm, to, self.office.tz,
                                           self.cfg.counter)
        except Exception as exc:  # a broken recurrence rule and the like
            self.calendar = self.etag = self.last_modified = None  # fetch in full next time
            raise CalendarUnavailable(
                f"{redact(self.cfg.url)}: entries cannot be read ({type(exc).__name__})") from None

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        too_big = f"{redact(self.cfg.url)}: feed larger than {self.max_bytes} bytes"
        if (resp.content_length or 0) > self.max_bytes:
            raise CalendarUnavailable(too_big)
        body = bytearray()
        async for chunk in resp.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > self.max_bytes:
                raise CalendarUnavailable(too_big)
        return bytes(body)


def feed_cache(ctx: Context, office: Office, cfg: FeedCfg, session: aiohttp.ClientSession, *,
               cache_seconds: float, retry_seconds: float, timeout: float, deadline: float,
               max_bytes: int) -> BusyCache:
    """A busy-time cache over one feed, reporting clashes with bookings to staff."""
    source = FeedSource(cfg, session, office, timeout, max_bytes)

    async def on_fresh(items: list[Busy], frm: datetime, to: datetime) -> None:
        await report_conflicts(ctx, office, items, frm, to)

    cache = BusyCache(source.name, source.fetch, ttl=timedelta(seconds=cache_seconds),
                      retry=timedelta(seconds=retry_seconds),
                      horizon=timedelta(days=ctx.config.booking.horizon_days), deadline=deadline,
                      on_fresh=on_fresh, source=source)
    return cache


# -- conflicts with bookings -------------------------------------------------------------------

STATE_PLUGIN = "calendar"


def span(b: Busy, tz: tzinfo, lang: str) -> str:
    """`Donnerstag, 26. November 2026` for all-day entries, else start and end time."""
    start, end = b.start.astimezone(tz), b.end.astimezone(tz)
    if start.time() == end.time() == time.min:
        last = (end - timedelta(days=1)).date()
        first = day(start.date(), lang)
        return first if last == start.date() else f"{first} – {day(last, lang)}"
    if start.date() == end.date():
        return f"{when(start, lang)} – {end:%H:%M}"
    return f"{when(start, lang)} – {when(end, lang)}"


async def report_conflicts(ctx: Context, office: Office, items: list[Busy], frm: datetime,
                           to: datetime) -> int:
    """Tell staff about every booked future appointment that a calendar entry now overlaps
    (once per appointment, entry and time); return how many new conflicts were reported."""
    now = ctx.now()
    if not items:
        return 0
    async with ctx.db() as session:
        booked = list(await session.scalars(
            select(Appointment).where(
                Appointment.office_id == office.id, Appointment.status == "booked",
                Appointment.start < to, Appointment.end > max(frm, now),
            )
        ))
    if not booked:
        return 0
    key = f"conflicts:{office.id}"
    seen: dict[str, Any] = (await ctx.get_state(STATE_PLUGIN, key) or {}).get("seen", {})
    seen = {k: v for k, v in seen.items() if datetime.fromisoformat(v) > now}
    lang = ctx.config.default_language
    tz = office.tz
    new = 0
    for a in booked:
        for b in items:
            if not (b.start < a.end and a.start < b.end):
                continue
            if b.counter is not None and b.counter != a.counter:
                continue
            mark = f"{a.reference}|{b.uid}|{b.start.isoformat()}"
            if mark in seen:
                continue
            seen[mark] = a.end.isoformat()
            service = ctx.config.service(a.service_id)
            text = t(
                "calendar.conflict", lang, office=office.name.get(lang),
                reference=f"{a.reference[:3]}-{a.reference[3:]}",
                service=service.name.get(lang) if service else a.service_id,
                when=when(a.start.astimezone(tz), lang), counter=a.counter,
                event=b.summary or t("calendar.conflict_untitled", lang),
                event_when=span(b, tz, lang),
            )
            log.warning("calendar conflict at %s: appointment %s overlaps entry %s",
                        office.id, a.id, b.uid)
            await ctx.call_all("staff_notice", ctx=ctx, office=office, kind="calendar_conflict",
                               text=text)
            new += 1
    await ctx.set_state(STATE_PLUGIN, key, {"seen": seen})
    return new


async def busy_views(caches: list[BusyCache], ctx: Context, office: Office, start: datetime,
                     end: datetime) -> list[BusyInterval]:
    """`busy_from` as the value objects the core's `calendar_busy` hook returns."""
    return [b.view() for b in await busy_from(caches, ctx, office, start, end)]
