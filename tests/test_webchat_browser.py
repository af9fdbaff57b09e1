"""The web chat in a real browser: Debian's Chromium (headless, Playwright) against the real
server on a loopback port, with the real trained Rasa where citizens type free text.

Three ways in: the widget embedded in a county website on another origin, the full page at
`/`, the kiosk at `/kiosk`. Screenshots go to test-artifacts/run/screenshots/ (ignored);
scripts/screenshots refreshes the ones in test-artifacts/screenshots/ that README.md and
docs/webchat.md show.
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, WebSocketRoute, expect
from sqlalchemy import select

from assistant.config import load_config
from assistant.http.app import create_app
from assistant.messages import Reply
from assistant.storage.models import Appointment, Conversation
from assistant.testing import Harness, free_socket, serve
from assistant.testing.peers.browser import SCREENSHOTS, watch
from channels.webchat import ChatServer, demo_page
from tests.conftest import NOW

pytestmark = pytest.mark.browser
CONFIG = Path(__file__).parent / "configs" / "webchat.yml"
OFFLINE_NLU = "http://127.0.0.1:9"
SLOT = re.compile(r"\d\d:\d\d")
NO_PAGE_SCROLL = "document.scrollingElement.scrollHeight <= window.innerHeight"
expect.set_options(timeout=15_000)


@dataclass
class Live:
    h: Harness
    app: web.Application
    url: str  # Amtsbote
    host_url: str  # the county's website with the widget snippet

    @property
    def chat_server(self) -> ChatServer:
        server = self.h.ctx.pm.get_plugin("webchat").server
        assert server is not None
        return server


@asynccontextmanager
async def live(nlu_url: str, **webchat: object) -> AsyncIterator[Live]:
    """Amtsbote on one loopback port and a county website embedding its widget on another
    (a different origin, listed in allowed_origins)."""
    host_sock, app_sock = free_socket(), free_socket()
    host_origin = f"http://127.0.0.1:{host_sock.getsockname()[1]}"
    config = load_config(CONFIG)
    channels = copy.deepcopy(config.channels)
    channels["webchat"]["allowed_origins"] = [*channels["webchat"]["allowed_origins"],
                                              host_origin]
    channels["webchat"].update(webchat)
    config = config.model_copy(update={"channels": channels})
    async with Harness(config, nlu_url=nlu_url, now=NOW) as h:
        app = create_app(h.ctx, manage_lifecycle=False)
        async with serve(app, app_sock) as url:
            site = web.Application()

            async def county_page(_: web.Request) -> web.Response:
                return web.Response(text=demo_page(url), content_type="text/html")

            site.router.add_get("/", county_page)
            async with serve(site, host_sock) as host_url:
                yield Live(h=h, app=app, url=url, host_url=host_url)


async def appointment_of(h: Harness, name: str) -> Appointment:
    async with h.ctx.db() as session:
        appt = await session.scalar(select(Appointment).where(Appointment.citizen_name == name))
    assert appt is not None, f"no appointment for {name}"
    return appt


def display(reference: str) -> str:
    return f"{reference[:3]}-{reference[3:]}"


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.mouse.move(0, 0)
    await page.wait_for_timeout(800)  # smooth scrolling to the newest message
    await page.screenshot(path=str(SCREENSHOTS / name))


# -- widget -----------------------------------------------------------------------------------


@pytest.mark.rasa
async def test_widget_books_by_typing_and_clicking_and_survives_a_dropped_connection(
        rasa_url: str, page: Page) -> None:
    async with live(rasa_url) as app:
        await page.goto(app.host_url)
        launcher = page.get_by_role("button", name="Termin-Chat")
        await launcher.click()
        log = page.get_by_role("log")
        await expect(log).to_contain_text("Guten Tag")
        box = page.get_by_role("textbox", name="Ihre Nachricht")
        await expect(box).to_be_focused()
        await box.fill("Ich brauche einen neuen Personalausweis in Riesa")
        await box.press("Enter")
        await page.get_by_role("button", name="Nächste Woche").click()
        choices = page.get_by_role("group", name="Antwortvorschläge")
        first_slot = choices.get_by_role("button").first
        await expect(first_slot).to_have_text(SLOT)
        await shot(page, "widget.png")

        # The network drops: nothing gets through for a while; the click waits and goes out
        # once the connection is back.
        offline = page.get_by_role("status").filter(has_text="Keine Verbindung")
        await page.context.set_offline(True)
        await app.chat_server.close_all()
        await expect(offline).to_be_visible()
        await first_slot.click()
        await expect(log).to_contain_text("wird gesendet")
        await page.context.set_offline(False)
        await expect(log).to_contain_text("Auf welchen Namen")
        await expect(page.get_by_role("status")
                     .filter(has_text="Verbindung wiederhergestellt")).to_be_visible()
        await expect(log).not_to_contain_text("wird gesendet")
        await box.fill("Anna Schmidt")
        await box.press("Enter")
        await page.get_by_role("button", name="Überspringen").click()
        await expect(log).to_contain_text("Anna Schmidt")
        await page.get_by_role("button", name="Ja", exact=True).click()
        await expect(log).to_contain_text("Ihr Termin ist gebucht")

        appt = await appointment_of(app.h, "Anna Schmidt")
        assert (appt.channel, appt.office_id, appt.service_id) == (
            "webchat", "riesa", "personalausweis")
        await expect(log).to_contain_text(display(appt.reference))
        assert len(app.chat_server.open) == 1  # the widget reconnected

        await page.reload()  # another page of the county site: the conversation stays
        await expect(page.get_by_role("log")).to_contain_text(display(appt.reference))
        await expect(page.get_by_role("textbox", name="Ihre Nachricht")).to_be_visible()


async def test_widget_works_by_keyboard_alone(page: Page) -> None:
    async with live(OFFLINE_NLU) as app:
        await page.goto(app.host_url)
        launcher = page.get_by_role("button", name="Termin-Chat")
        await launcher.focus()
        await expect(launcher).to_have_attribute("aria-expanded", "false")
        await page.keyboard.press("Enter")
        await expect(launcher).to_have_attribute("aria-expanded", "true")
        box = page.get_by_role("textbox", name="Ihre Nachricht")
        await expect(box).to_be_focused()
        menu = page.get_by_role("group", name="Antwortvorschläge").get_by_role("button")
        await expect(menu.last).to_have_text("Videogespräch")
        await page.keyboard.press("Shift+Tab")  # from the input back to the last suggestion
        await expect(menu.last).to_be_focused()
        for _ in range(6):
            await page.keyboard.press("Shift+Tab")
        await expect(menu.first).to_have_text("Termin buchen")
        await expect(menu.first).to_be_focused()
        outline = await menu.first.evaluate("b => getComputedStyle(b).outlineStyle")
        assert outline == "solid"  # focus is visible
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("log")).to_contain_text("Wofür brauchen Sie den Termin")
        await page.keyboard.press("Escape")
        await expect(launcher).to_be_focused()
        await expect(launcher).to_have_attribute("aria-expanded", "false")
        await expect(page.get_by_role("log")).to_be_hidden()


# -- full page --------------------------------------------------------------------------------


@pytest.mark.rasa
async def test_full_page_books_in_english(rasa_url: str, page: Page) -> None:
    async with live(rasa_url) as app:
        await page.goto(app.url + "/")
        log = page.get_by_role("log")
        await expect(log).to_contain_text("Guten Tag")
        await page.get_by_role("button", name="English").click()
        await expect(log).to_contain_text("I will write in English")
        await expect(page.get_by_role("button", name="Send")).to_be_visible()
        assert await page.evaluate("document.documentElement.lang") == "en"
        box = page.get_by_role("textbox", name="Your message")
        await box.fill("I need a new passport in Meissen next week")
        await box.press("Enter")
        slots = page.get_by_role("group", name="Suggested answers").get_by_role("button")
        await expect(slots.first).to_have_text(SLOT)
        await slots.nth(1).click()
        await expect(log).to_contain_text("Under which name")
        await box.fill("Sam Taylor")
        await box.press("Enter")
        await expect(log).to_contain_text("mobile number or e-mail")
        await box.fill("sam.taylor@example.org")
        await box.press("Enter")
        await expect(page.get_by_role("button", name="Yes", exact=True)).to_be_visible()
        await page.get_by_role("button", name="Yes", exact=True).click()
        await expect(log).to_contain_text("Your appointment is booked")
        appt = await appointment_of(app.h, "Sam Taylor")
        assert (appt.service_id, appt.office_id, appt.email) == (
            "reisepass", "meissen", "sam.taylor@example.org")
        assert appt.language == "en"
        await expect(log).to_contain_text(display(appt.reference))
        await expect(page.get_by_role("heading", level=1)).to_be_in_viewport()
        assert await page.evaluate(NO_PAGE_SCROLL), "only the conversation scrolls"
        await shot(page, "fullpage.png")


async def test_full_page_falls_back_to_http_when_websockets_are_blocked(page: Page) -> None:
    async def refuse(ws: WebSocketRoute) -> None:  # a proxy that does not pass WebSockets
        await ws.close(code=1006)

    await page.route_web_socket(re.compile(r"/webchat/ws$"), refuse)
    async with live(OFFLINE_NLU) as app:
        await page.goto(app.url + "/")
        log = page.get_by_role("log")
        await expect(log).to_contain_text("Guten Tag")
        await page.get_by_role("button", name="Termin buchen").click()
        await expect(log).to_contain_text("Wofür brauchen Sie den Termin")
        await page.get_by_role("button", name="Reisepass").click()
        await expect(log).to_contain_text("In welchem Bürgerbüro")
        assert app.chat_server.open == set()  # everything went over POST /webchat/message
        sender = await page.evaluate("window.amtsboteChat.sender")
        async with app.h.ctx.db() as session:
            row = await session.get(Conversation, ("webchat", sender))
        assert row is not None and row.state["task"]["service"] == "reisepass"


async def test_links_are_links_and_markup_stays_text(page: Page) -> None:
    async with live(OFFLINE_NLU) as app:
        await page.goto(app.url + "/")
        await expect(page.get_by_role("log")).to_contain_text("Guten Tag")
        sender = await page.evaluate("window.amtsboteChat.sender")
        await app.h.ctx.call_first(
            "deliver", ctx=app.h.ctx, channel="webchat", recipient=sender,
            replies=[Reply(text='Ihr Link: https://meet.jit.si/amtsbote-x1y2. '
                                '<img src=x onerror="window.pwned=1"> <b>fett</b>')])
        link = page.get_by_role("link", name="https://meet.jit.si/amtsbote-x1y2")
        await expect(link).to_have_attribute("href", "https://meet.jit.si/amtsbote-x1y2")
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        log = page.get_by_role("log")
        await expect(log).to_contain_text('<img src=x onerror="window.pwned=1">')
        assert await page.evaluate("window.pwned") is None
        assert await page.locator(".ab-log b, .ab-log img").count() == 0


# -- kiosk ------------------------------------------------------------------------------------


@pytest.mark.rasa
async def test_kiosk_books_shows_a_qr_code_and_forgets_everything_when_left_alone(
        rasa_url: str, page: Page) -> None:
    async with live(rasa_url, kiosk_idle_seconds=14, kiosk_countdown_seconds=7) as app:
        await page.goto(app.url + "/kiosk")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Bürgerterminal")
        await page.get_by_role("button", name=re.compile("^Deutsch")).click()
        log = page.get_by_role("log")
        await expect(log).to_contain_text("Guten Tag")
        box = page.get_by_role("textbox", name="Ihre Nachricht")
        await box.fill("Ich möchte einen Reisepass in Riesa beantragen")
        await box.press("Enter")
        await page.get_by_role("button", name="Nächste Woche").click()
        slot = page.get_by_role("group", name="Antwortvorschläge").get_by_role("button").first
        await expect(slot).to_have_text(SLOT)
        await slot.click()
        await box.fill("Erika Mustermann")
        await box.press("Enter")
        await page.get_by_role("button", name="Überspringen").click()
        await page.get_by_role("button", name="Ja", exact=True).click()
        qr = page.get_by_role("img", name=re.compile("QR-Code mit Ihrem Termin"))
        await expect(qr).to_be_visible()
        appt = await appointment_of(app.h, "Erika Mustermann")
        await expect(qr).to_have_attribute("alt", re.compile(display(appt.reference)))
        await expect(page.get_by_role("button", name="Fertig")).to_be_in_viewport()
        assert await page.evaluate(NO_PAGE_SCROLL), "only the conversation scrolls"
        size = await qr.bounding_box()
        assert size and size["width"] >= 200  # big enough to scan from the screen
        await qr.evaluate("img => img.scrollIntoView({block: 'center'})")
        await shot(page, "kiosk.png")
        sender = await page.evaluate("window.amtsboteKiosk.chat.sender")

        # Nobody touches the screen: the countdown shows, then everything is gone.
        dialog = page.get_by_role("alertdialog", name="Sind Sie noch da?")
        await expect(dialog).to_be_visible()
        await expect(page.get_by_role("timer")).to_have_text(re.compile(r"^\d+$"))
        await expect(page.get_by_role("button", name=re.compile("^Deutsch"))).to_be_visible()
        await expect(page.get_by_role("status").filter(has_text="alle Eingaben sind gelöscht")) \
            .to_be_visible()
        assert await page.locator(".ab-row").count() == 0
        assert "Erika" not in await page.locator("body").inner_text()
        assert await page.evaluate("window.amtsboteKiosk.chat.sender") != sender
        assert await page.evaluate("localStorage.length") == 0  # the kiosk keeps nothing


async def test_kiosk_done_button_starts_over_for_the_next_person(page: Page) -> None:
    async with live(OFFLINE_NLU) as app:
        await page.goto(app.url + "/kiosk")
        await page.get_by_role("button", name=re.compile("^English")).click()
        log = page.get_by_role("log")
        await expect(log).to_contain_text("Hello")
        await page.get_by_role("button", name="Book an appointment").click()
        await expect(log).to_contain_text("What do you need the appointment for")
        sender = await page.evaluate("window.amtsboteKiosk.chat.sender")
        await page.get_by_role("button", name="Done").click()
        await expect(page.get_by_role("button", name=re.compile("^Deutsch"))).to_be_focused()
        async with app.h.ctx.db() as session:
            old = await session.get(Conversation, ("webchat", sender))
        assert old is not None and "flow" not in old.state  # abandoned on the server
        await page.get_by_role("button", name=re.compile("^Deutsch")).click()
        await expect(log).to_contain_text("Guten Tag")
        assert "appointment for" not in await log.inner_text()


async def test_kiosk_countdown_can_be_dismissed(page: Page) -> None:
    async with live(OFFLINE_NLU) as app:
        await page.goto(app.url + "/kiosk")
        await page.get_by_role("button", name=re.compile("^Deutsch")).click()
        await expect(page.get_by_role("log")).to_contain_text("Guten Tag")
        dialog = page.get_by_role("alertdialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.get_by_role("button", name="Weiter")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(dialog).to_be_hidden()
        await expect(page.get_by_role("log")).to_contain_text("Guten Tag")  # still there


# -- accessibility ----------------------------------------------------------------------------


async def serious(page: Page) -> list[str]:
    results = await Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


async def test_axe_finds_no_serious_violations_on_the_three_pages(browser: Browser) -> None:
    async with live(OFFLINE_NLU) as app:
        for motion in ("no-preference", "reduce"):
            context = await browser.new_context(
                locale="de-DE", viewport={"width": 1280, "height": 800}, reduced_motion=motion)
            page = await context.new_page()
            problems = watch(page)
            await page.goto(app.host_url)
            await page.get_by_role("button", name="Termin-Chat").click()
            await expect(page.get_by_role("log")).to_contain_text("Guten Tag")
            assert await serious(page) == [], "widget on the county page"

            await page.goto(app.url + "/")
            await expect(page.get_by_role("log")).to_contain_text("Guten Tag")
            assert await serious(page) == [], "full page"

            await page.goto(app.url + "/kiosk")
            await expect(page.get_by_role("button", name=re.compile("^Deutsch"))).to_be_visible()
            assert await serious(page) == [], "kiosk start screen"
            await page.get_by_role("button", name=re.compile("^Deutsch")).click()
            await expect(page.get_by_role("log")).to_contain_text("Guten Tag")
            assert await serious(page) == [], "kiosk conversation"
            await expect(page.get_by_role("alertdialog")).to_be_visible()
            assert await serious(page) == [], "kiosk countdown"
            animation = await page.locator(".ab-dots span").first.evaluate(
                "s => getComputedStyle(s).animationName")
            assert animation == ("none" if motion == "reduce" else "ab-bounce")
            assert problems == []
            await context.close()


@pytest.mark.parametrize("path", ["/", "/kiosk", "host"])
async def test_pages_reflow_at_200_percent_zoom(browser: Browser, path: str) -> None:
    """200 % zoom of a 1280×800 window is a 640×400 CSS-pixel viewport: no sideways scrolling,
    the input and the send button stay reachable."""
    async with live(OFFLINE_NLU) as app:
        context = await browser.new_context(locale="de-DE",
                                            viewport={"width": 640, "height": 400},
                                            device_scale_factor=2)
        page = await context.new_page()
        await page.goto(app.host_url if path == "host" else app.url + path)
        if path == "host":
            await page.get_by_role("button", name="Termin-Chat").click()
        if path == "/kiosk":
            await page.get_by_role("button", name=re.compile("^Deutsch")).click()
        await expect(page.get_by_role("log")).to_contain_text("Guten Tag")
        assert await page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth")
        await expect(page.get_by_role("textbox", name="Ihre Nachricht")).to_be_in_viewport()
        await expect(page.get_by_role("button", name="Senden")).to_be_in_viewport()
        await context.close()
