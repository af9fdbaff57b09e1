"""The back office in a real browser (Debian's Chromium): a clerk logs in by keyboard, sees
today's list, marks an arrival by keyboard and the visit done by click; axe finds no serious
or critical WCAG 2.1 AA violations on the login, day and week pages, focus is visible, and the
pages fit a 1366×768 office screen and a tablet without scrolling sideways."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.storage.models import Appointment
from assistant.testing import Harness
from tests.conftest import NOW
from tests.support.staff import (
    PASSWORD,
    add_user,
    book_at,
    fits,
    focused,
    serious_violations,
)

pytestmark = pytest.mark.browser


async def test_a_clerk_works_through_the_day_by_keyboard(browser_page: Any) -> None:
    page = browser_page
    async with Harness(now=NOW) as h:
        await add_user(h, "anna", ["riesa"])
        first = await book_at(h, "riesa", 10, name="Anna Müller")
        second = await book_at(h, "riesa", 11, name="Bernd Schulz", channel="sms")
        client = await h.http()

        await page.goto(str(client.make_url("/staff/")))
        assert page.url.endswith("/staff/login?next=/staff/")
        assert await page.title() == "Anmeldung für Mitarbeitende – Amtsbote – Backoffice"
        assert await serious_violations(page) == []
        await fits(page)
        await page.get_by_label("Benutzername").focus()
        await page.keyboard.type("anna")
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/offices/riesa/days/2026-11-23")
        main = await page.inner_text("main")
        assert "Bürgerbüro Riesa: Montag, 23. November 2026" in main
        assert first.reference in main and second.reference in main
        assert await serious_violations(page) == []
        await fits(page)

        # Keyboard only: Tab to the first row's "Angekommen" and press Enter.
        row = page.locator(f"#a{first.id}")
        for _ in range(40):
            await page.keyboard.press("Tab")
            tag, text, outline = await focused(page)
            if text == "Angekommen":
                break
        assert (tag, text) == ("BUTTON", "Angekommen") and outline != "none"  # visible focus
        assert await page.evaluate("() => document.activeElement.closest('tr').id") == (
            f"a{first.id}")
        await page.keyboard.press("Enter")
        await page.wait_for_load_state()
        await row.get_by_text("angekommen").wait_for()
        await row.get_by_role("button", name="Erledigt").click()
        await row.get_by_text("erledigt").wait_for()
        assert await row.get_by_role("button").count() == 0
        assert "gebucht" in await page.locator(f"#a{second.id}").inner_text()
        assert await serious_violations(page) == []
        async with h.ctx.db() as session:
            stored = await session.get(Appointment, first.id)
            assert stored is not None
            assert stored.arrived_at == stored.done_at == h.ctx.now()

        await page.get_by_role("link", name="Wochenansicht").click()
        await page.wait_for_url("**/staff/offices/riesa/weeks/2026-11-23")
        assert "Woche ab Montag, 23. November 2026" in await page.inner_text("main")
        assert await serious_violations(page) == []
        await fits(page)

        await page.get_by_role("button", name="Abmelden").click()
        await page.wait_for_url("**/staff/login")
