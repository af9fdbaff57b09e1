"""The personal appointment page /termin/{token}: shows, cancels and moves; nothing else."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import jwt
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from assistant.booking import availability, cancel, reschedule
from assistant.booking import book as booking
from assistant.config import ConfigError
from assistant.retention import Policy, purge
from assistant.storage.models import Appointment, Occupancy, OutboxItem
from assistant.testing import Harness
from assistant.values import AppointmentView
from plugins.appointment_page import AUDIENCE, make_token, reference_claim, version_claim
from tests.support.mail import ANNA, CONFIG, book, link_path

if TYPE_CHECKING:
    from assistant.testing.peers.smtp import SMTPPeer



@pytest.fixture
async def page_harness(smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch
                       ) -> AsyncIterator[Harness]:
    smtp_server.env(monkeypatch)
    monkeypatch.delenv("AMTSBOTE_LINK_SECRET", raising=False)
    async with Harness(config=CONFIG) as h:
        yield h


async def path_for(h: Harness, a: AppointmentView) -> str:
    """The path of the link notifiers get for `a` (the `appointment_link` hook)."""
    link = await h.ctx.call_first("appointment_link", ctx=h.ctx, appointment=a)
    assert link and link.startswith("https://termine.kreis-meissen.example/termin/")
    return urlsplit(link).path


def decode(token: str, secret: str, now: datetime) -> dict:
    """The token's claims, its expiry checked against the app's clock (`now`): PyJWT's own
    check would read the wall clock, not the clock the test runs the app on."""
    claims = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE,
                        options={"verify_exp": False, "require": ["exp"]})
    assert claims["exp"] > now.timestamp(), "the token has expired by the app's clock"
    return claims


def form_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no {name} field"
    return htmllib.unescape(found.group(1))


async def row(h: Harness, a: AppointmentView) -> Appointment:
    async with h.ctx.db() as session:
        found = await session.get(Appointment, a.id)
        assert found is not None
        return found


async def outbox_count(h: Harness) -> int:
    async with h.ctx.db() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxItem)) or 0)


async def test_the_page_shows_the_appointment_and_a_get_changes_nothing(
        page_harness: Harness) -> None:
    h = page_harness
    a = await book(h)
    path = await path_for(h, a)
    client = await h.http()
    before = await outbox_count(h)
    response = await client.get(path)
    page = await response.text()
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert '<html lang="de">' in page
    for text in (a.display_reference, "Personalausweis", "Bürgerbüro Riesa", "Passfoto",
                 "37,00 €", "Termin absagen", "Andere Zeit wählen", "<label for=\"confirm\">"):
        assert text in page, text
    assert "<script" not in page
    assert (await client.head(path)).status == 200
    assert (await client.get(f"{path}/slots")).status == 200
    current = await row(h, a)
    assert current.status == "booked" and current.start == a.start
    assert current.updated_at == a.updated_at and await outbox_count(h) == before


async def test_english_page_and_language_switch(page_harness: Harness) -> None:
    h = page_harness
    a = await book(h, lang="en", name="John Smith", email="john@example.org")
    client = await h.http()
    page = await (await client.get(await path_for(h, a))).text()
    assert '<html lang="en">' in page and "Your appointment" in page and "ID card" in page
    assert 'hreflang="de"' in page
    german = await (await client.get(await path_for(h, a), params={"lang": "de"})).text()
    assert '<html lang="de">' in german and "Ihr Termin" in german


async def test_forged_foreign_and_mangled_tokens_show_nothing(page_harness: Harness) -> None:
    h = page_harness
    a = await book(h)
    b = await book(h, email="bob@example.org", name="Bob Bauer", days=3)
    client = await h.http()
    secret = await link_secret(h)
    token_a = make_token(secret, a)
    claims = {"sub": str(a.id), "ref": reference_claim(secret, a.reference),
              "ver": version_claim(secret, a), "aud": AUDIENCE, "exp": int(a.end.timestamp())}
    assert decode(token_a, secret, h.ctx.now()) == claims
    forged = [
        "nonsense",
        "x" * 5000,
        token_a[:-3] + ("AAA" if not token_a.endswith("AAA") else "BBB"),  # signature broken
        jwt.encode(claims, "another-secret-that-is-long-enough-for-hs256!", algorithm="HS256"),
        jwt.encode({**claims, "sub": str(b.id)}, "wrong-key-wrong-key-wrong-key-wrong-key"),
        jwt.encode({**claims, "ref": reference_claim(secret, b.reference)}, secret,
                   algorithm="HS256"),  # id A, reference of B
        jwt.encode({**claims, "ref": a.reference}, secret, algorithm="HS256"),  # bare reference
        jwt.encode({**claims, "aud": "jitsi"}, secret, algorithm="HS256"),
        jwt.encode(claims, secret, algorithm="HS512"),
    ]
    for token in forged:
        response = await client.get(f"/termin/{token}")
        page = await response.text()
        assert response.status == 404, token
        assert "Link ungültig" in page
        assert a.display_reference not in page and b.display_reference not in page
    page_b = await (await client.get(f"/termin/{make_token(secret, b)}")).text()
    assert b.display_reference in page_b and a.display_reference not in page_b
    assert "Bob Bauer" not in page_b  # the page never shows the name


async def test_the_link_expires_with_the_appointment(page_harness: Harness) -> None:
    h = page_harness
    a = await book(h)
    path = await path_for(h, a)
    client = await h.http()
    h.clock.now = a.start + timedelta(minutes=5)
    during = await (await client.get(path)).text()
    assert "bereits begonnen" in during and "Termin absagen</button>" not in during
    h.clock.now = a.end
    response = await client.get(path)
    assert response.status == 410 and "Link abgelaufen" in await response.text()
    assert (await client.post(f"{path}/cancel", data={})).status == 410


async def test_cancel_needs_the_button_the_csrf_token_and_the_tick(
        page_harness: Harness, smtp_server: SMTPPeer) -> None:
    h = page_harness
    a = await book(h)
    other = await book(h, email="bob@example.org", name="Bob Bauer", days=3)
    path, other_path = await path_for(h, a), await path_for(h, other)
    client = await h.http()
    page = await (await client.get(path)).text()
    other_csrf = form_value(await (await client.get(other_path)).text(), "csrf")
    csrf = form_value(page, "csrf")

    assert (await client.post(f"{path}/cancel", data={"confirm": "yes"})).status == 403
    assert (await client.post(f"{path}/cancel",
                              data={"csrf": other_csrf, "confirm": "yes"})).status == 403
    no_tick = await client.post(f"{path}/cancel", data={"csrf": csrf})
    assert no_tick.status == 400 and "Kästchen" in await no_tick.text()
    assert (await row(h, a)).status == "booked"

    done = await client.post(f"{path}/cancel", data={"csrf": csrf, "confirm": "yes"},
                             allow_redirects=False)
    assert done.status == 303 and "done=cancelled" in done.headers["Location"]
    after = await client.get(done.headers["Location"])
    text = await after.text()
    assert "Ihr Termin ist abgesagt." in text and "abgesagt" in text
    assert 'action="' not in text  # nothing left to change
    assert (await row(h, a)).status == "cancelled"
    assert (await row(h, other)).status == "booked"
    assert urlsplit(done.headers["Location"]).path != path  # the cancel revoked the old link
    stale = await client.get(path)
    assert stale.status == 410 and "Link veraltet" in await stale.text()
    again = await client.post(f"{path}/cancel", data={"csrf": csrf, "confirm": "yes"},
                              allow_redirects=False)  # a double click changes nothing more
    again_text = await again.text()
    assert again.status == 200 and "Ihr Termin ist abgesagt." in again_text
    assert a.display_reference not in again_text
    forged = await client.post(f"{path}/cancel", data={"csrf": other_csrf, "confirm": "yes"})
    assert forged.status == 410
    await h.run_outbox_now()
    subjects = [m["Subject"] for m in smtp_server.to(ANNA)]
    assert len([s for s in subjects if s.startswith("Termin abgesagt")]) == 1


async def test_pick_another_slot_moves_the_appointment(page_harness: Harness,
                                                       smtp_server: SMTPPeer) -> None:
    h = page_harness
    a = await book(h)
    path = await path_for(h, a)
    client = await h.http()
    slots_page = await (await client.get(f"{path}/slots")).text()
    assert "<fieldset><legend>" in slots_page and 'type="radio"' in slots_page
    starts = [htmllib.unescape(v) for v in re.findall(r'name="start" id="[^"]+" value="([^"]+)"',
                                                      slots_page)]
    assert len(starts) >= 5 and a.start.isoformat() not in starts
    chosen = datetime.fromisoformat(starts[4])
    csrf = form_value(slots_page, "csrf")
    moved = await client.post(f"{path}/move", data={"csrf": csrf, "start": starts[4]},
                              allow_redirects=False)
    assert moved.status == 303
    new_path = urlsplit(moved.headers["Location"]).path
    assert new_path != path
    current = await row(h, a)
    assert current.start == chosen and current.status == "booked"
    page = await (await client.get(moved.headers["Location"])).text()
    assert "Ihr Termin ist verschoben" in page and chosen.astimezone(
        current.start.tzinfo).strftime("%H") in page
    await h.run_outbox_now()
    mails = smtp_server.to(ANNA)
    assert mails[-1]["Subject"].startswith(f"Termin verschoben {a.display_reference}")
    assert link_path(mails[-1]) == new_path
    # The link from before the move is out of date, for reading and for changing.
    stale = await client.get(path)
    assert stale.status == 410 and "Link veraltet" in await stale.text()
    assert (await client.get(f"{path}/slots")).status == 410
    again = await client.post(f"{path}/move", data={"csrf": csrf, "start": starts[3]})
    assert again.status == 410 and (await row(h, a)).start == chosen


async def test_a_slot_taken_meanwhile_keeps_the_old_appointment(page_harness: Harness) -> None:
    h = page_harness
    a = await book(h)
    path = await path_for(h, a)
    client = await h.http()
    slots_page = await (await client.get(f"{path}/slots")).text()
    first = htmllib.unescape(re.findall(r'name="start" id="[^"]+" value="([^"]+)"',
                                        slots_page)[0])
    start = datetime.fromisoformat(first)
    office = h.ctx.config.office(a.office)
    assert office is not None
    for i in range(office.counters):  # someone else books every counter at that time
        taken = await booking.book_now(
            h.ctx, service_id=a.service, office_id=a.office, start=start,
            citizen=booking.Citizen(f"Other {i}"), origin=booking.Origin("test", f"o{i}", "de"))
        assert taken is not None
    response = await client.post(f"{path}/move",
                                 data={"csrf": form_value(slots_page, "csrf"), "start": first})
    assert response.status == 409
    assert "gerade vergeben" in await response.text()
    assert (await row(h, a)).start == a.start
    bad = await client.post(f"{path}/move", data={"csrf": form_value(slots_page, "csrf"),
                                                  "start": "morgen früh"})
    assert bad.status == 400 and (await row(h, a)).start == a.start


async def test_a_forged_start_moves_nothing(page_harness: Harness) -> None:
    """The page goes through the booking services, which validate every start: a start off
    the grid, at night, in the past, in a closure or in year 9999 is refused."""
    h = page_harness
    a = await book(h)
    path = await path_for(h, a)
    client = await h.http()
    slots_page = await (await client.get(f"{path}/slots")).text()
    csrf = form_value(slots_page, "csrf")
    first = datetime.fromisoformat(htmllib.unescape(
        re.findall(r'name="start" id="[^"]+" value="([^"]+)"', slots_page)[0]))
    async with h.ctx.db() as session:
        cells_before = int(await session.scalar(select(func.count()).select_from(Occupancy)) or 0)
    for forged in (first + timedelta(minutes=7), first.replace(hour=3),
                   first - timedelta(days=400), first.replace(year=9999),
                   first.replace(month=12, day=28)):
        response = await client.post(f"{path}/move",
                                     data={"csrf": csrf, "start": forged.isoformat()})
        assert response.status == 409, forged
        current = await row(h, a)
        assert (current.start, current.status) == (a.start, "booked")
    async with h.ctx.db() as session:
        assert await session.scalar(select(func.count()).select_from(Occupancy)) == cells_before
    moved = await client.post(f"{path}/move", data={"csrf": csrf, "start": first.isoformat()},
                              allow_redirects=False)
    assert moved.status == 303 and (await row(h, a)).start == first


async def test_after_retention_the_link_is_gone(page_harness: Harness) -> None:
    h = page_harness
    a = await book(h)
    path = await path_for(h, a)
    client = await h.http()
    h.clock.now = a.end + timedelta(days=2)
    await purge(h.ctx.db, Policy(), h.ctx.now())
    response = await client.get(path)
    assert response.status == 410 and "Anna" not in await response.text()


async def test_links_survive_a_restart_without_a_configured_secret(
        smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    smtp_server.env(monkeypatch)
    monkeypatch.delenv("AMTSBOTE_LINK_SECRET", raising=False)
    url = f"sqlite+aiosqlite:///{tmp_path}/restart.sqlite3"
    async with Harness(config=CONFIG, database_url=url) as first:
        a = await book(first)
        path = await path_for(first, a)
    async with Harness(config=CONFIG, database_url=url) as second:
        client: TestClient = await second.http()
        assert (await client.get(path)).status == 200


async def test_a_configured_secret_is_used_and_must_be_long(
        smtp_server: SMTPPeer, monkeypatch: pytest.MonkeyPatch) -> None:
    smtp_server.env(monkeypatch)
    secret = "k" * 40
    monkeypatch.setenv("AMTSBOTE_LINK_SECRET", secret)
    async with Harness(config=CONFIG) as h:
        a = await book(h)
        path = await path_for(h, a)
        claims = decode(path.rsplit("/", 1)[1], secret, h.ctx.now())
        assert claims["sub"] == str(a.id) and claims["exp"] == int(a.end.timestamp())
        assert a.reference not in str(claims)  # the readable token does not show it
    monkeypatch.setenv("AMTSBOTE_LINK_SECRET", "short")
    with pytest.raises(ConfigError, match="AMTSBOTE_LINK_SECRET"):
        async with Harness(config=CONFIG):
            pass


async def test_a_link_from_before_a_move_elsewhere_is_out_of_date(
        page_harness: Harness, smtp_server: SMTPPeer) -> None:
    """Moved by chat or by staff (not on the page): the e-mail about the move has the only
    link that still works."""
    h = page_harness
    a = await book(h)
    old_path = await path_for(h, a)
    await h.run_outbox_now()
    assert link_path(smtp_server.to(ANNA)[-1]) == old_path
    frm = a.start + timedelta(days=1)
    slot = (await availability.free_slots(h.ctx, a.service, a.office, frm,
                                          frm + timedelta(days=7), limit=1))[0]
    hold = await booking.hold(h.ctx, a.office, slot.start, slot.end, service_id=a.service)
    assert hold is not None
    moved = await reschedule.move(h.ctx, a.id, hold, slot.start, slot.end,
                                  booking.Origin("test", "anna", "de"))
    assert moved is not None
    await h.run_outbox_now()
    new_path = link_path(smtp_server.to(ANNA)[-1])
    assert new_path != old_path
    client = await h.http()
    stale = await client.get(old_path)
    text = await stale.text()
    assert stale.status == 410 and "Link veraltet" in text and "neuesten E-Mail" in text
    assert a.display_reference not in text
    english = await client.get(old_path, params={"lang": "en"})
    assert english.status == 410 and "out of date" in await english.text()
    fresh = await client.get(new_path)
    assert fresh.status == 200 and a.display_reference in await fresh.text()


async def test_a_link_without_a_version_works_until_the_first_change(
        page_harness: Harness) -> None:
    """Links sent before versions were signed keep working while nothing changed."""
    h = page_harness
    a = await book(h)
    secret = await link_secret(h)
    legacy = jwt.encode({"sub": str(a.id), "ref": reference_claim(secret, a.reference),
                         "aud": AUDIENCE, "exp": int(a.end.timestamp())}, secret,
                        algorithm="HS256")
    client = await h.http()
    assert (await client.get(f"/termin/{legacy}")).status == 200
    h.clock.now = h.ctx.now() + timedelta(minutes=1)
    cancelled = await cancel.cancel(h.ctx, a.id, booking.Origin("test", "anna", "de"))
    assert cancelled is not None
    assert (await client.get(f"/termin/{legacy}")).status == 410
    assert (await client.get(f"/termin/{make_token(secret, cancelled)}")).status == 200


async def link_secret(h: Harness) -> bytes:
    """The secret the application's page plugin signs its links with."""
    return await h.ctx.pm.get_plugin("termin").link_secret(h.ctx)
