"""CalDAV calendar backend: read busy times from, and write bookings to, an office's calendar
on any standard CalDAV server (Nextcloud, SOGo, Open-Xchange, Radicale, an Exchange bridge).

- Busy times: a time-range event search (REPORT calendar-query) over the booking horizon;
  recurring events expanded, cached (`cache_seconds`) and kept warm in the background by the
  core's `busy_cache`, which the ICS backend shares (and which reads the `extra_ics` feeds).
  A refresh first asks what changed (sync-collection): when only Amtsbote's own events did,
  the calendar is not read again. Events Amtsbote wrote (UID `<reference>@amtsbote`), free
  (TRANSP:TRANSPARENT) and cancelled events do not block. When the server is down, or does
  not answer within `read_deadline_seconds`, the last busy times are used. An entry that
  overlaps a booking is reported to staff, never resolved silently.
- Writes (called from the core's persistent outbox, retried until the server is back): each
  booking is one VEVENT at `<calendar>/amtsbote-<reference>.ics`; PUT to that fixed name is
  create-or-update, so a retried create never duplicates. A reschedule moves it (and from one
  counter's calendar to another if needed), a cancellation deletes it or marks it CANCELLED.
- One calendar for the office (`calendar`), or one per counter (`counters`), or both: entries
  in the office calendar block every counter, entries in a counter's calendar only that one.

The `caldav` library is synchronous: its calls run in a thread of their own, one at a time per
connection. Each office has two connections, one for reading busy times and one for the outbox's
writes, so a citizen's read never queues behind a write that waits for its timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urljoin

import aiohttp
import caldav
from caldav.elements import cdav, dav
from caldav.lib import error as caldav_error
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.plugin import (
    CalendarUnavailable,
    Config,
    ConfigError,
    Plugin,
    appointment_event,
    busy_cache,
    calendar_of,
    command_context,
    event_uid,
    hookimpl,
    load_config,
    require_env,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from assistant.plugin import AppointmentView, BusyInterval, Context, Office

NAME = "caldav"
CALENDAR_DATA = "{urn:ietf:params:xml:ns:caldav}calendar-data"
SYNC_TOKEN = "{DAV:}sync-token"
log = logging.getLogger(__name__)
T = TypeVar("T")


class CalendarWriteError(Exception):
    """The CalDAV server refused a write; the outbox retries it later."""


class CaldavOptions(BaseModel):
    """`calendar.options` of an office with `backend: caldav`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # The server (or principal) URL; without `calendar` and `counters`, the calendar's own URL.
    url: str = Field(pattern=r"^https?://")
    # The office calendar: its display name, or its URL (absolute or a path on the server).
    calendar: str | None = None
    # One calendar per counter (counter number -> display name or URL).
    counters: dict[int, str] = Field(default_factory=dict)
    # Credentials: the user name (or the variable holding it) and the variable of the password.
    username: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    # What of the citizen goes into the event: none (reference, service), name, full (+contact).
    personal_data: Literal["none", "name", "full"] = "none"
    # On cancellation: remove the event, or keep it marked STATUS:CANCELLED.
    on_cancel: Literal["delete", "mark_cancelled"] = "delete"
    cache_seconds: float = Field(default=60, ge=0)
    retry_seconds: float = Field(default=30, ge=0)
    timeout_seconds: float = Field(default=10, gt=0)
    # How long a citizen's reply waits for a re-read of stale busy times before it uses them.
    read_deadline_seconds: float = Field(default=2, gt=0)
    # Check the server's TLS certificate; a path names the CA bundle of an internal CA.
    verify_tls: bool | str = True
    # Read-only iCalendar feeds blocking this office too (closures, absences).
    extra_ics: list[busy_cache.FeedCfg] = Field(default_factory=list)
    extra_ics_cache_seconds: float = Field(default=300, ge=0)

    @model_validator(mode="after")
    def _credentials(self) -> CaldavOptions:
        if self.username and self.username_env:
            raise ValueError("give either username or username_env, not both")
        if any(c < 1 for c in self.counters):
            raise ValueError("counters are numbered from 1")
        return self

    def targets(self) -> dict[int | None, str]:
        """Calendar references by counter (None: the office calendar; "" means `url`)."""
        out: dict[int | None, str] = {}
        if self.calendar is not None or not self.counters:
            out[None] = self.calendar or ""
        out.update(self.counters)
        return out


