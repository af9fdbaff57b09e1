"""The appointment page in a real browser (Debian's Chromium): axe finds no WCAG 2.1 AA
violations, keyboard focus is visible, and a citizen can move and cancel by keyboard alone."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from assistant.storage.models import Appointment
from assistant.testing import Harness
from tests.support.mail import CONFIG, book

if TYPE_CHECKING:
    from assistant.testing.peers.smtp import SMTPPeer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    if not shutil.which("chromium"):
        pytest.skip("browser tests need Debian's chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(bypass_csp=True)  # axe is injected as script
            yield await context.new_page()
        finally:
            await browser.close()


async def violations(page: Any) -> list[str]:
    from axe_playwright_python.async_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a",
                                                      "wcag21aa"]}}
    results = await Axe().run(page, options=options)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"]]


async def test_accessible_pages_and_a_keyboard_only_citizen(
        browser_page: Any, smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp_server.env(monkeypatch)
    page = browser_page
    async with Harness(config=CONFIG) as h:
        a = await book(h)
        link = await h.ctx.call_first("appointment_link", ctx=h.ctx, appointment=a)
        assert link
        client = await h.http()
        url = str(client.make_url(urlsplit(link).path))

        await page.goto(url)
        assert await page.title() == "Ihr Termin – Landkreis Meißen – Terminservice"
        assert await violations(page) == []
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "() => [document.activeElement.tagName, getComputedStyle(document.activeElement)"
            ".outlineStyle]")
        assert focused[0] == "A" and focused[1] != "none"  # focus is visible

        await page.get_by_role("link", name="Andere Zeit wählen").click()
        assert await violations(page) == []
        second = page.get_by_role("radio").nth(1)
        await second.focus()
        await page.keyboard.press("Space")
        await page.get_by_role("button", name="Diese Zeit nehmen").press("Enter")
        await page.wait_for_url("**done=moved**")
        assert "verschoben" in await page.inner_text("main")

        await page.get_by_role("button", name="Termin absagen").click()  # no tick: stays
        assert "abgesagt" not in await page.inner_text("main")
        await page.get_by_label("Ja, ich möchte diesen Termin absagen.").check()
        await page.get_by_role("button", name="Termin absagen").click()
        await page.wait_for_url("**done=cancelled**")
        assert await violations(page) == []
        async with h.ctx.db() as session:
            row = await session.get(Appointment, a.id)
            assert row is not None and row.status == "cancelled" and row.start != a.start

        await page.goto(str(client.make_url("/termin/not-a-token")))
        assert await violations(page) == []
