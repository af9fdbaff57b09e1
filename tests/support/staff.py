"""The back-office tests' helpers: accounts, a browser-like HTTP client with its own cookies,
and bookings at given times (tests/test_staff_*.py)."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from aiohttp import ClientResponse, ClientSession, CookieJar
from yarl import URL

from assistant.booking import book as booking
from assistant.staff import accounts
from assistant.storage.models import StaffUser
from assistant.testing import BERLIN, Harness
from assistant.values import AppointmentView

PASSWORD = "Amtsstube-2026-geheim"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OPENED = re.compile(r'name="opened" value="([^"]+)"')
START = re.compile(r'name="start" value="([^"]+)"')


def opened(page: str) -> str:
    """The form's `opened` stamp (when the clerk opened it; see assistant/staff/timing.py)."""
    found = OPENED.search(page)
    assert found, "no opened stamp in the form"
    return found.group(1)


def offered(page: str) -> list[str]:
    """The free times a booking or move form offers (their ISO values)."""
    return START.findall(page)


async def add_user(h: Harness, username: str, offices: list[str], role: str = "clerk",
                   password: str = PASSWORD) -> StaffUser:
    async with h.ctx.db() as session:
        user = await accounts.create(session, h.ctx.config, username, password, role, offices,
                                     h.ctx.now())
        await session.commit()
        return user


async def book_at(h: Harness, office: str, hour: int, minute: int = 0, *,
                  name: str = "Anna Müller", service: str = "personalausweis",
                  channel: str = "webchat", day: int = 23) -> AppointmentView:
    """A booking on November `day`, 2026 at hour:minute in Berlin (any free counter)."""
    view = await booking.book_now(
        h.ctx, service_id=service, office_id=office,
        start=datetime(2026, 11, day, hour, minute, tzinfo=BERLIN),
        citizen=booking.Citizen(name, None, None),
        origin=booking.Origin(channel, f"{channel}-{name}", "de"))
    assert view is not None, f"{office} {hour}:{minute:02} is not free"
    return view


class Browser:
    """One browser: its own cookie jar against the harness's web app."""

    def __init__(self, h: Harness, base: str) -> None:
        self.h, self.base = h, base.rstrip("/")
        self.http = ClientSession(cookie_jar=CookieJar(unsafe=True))
        self.csrf = ""

    @classmethod
    async def open(cls, h: Harness) -> Browser:
        client = await h.http()
        return cls(h, str(client.make_url("/")))

    async def close(self) -> None:
        await self.http.close()

    def cookie(self, name: str) -> str | None:
        for c in self.http.cookie_jar:
            if c.key == name:
                return c.value
        return None

    def plant(self, name: str, value: str) -> None:
        """Set a cookie as if the site had (a session id planted by someone else)."""
        self.http.cookie_jar.update_cookies({name: value}, response_url=URL(self.base + "/staff/"))

    async def get(self, path: str, **kw: Any) -> tuple[ClientResponse, str]:
        kw.setdefault("allow_redirects", False)
        async with self.http.get(self.base + path, **kw) as r:
            text = await r.text()
        found = CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return r, text

    async def post(self, path: str, data: dict[str, str], *, csrf: bool = True,
                   **kw: Any) -> tuple[ClientResponse, str]:
        kw.setdefault("allow_redirects", False)
        form = {"csrf_token": self.csrf, **data} if csrf else data
        async with self.http.post(self.base + path, data=form, **kw) as r:
            text = await r.text()
        found = CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return r, text

    async def login(self, username: str, password: str = PASSWORD, then: str | None = None
                    ) -> ClientResponse:
        """Log in through the form (asked to go on to `then`); on success follow the
        redirects to a page (which holds the session's CSRF token). Returns the answer to the
        POST."""
        await self.get("/staff/login" + (f"?next={then}" if then else ""))
        form = {"username": username, "password": password, **({"next": then} if then else {})}
        r, _ = await self.post("/staff/login", form)
        target = r.headers.get("Location") if r.status == 303 else None
        while target:
            page, _ = await self.get(target)
            target = page.headers.get("Location") if page.status == 303 else None
        return r

    async def step(self, office: str, appointment_id: int, step: str, *, csrf: bool = True
                   ) -> tuple[ClientResponse, str]:
        return await self.post(f"/staff/offices/{office}/appointments/{appointment_id}/visit",
                               {"step": step}, csrf=csrf)


# -- in a real browser (Debian's Chromium, Playwright, axe-core) ---------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENS = [{"width": 1366, "height": 768}, {"width": 768, "height": 1024}]


@asynccontextmanager
async def chromium_page() -> AsyncIterator[Any]:
    """A page of a fresh headless Chromium at 1366×768, German; the caller skips the test
    without Debian's chromium (`shutil.which("chromium")`)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(bypass_csp=True, viewport=SCREENS[0],
                                                locale="de-DE")  # axe is injected as script
            yield await context.new_page()
        finally:
            await browser.close()


async def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page."""
    from axe_playwright_python.async_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a",
                                                      "wcag21aa"]}}
    results = await Axe().run(page, options=options)
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


async def fits(page: Any) -> None:
    """The page does not scroll sideways on an office screen or a tablet."""
    for size in SCREENS:
        await page.set_viewport_size(size)
        wide = await page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert wide <= 0, f"{size}: {wide}px sideways"
    await page.set_viewport_size(SCREENS[0])


async def focused(page: Any) -> list[str]:
    """The focused element's tag, text and outline style."""
    return await page.evaluate(
        "() => [document.activeElement.tagName, document.activeElement.textContent.trim(),"
        " getComputedStyle(document.activeElement).outlineStyle]")
