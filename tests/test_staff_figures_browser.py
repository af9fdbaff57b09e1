"""The figures page in a real browser (Debian's Chromium): reached from the day's header,
no serious or critical axe violations, and it fits an office screen and a tablet."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.testing import Harness
from tests.conftest import NOW
from tests.support.staff import PASSWORD, add_user, book_at, fits, serious_violations

pytestmark = pytest.mark.browser


async def test_the_figures_page_is_accessible(browser_page: Any) -> None:
    page = browser_page
    async with Harness(now=NOW) as h:
        await add_user(h, "anna", ["riesa"])
        await book_at(h, "riesa", 10)
        client = await h.http()
        await page.goto(str(client.make_url("/staff/login")))
        await page.get_by_label("Benutzername").fill("anna")
        await page.get_by_label("Passwort").fill(PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/offices/riesa/days/2026-11-23")
        await page.get_by_role("link", name="Kennzahlen").click()
        await page.wait_for_url("**/staff/figures?office=riesa&month=2026-11")
        main = await page.inner_text("main")
        assert "Anteil der über das Tool gebuchten, geänderten und abgesagten Termine" in main
        assert "Bearbeitungszeit je Buchung (Bürger/in, Verwaltung)" in main
        assert await page.get_by_role("img", name="Anteil der über das Tool").count() == 1
        assert await serious_violations(page) == []
        await fits(page)
