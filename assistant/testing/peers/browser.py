"""Headless Chromium (Debian's `chromium` package) driven by Playwright; put the app on a real
loopback port for it with `assistant.testing.serve(app)`.

Playwright's own browser download does not work on these machines, so the fixtures launch the
system browser at `$CHROMIUM` (default /usr/bin/chromium; `apt-get install -y chromium`).
`page` fails the test when the page logs a Content-Security-Policy violation or an uncaught
JavaScript error.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from assistant.testing.harness import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HAVE_CHROMIUM = Path(CHROMIUM).exists()
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Test runs write their screenshots to an ignored folder; scripts/screenshots points this at
# test-artifacts/screenshots/ to refresh the images the README and docs show.
SCREENSHOTS = Path(os.environ.get("AMTSBOTE_SCREENSHOTS") or
                   ROOT / "test-artifacts" / "run" / "screenshots")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
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


@pytest_asyncio.fixture
async def browser_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 800},
                                        timezone_id="Europe/Berlin")
    try:
        yield context
    finally:
        await context.close()


@pytest_asyncio.fixture
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
