"""ICS calendar backend `ics`: an office's busy times from read-only iCalendar feeds.

For closures, staff absences and recurring blocks published as an `.ics` URL (Nextcloud,
Outlook/Exchange "publish calendar", a groupware export). Each feed is fetched with aiohttp,
kept for `cache_seconds` and then re-validated with a conditional GET (ETag / Last-Modified),
so an unchanged feed costs one 304. Recurring events are expanded with recurring-ical-events.
Nothing is written (bookings stay in Amtsbote's database; staff can subscribe to the office's
appointments feed instead). Feeds, caches and conflict reports come from the core's
`busy_cache`, which the CalDAV backend uses for its `extra_ics` feeds too.

    calendar: {backend: ics, options: {url: "${MEISSEN_CLOSURES_ICS}", cache_seconds: 300}}
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.plugin import Plugin, busy_cache, hookimpl

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from assistant.plugin import AppointmentView, BusyInterval, Context, Office

log = logging.getLogger(__name__)


class IcsOptions(BaseModel):
    """`calendar.options` of an office with `backend: ics`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    url: busy_cache.FeedCfg | None = None
    feeds: list[busy_cache.FeedCfg] = Field(default_factory=list)
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
    def all_feeds(self) -> list[busy_cache.FeedCfg]:
        return ([self.url] if self.url else []) + list(self.feeds)


class IcsSettings(BaseModel):
    """`plugins.ics` in config.yml (optional)."""

    model_config = ConfigDict(extra="forbid")
    # Re-read feeds in the background when their cache time is over, so no citizen waits.
    background_refresh: bool = True


class Ics(Plugin):
    """The feeds of every office with `backend: ics`: one HTTP session, a cache per feed."""

    settings_model = IcsSettings
    settings: IcsSettings

    def __init__(self, name: str, settings: IcsSettings) -> None:
        super().__init__(name, settings)
        self._session: aiohttp.ClientSession | None = None
        self.caches: dict[str, list[busy_cache.BusyCache]] = {}  # by office id
        self._task: asyncio.Task[None] | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(auto_decompress=True)
        return self._session

    def _offices(self, ctx: Context) -> list[Office]:
        return [o for o in ctx.config.offices if o.calendar.backend == self.name]

    def office_caches(self, ctx: Context, office: Office) -> list[busy_cache.BusyCache]:
        """The busy-time caches of the office's feeds (built on first use)."""
        if office.id not in self.caches:
            opts: IcsOptions = busy_cache.office_options(office, IcsOptions, self.name)
            self.caches[office.id] = [
                busy_cache.feed_cache(
                    ctx, office, f, self._http(), cache_seconds=opts.cache_seconds,
                    retry_seconds=opts.retry_seconds, timeout=opts.timeout_seconds,
                    deadline=opts.read_deadline_seconds, max_bytes=opts.max_bytes)
                for f in opts.all_feeds
            ]
        return self.caches[office.id]

    def _all_caches(self) -> list[busy_cache.BusyCache]:
        return [c for cs in self.caches.values() for c in cs]

    @hookimpl
    def startup(self, ctx: Context) -> None:
        offices = self._offices(ctx)
        for office in offices:  # fail at start-up, not at the first citizen, on bad options
            self.office_caches(ctx, office)
        if offices and self.settings.background_refresh:
            self._task = asyncio.create_task(busy_cache.refresh_loop(
                self._all_caches, ctx, lambda c: c.ttl.total_seconds()),
                name="amtsbote-ics-refresh")

    @hookimpl
    async def shutdown(self, ctx: Context) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for cache in self._all_caches():
            await cache.close()
        self.caches.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @hookimpl
    def calendar_busy(self, ctx: Context, backend: str, office: Office, start: datetime,
                      end: datetime) -> Awaitable[list[BusyInterval]] | None:
        if backend != self.name:
            return None
        return busy_cache.busy_views(self.office_caches(ctx, office), ctx, office, start, end)

    # Read-only: bookings are not written to a feed.

    @hookimpl
    def calendar_create_event(self, ctx: Context, backend: str, office: Office,
                              appointment: AppointmentView) -> Awaitable[None] | None:
        return _nothing() if backend == self.name else None

    @hookimpl
    def calendar_update_event(self, ctx: Context, backend: str, office: Office,
                              appointment: AppointmentView) -> Awaitable[None] | None:
        return _nothing() if backend == self.name else None

    @hookimpl
    def calendar_delete_event(self, ctx: Context, backend: str, office: Office,
                              appointment: AppointmentView) -> Awaitable[None] | None:
        return _nothing() if backend == self.name else None


async def _nothing() -> None:
    return None
