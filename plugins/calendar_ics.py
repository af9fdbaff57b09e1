"""ICS calendar backend: an office's busy times from read-only iCalendar feeds.

For closures, staff absences and recurring blocks published as an `.ics` URL (Nextcloud,
Outlook/Exchange "publish calendar", a groupware export). Each feed is fetched with aiohttp,
kept for `cache_seconds` and then re-validated with a conditional GET (ETag / Last-Modified),
so an unchanged feed costs one 304. Recurring events are expanded with recurring-ical-events.
Nothing is written (bookings stay in Amtsbote's database; staff can subscribe to the office's
appointments feed instead). The CalDAV backend reuses `feed_cache` for its `extra_ics` feeds.

    calendar: {backend: ics, options: {url: "${MEISSEN_CLOSURES_ICS}", cache_seconds: 300}}
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from icalendar import Calendar
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.plugin import CalendarUnavailable, ConfigError, hookimpl, require_env
from plugins.calendar_cache import Busy, BusyCache, busy_of, refresh_loop, report_conflicts

if TYPE_CHECKING:
    from assistant.plugin import AppointmentView, BusyInterval, Context, Office

NAME = "ics"
log = logging.getLogger(__name__)
USER_AGENT = "Amtsbote calendar reader (+https://github.com/amtsbote)"


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


class IcsOptions(BaseModel):
    """`calendar.options` of an office with `backend: ics`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: FeedCfg | None = None
    feeds: list[FeedCfg] = Field(default_factory=list)
    cache_seconds: float = Field(default=300, ge=0)
    retry_seconds: float = Field(default=60, ge=0)
    timeout_seconds: float = Field(default=10, gt=0)
    read_deadline_seconds: float = Field(default=2, gt=0)  # a citizen's wait for a re-read
    max_bytes: int = Field(default=5_000_000, ge=1000)

    @model_validator(mode="after")
    def _some_feed(self) -> IcsOptions:
        if self.url is None and not self.feeds:
            raise ValueError("give the feed as `url` (or several as `feeds`)")
        return self

    @property
    def all_feeds(self) -> list[FeedCfg]:
        return ([self.url] if self.url else []) + list(self.feeds)


class IcsSettings(BaseModel):
    """`plugins.ics` in config.yml (optional)."""

    model_config = ConfigDict(extra="forbid")
    # Re-read feeds in the background when their cache time is over, so no citizen waits.
    background_refresh: bool = True


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


# -- one feed ----------------------------------------------------------------------------------


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


# -- the plugin --------------------------------------------------------------------------------


@dataclass
class Runtime:
    session: aiohttp.ClientSession | None = None
    caches: dict[str, list[BusyCache]] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    def http(self) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(auto_decompress=True)
        return self.session


_RUNTIMES: dict[int, Runtime] = {}


def _runtime(ctx: Context) -> Runtime:
    return _RUNTIMES.setdefault(id(ctx), Runtime())


def _offices(ctx: Context) -> list[Office]:
    return [o for o in ctx.config.offices if o.calendar.backend == NAME]


def _caches(ctx: Context, office: Office) -> list[BusyCache]:
    rt = _runtime(ctx)
    if office.id not in rt.caches:
        opts: IcsOptions = office_options(office, IcsOptions, NAME)
        rt.caches[office.id] = [
            feed_cache(ctx, office, f, rt.http(), cache_seconds=opts.cache_seconds,
                       retry_seconds=opts.retry_seconds, timeout=opts.timeout_seconds,
                       deadline=opts.read_deadline_seconds, max_bytes=opts.max_bytes)
            for f in opts.all_feeds
        ]
    return rt.caches[office.id]


@hookimpl
def plugin_settings(name: str) -> type[BaseModel] | None:
    return IcsSettings if name == NAME else None


@hookimpl
def startup(ctx: Context):  # type: ignore[no-untyped-def]
    offices = _offices(ctx)
    if not offices:
        return None

    async def start() -> None:
        for office in offices:  # fail at start-up, not at the first citizen, on bad options
            _caches(ctx, office)
        settings: IcsSettings = ctx.settings(NAME) or IcsSettings()
        if settings.background_refresh:
            rt = _runtime(ctx)
            rt.task = asyncio.create_task(refresh_loop(
                lambda: [c for cs in rt.caches.values() for c in cs], ctx,
                lambda c: c.ttl.total_seconds()), name="amtsbote-ics-refresh")

    return start()


@hookimpl
def shutdown(ctx: Context):  # type: ignore[no-untyped-def]
    rt = _RUNTIMES.pop(id(ctx), None)
    if rt is None:
        return None

    async def stop() -> None:
        if rt.task is not None:
            rt.task.cancel()
            await asyncio.gather(rt.task, return_exceptions=True)
        for cache in (c for cs in rt.caches.values() for c in cs):
            await cache.close()
        if rt.session is not None:
            await rt.session.close()

    return stop()


@hookimpl
def calendar_busy(ctx: Context, backend: str, office: Office, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    if backend != NAME:
        return None

    async def busy() -> list[BusyInterval]:
        return [b.view() for b in await busy_from(_caches(ctx, office), ctx, office, start, end)]

    return busy()


async def _read_only() -> None:
    return None


@hookimpl
def calendar_create_event(ctx: Context, backend: str, office: Office, appointment: AppointmentView):  # type: ignore[no-untyped-def]
    return _read_only() if backend == NAME else None


@hookimpl
def calendar_update_event(ctx: Context, backend: str, office: Office, appointment: AppointmentView):  # type: ignore[no-untyped-def]
    return _read_only() if backend == NAME else None


@hookimpl
def calendar_delete_event(ctx: Context, backend: str, office: Office, appointment: AppointmentView):  # type: ignore[no-untyped-def]
    return _read_only() if backend == NAME else None


@hookimpl
def message_catalogs() -> list[Path]:
    """The calendar conflict notices (shared with the caldav plugin)."""
    return sorted(Path(__file__).with_name("locales").glob("calendar.*.po"))
