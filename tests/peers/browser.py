"""Headless Chromium (Debian's `chromium` package) driven by Playwright, and `serve(app)` to put
an aiohttp app on a real loopback port the browser can open.

Playwright's own browser download does not work on these machines, so the fixtures launch the
system browser at `$CHROMIUM` (default /usr/bin/chromium; `apt-get install -y chromium`).
`page` fails the test when the page logs a Content-Security-Policy violation or an uncaught
JavaScript error.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = Path(CHROMIUM).exists()
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Test runs write their screenshots to an ignored folder; scripts/screenshots points this at
# test-artifacts/screenshots/ to refresh the images the README and docs show.
SCREENSHOTS = Path(os.environ.get("AMTSBOTE_SCREENSHOTS") or
                   Path(__file__).resolve().parents[2] / "test-artifacts" / "run" / "screenshots")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


class PageProblems(list[str]):
    """CSP violations and uncaught errors a page reported."""


@pytest.fixture
async def browser_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 800},
                                        timezone_id="Europe/Berlin")
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(browser_context: BrowserContext) -> AsyncIterator[Page]:
    page = await browser_context.new_page()
    problems = watch(page)
    yield page
    assert not problems, f"the page reported problems: {problems}"


def watch(page: Page) -> PageProblems:
    """Collect CSP violations and uncaught exceptions of `page`."""
    problems = PageProblems()

    def console(msg) -> None:  # type: ignore[no-untyped-def]
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
            problems.append(msg.text)

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    return problems


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve(app: web.Application, sock: socket.socket | None = None) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 (on `sock` if given); yields its base URL."""
    sock = sock or free_socket()
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