class CaldavSettings(BaseModel):
    """`plugins.caldav` in config.yml (optional)."""

    model_config = ConfigDict(extra="forbid")
    # Re-read calendars in the background when their cache time is over, so no citizen waits
    # for the calendar server and conflicts with bookings are noticed without any traffic.
    background_refresh: bool = True


def resource_name(reference: str) -> str:
    return f"amtsbote-{reference}.ics"


def _options(office: Office) -> CaldavOptions:
    opts: CaldavOptions = busy_cache.office_options(office, CaldavOptions, NAME)
    missing = [c for c in range(1, office.counters + 1) if c not in opts.counters]
    if None not in opts.targets() and missing:
        raise ConfigError(
            f"office {office.id}: calendar.options.counters has no calendar for counter(s) "
            f"{', '.join(map(str, missing))}; add them or set `calendar` for the whole office"
        )
    if any(c > office.counters for c in opts.counters):
        raise ConfigError(f"office {office.id}: calendar.options.counters names a counter "
                          f"above the office's {office.counters}")
    for name in (opts.username_env, opts.password_env):
        if name:
            require_env(name)
    return opts


# -- the server --------------------------------------------------------------------------------


class Connection:
    """The CalDAV calendars of one office. The synchronous methods run through `run` in the
    connection's own thread, one at a time (a DAVClient is not meant for parallel use; and a
    server that hangs holds this thread only, none another office or the core needs)."""

    def __init__(self, office: Office, opts: CaldavOptions) -> None:
        self.office = office
        self.opts = opts
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caldav")
        self.host = busy_cache.redact(opts.url)
        self._client: caldav.DAVClient | None = None
        self._calendars: dict[int | None, Any] = {}
        self._tokens: dict[int | None, str] | None = None  # sync tokens as of the last read

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, partial(fn, *args))

    def close(self) -> None:
        """Drop queued calls; a call under way ends with its timeout."""
        self._thread.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.close()

    def _dav(self) -> caldav.DAVClient:
        if self._client is None:
            o = self.opts
            username = o.username or (require_env(o.username_env) if o.username_env else None)
            password = require_env(o.password_env) if o.password_env else None
            self._client = caldav.DAVClient(
                url=o.url, username=username, password=password, timeout=o.timeout_seconds,
                ssl_verify_cert=o.verify_tls, enable_rfc6764=False,
            )
        return self._client

    def calendar(self, key: int | None) -> Any:
        if key not in self._calendars:
            ref = self.opts.targets()[key]
            client = self._dav()
            if not ref:
                cal = client.calendar(url=self.opts.url)
            elif ref.startswith(("http://", "https://", "/")):
                cal = client.calendar(url=urljoin(self.opts.url, ref))
            else:
                cal = client.principal().calendar(name=ref)
            self._calendars[key] = cal
        return self._calendars[key]

    # reading
    def read(self, frm: datetime, to: datetime) -> list[busy_cache.Busy]:
        """One calendar-query REPORT per calendar for the events overlapping [frm, to); the
        objects are merged into one VCALENDAR (each VTIMEZONE once) and parsed in one go,
        which is several times faster than parsing thousands of objects one by one."""
        tokens = self._sync_tokens()  # before reading: a change during the read shows next time
        out: list[busy_cache.Busy] = []
        for key in self.opts.targets():
            texts = self.report(key, frm, to)
            out.extend(busy_cache.busy_of(busy_cache.merge_calendars(texts), frm, to,
                                          self.office.tz, key))
        self._tokens = tokens
        return out

    def _sync_tokens(self) -> dict[int | None, str] | None:
        tokens = {}
        for key in self.opts.targets():
            token = self.calendar(key).get_properties([dav.SyncToken()]).get(SYNC_TOKEN)
            if not token:
                return None  # the server cannot tell what changed: always read in full
            tokens[key] = str(token)
        return tokens

    def unchanged(self) -> bool:
        """True when nothing but Amtsbote's own events changed since the last read: one
        sync-collection REPORT (RFC 6578) per calendar, listing only the changed names."""
        if self._tokens is None:
            return False
        new = {}
        for key, token in self._tokens.items():
            query = dav.SyncCollection() + dav.SyncToken(value=token) + dav.SyncLevel(value="1") \
                + (dav.Prop() + dav.GetEtag())
            body = etree.tostring(query.xmlelement(), encoding="utf-8", xml_declaration=True)
            r = self._dav().report(str(self.calendar(key).url), body.decode(), depth=0)
            if r.status != 207 or r.tree is None:
                return False  # e.g. 403/409 valid-sync-token: the token expired, read in full
            hrefs = [h.text or "" for h in r.tree.iter("{DAV:}href")]
            if any(not h.rstrip("/").rsplit("/", 1)[-1].startswith("amtsbote-") for h in hrefs):
                return False
            token_el = r.tree.find(SYNC_TOKEN)
            if token_el is None or not token_el.text:
                return False
            new[key] = token_el.text
        self._tokens = new
        return True

    def report(self, key: int | None, frm: datetime, to: datetime) -> list[str]:
        """The iCalendar texts of the events in calendar `key` overlapping [frm, to)."""
        prop = dav.Prop() + cdav.CalendarData()
        events = cdav.CompFilter("VEVENT") + cdav.TimeRange(frm, to)
        query = cdav.CalendarQuery() + prop + (cdav.Filter() + (cdav.CompFilter("VCALENDAR")
                                                                + events))
        body = etree.tostring(query.xmlelement(), encoding="utf-8", xml_declaration=True)
        r = self._dav().report(str(self.calendar(key).url), body.decode(), depth=1)
        if r.status != 207 or r.tree is None:
            raise CalendarUnavailable(f"{self.host}: REPORT answered HTTP {r.status}")
        return [el.text for el in r.tree.iter(CALENDAR_DATA) if el.text]

    async def aread(self, frm: datetime, to: datetime) -> list[busy_cache.Busy]:
        return await self._unreadable_on_error(self.read, frm, to)

    async def aunchanged(self) -> bool:
        return await self._unreadable_on_error(self.unchanged)

    async def _unreadable_on_error(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self.run(fn, *args)
        except CalendarUnavailable:
            raise
        except Exception as exc:  # network, HTTP, XML, iCalendar, login: all "unreadable"
            raise CalendarUnavailable(f"{self.host}: {_describe(exc)}") from None

    # writing
    def put(self, counter: int, reference: str, ics: str) -> None:
        targets = self.opts.targets()
        key = counter if counter in self.opts.counters else None
        self._put(self.calendar(key), reference, ics)
        for other in targets:
            if other != key:  # moved to another counter: not in the old counter's calendar
                self._remove(self.calendar(other), reference, search=False)

    def remove(self, reference: str) -> None:
        for key in self.opts.targets():
            self._remove(self.calendar(key), reference, search=True)

    def _put(self, cal: Any, reference: str, ics: str) -> None:
        client = self._dav()
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        r = client.put(str(cal.url.join(resource_name(reference))), ics, headers)
        if r.status in (200, 201, 204):
            return
        if r.status in (409, 412):  # the UID exists under another name (moved by a client)
            existing = self._find(cal, reference)
            if existing is not None:
                r = client.put(str(existing.url), ics, headers)
                if r.status in (200, 201, 204):
                    return
        raise CalendarWriteError(f"PUT {reference} on {self.host}: HTTP {r.status}")

    def _remove(self, cal: Any, reference: str, *, search: bool) -> None:
        client = self._dav()
        r = client.delete(str(cal.url.join(resource_name(reference))))
        if r.status in (200, 202, 204):
            return
        if r.status == 404:
            existing = self._find(cal, reference) if search else None
            if existing is not None:
                r = client.delete(str(existing.url))
                if r.status in (200, 202, 204, 404):
                    return
            else:
                return
        raise CalendarWriteError(f"DELETE {reference} on {self.host}: HTTP {r.status}")

    def _find(self, cal: Any, reference: str) -> Any:
        try:
            return cal.get_event_by_uid(event_uid(reference))
        except caldav_error.NotFoundError:
            return None


def _describe(exc: BaseException) -> str:
    """A short error text without URLs' paths or credentials."""
    if isinstance(exc, caldav_error.AuthorizationError):
        return "login refused (check username/password variables)"
    if isinstance(exc, caldav_error.NotFoundError):
        return "calendar not found (check `calendar` / `counters`)"
    if isinstance(exc, ConfigError):  # names a missing variable, never a value
        return str(exc)
    return type(exc).__name__


# -- the plugin --------------------------------------------------------------------------------


@dataclass
class OfficeRuntime:
    connection: Connection  # reads busy times (the first cache)
    writer: Connection  # the outbox's writes
    caches: list[busy_cache.BusyCache]


def check(config: Config, now: datetime) -> tuple[bool, list[str]]:
    """Read every CalDAV office calendar once (the 14 days from `now`): a line per office."""
    ok, lines = True, []
    for office in [o for o in config.offices if o.calendar.backend == NAME]:
        host = "?"
        try:
            opts = _options(office)
            conn = Connection(office, opts)
            host = conn.host
            busy = conn.read(now, now + timedelta(days=14))
            conn.close()
            lines.append(f"{office.id}: ok – {len(opts.targets())} calendar(s) on {host}, "
                         f"{len(busy)} busy entries in the next 14 days")
        except (ConfigError, CalendarUnavailable) as exc:
            ok = False
            lines.append(f"{office.id}: FAILED – {exc}")
        except Exception as exc:  # what the admin needs to know, without secrets
            ok = False
            lines.append(f"{office.id}: FAILED – {host}: {_describe(exc)}")
    return ok, lines or ["no office uses the caldav backend"]


def _check_command(args: argparse.Namespace) -> int:
    config = load_config(args.config)

    async def run() -> tuple[bool, list[str]]:
        async with command_context(config) as ctx:
            return await asyncio.to_thread(check, config, ctx.now())

    ok, lines = asyncio.run(run())
    print("\n".join(lines))
    return 0 if ok else 1


class Caldav(Plugin):
    """The CalDAV calendars of every office with `backend: caldav`: per office two connections
    and the busy-time caches (the calendar's, and one per `extra_ics` feed)."""

    settings_model = CaldavSettings
    settings: CaldavSettings

    def __init__(self, name: str, settings: CaldavSettings) -> None:
        super().__init__(name, settings)
        self.offices: dict[str, OfficeRuntime] = {}  # by office id
        self._session: aiohttp.ClientSession | None = None  # for `extra_ics` feeds
        self._task: asyncio.Task[None] | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def caches(self) -> list[busy_cache.BusyCache]:
        return [c for o in self.offices.values() for c in o.caches]

    def office_runtime(self, ctx: Context, office: Office) -> OfficeRuntime:
        """The connections and busy-time caches of a CalDAV office (built on first use)."""
        if office.id not in self.offices:
            opts = _options(office)
            conn = Connection(office, opts)

            async def on_fresh(items: list[busy_cache.Busy], frm: datetime, to: datetime) -> None:
                await busy_cache.report_conflicts(ctx, office, items, frm, to)

            horizon = timedelta(days=ctx.config.booking.horizon_days)
            caches = [busy_cache.BusyCache(
                f"{office.id} caldav {conn.host}", conn.aread,
                ttl=timedelta(seconds=opts.cache_seconds),
                retry=timedelta(seconds=opts.retry_seconds), horizon=horizon,
                deadline=opts.read_deadline_seconds, on_fresh=on_fresh, source=conn,
                unchanged=conn.aunchanged)]
            caches += [busy_cache.feed_cache(
                ctx, office, f, self._http(), cache_seconds=opts.extra_ics_cache_seconds,
                retry_seconds=opts.retry_seconds, timeout=opts.timeout_seconds,
                deadline=opts.read_deadline_seconds, max_bytes=5_000_000)
                for f in opts.extra_ics]
            self.offices[office.id] = OfficeRuntime(conn, Connection(office, opts), caches)
        return self.offices[office.id]

    @hookimpl
    def register_commands(self, subparsers: argparse._SubParsersAction) -> None:
        parser = subparsers.add_parser(
            "caldav-check", help="read each office's CalDAV calendar once and say what is wrong")
        parser.set_defaults(func=_check_command)

    @hookimpl
    def startup(self, ctx: Context) -> None:
        offices = [o for o in ctx.config.offices if o.calendar.backend == self.name]
        for office in offices:  # bad options fail at start-up; the server is not contacted
            self.office_runtime(ctx, office)
        if offices and self.settings.background_refresh:
            self._task = asyncio.create_task(
                busy_cache.refresh_loop(self.caches, ctx, lambda c: c.ttl.total_seconds()),
                name="amtsbote-caldav-refresh")

    @hookimpl
    async def shutdown(self, ctx: Context) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        offices, self.offices = self.offices, {}
        for o in offices.values():
            for cache in o.caches:
                await cache.close()
            o.connection.close()
            o.writer.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @hookimpl
    def calendar_busy(self, ctx: Context, backend: str, office: Office, start: datetime,
                      end: datetime) -> Awaitable[list[BusyInterval]] | None:
        if backend != self.name:
            return None
        return busy_cache.busy_views(self.office_runtime(ctx, office).caches, ctx, office,
                                     start, end)

    async def _write(self, ctx: Context, office: Office, a: AppointmentView, op: str) -> None:
        """Make the office calendar match the appointment as it is now in the database (the
        outbox may run an old `create` after a reschedule or cancellation: it then writes the
        current state, never a stale one)."""
        conn = self.office_runtime(ctx, office).writer
        cancelled = op == "delete" or a.status == "cancelled"
        try:
            if cancelled and conn.opts.on_cancel == "delete":
                await conn.run(conn.remove, a.reference)
                return
            lang = ctx.config.default_language
            service = ctx.config.service(a.service)
            event = appointment_event(a, office,
                                      service.name.get(lang) if service else a.service,
                                      personal_data=conn.opts.personal_data, lang=lang,
                                      cancelled=cancelled)
            ics = calendar_of([event], office).to_ical().decode()
            await conn.run(conn.put, a.counter, a.reference, ics)
        except (CalendarWriteError, ConfigError):
            raise
        except Exception as exc:  # retried by the outbox; say what, not where
            raise CalendarWriteError(f"{conn.host}: {_describe(exc)}") from None

    @hookimpl
    def calendar_create_event(self, ctx: Context, backend: str, office: Office,
                              appointment: AppointmentView) -> Awaitable[None] | None:
        return self._write(ctx, office, appointment, "create") if backend == self.name else None

    @hookimpl
    def calendar_update_event(self, ctx: Context, backend: str, office: Office,
                              appointment: AppointmentView) -> Awaitable[None] | None:
        return self._write(ctx, office, appointment, "update") if backend == self.name else None

    @hookimpl
    def calendar_delete_event(self, ctx: Context, backend: str, office: Office,
                              appointment: AppointmentView) -> Awaitable[None] | None:
        return self._write(ctx, office, appointment, "delete") if backend == self.name else None
