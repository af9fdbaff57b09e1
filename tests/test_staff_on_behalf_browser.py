"""Booking on behalf in a real browser (Debian's Chromium): a clerk books for a caller by
keyboard only, from the day's list to the new row with its reference; axe finds no serious or
critical WCAG 2.1 AA violations on the booking form (both steps, and after a taken time), the
move form and the confirmation page, and they fit a 1366×768 screen and a tablet."""

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


async def tab_to(page: Any, text: str, limit: int = 60) -> None:
    for _ in range(limit):
        await page.keyboard.press("Tab")
        _, found, _ = await focused(page)
        if found == text:
            return
    raise AssertionError(f"{text!r} not reached by Tab")


async def test_a_clerk_books_for_a_caller_by_keyboard(browser_page: Any) -> None:
    page = browser_page
    async with Harness(now=NOW) as h:
        await add_user(h, "anna", ["riesa"])
        first = await book_at(h, "riesa", 10, name="Anna Müller")
        client = await h.http()
        await page.goto(str(client.make_url("/staff/login")))
        await page.get_by_label("Benutzername").fill("anna")
        await page.get_by_label("Passwort").fill(PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/offices/riesa/days/2026-11-23")

        # From the day's list to the form, keyboard only.
        await tab_to(page, "Termin buchen (Anruf oder Schalter)")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/offices/riesa/book?day=2026-11-23")
        assert await serious_violations(page) == []
        await page.get_by_label("Anliegen").focus()
        await page.keyboard.type("Reisepass")
        await tab_to(page, "Freie Zeiten zeigen", limit=6)  # past the day: today already
        _, _, outline = await focused(page)
        assert outline != "none"  # visible focus
        await page.keyboard.press("Enter")
        await page.wait_for_url("**service=reisepass**")
        assert "Reisepass am Montag, 23. November 2026" in await page.inner_text("main")
        assert await serious_violations(page) == []
        await fits(page)

        # Tab into the free times (10:00 is the first; one counter is still free), Space picks.
        for _ in range(30):
            await page.keyboard.press("Tab")
            if await page.evaluate("() => document.activeElement.name") == "start":
                break
        assert await page.evaluate("() => document.activeElement.value") == (
            "2026-11-23T10:00:00+01:00")
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")
        await page.keyboard.type("Greta Hoffmann")
        await page.keyboard.press("Tab")
        await page.keyboard.type("0171 2345678")
        await page.keyboard.press("Tab")  # no e-mail
        await page.keyboard.press("Tab")  # how it came: phone (chosen)
        assert await page.evaluate("() => document.activeElement.value") == "phone"
        await tab_to(page, "Termin buchen")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/offices/riesa/days/2026-11-23?done=booked**")
        main = await page.inner_text("main")
        async with h.ctx.db() as session:
            new = await session.get(Appointment, first.id + 1)
            assert new is not None
        assert f"Gebucht: Vorgangsnummer {new.reference}, 10:00 Uhr" in main
        row = await page.locator(f"#a{new.id}").inner_text()
        assert new.reference in row and "Greta Hoffmann" in row and "Reisepass" in row
        assert (new.channel, new.phone, new.counter) == ("phone", "+491712345678", 2)
        assert await serious_violations(page) == []

        # The move form and the cancellation's confirmation.
        await page.locator(f"#a{new.id}").get_by_role("link", name="Verschieben").click()
        await page.wait_for_url(f"**/appointments/{new.id}/move")
        assert await serious_violations(page) == []
        await fits(page)
        await page.get_by_label("10:30").check()
        await page.get_by_role("button", name="Weiter").click()
        await page.get_by_role("heading", name="Termin wirklich verschieben?").wait_for()
        assert await serious_violations(page) == []
        await page.get_by_role("button", name="Ja, verschieben").click()
        await page.wait_for_url("**done=moved**")
        await page.locator(f"#a{new.id}").get_by_role("link", name="Absagen").click()
        await page.get_by_role("heading", name="Termin wirklich absagen?").wait_for()
        assert await serious_violations(page) == []
        await fits(page)

        # A time taken meanwhile: the error and the form again pass axe too.
        await page.goto(str(client.make_url(
            "/staff/offices/riesa/book?service=personalausweis&day=2026-11-23")))
        await page.get_by_label("11:00").check()
        await book_at(h, "riesa", 11)
        await book_at(h, "riesa", 11)
        await page.get_by_label("Name der Bürgerin oder des Bürgers").fill("Paul Weber")
        await page.get_by_role("button", name="Termin buchen").click()
        await page.get_by_role("alert").wait_for()
        assert await page.get_by_label("Name der Bürgerin oder des Bürgers").input_value() == (
            "Paul Weber")
        assert await serious_violations(page) == []
