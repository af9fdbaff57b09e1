"""Back-office accounts and sessions (issue 16): the `amtsbote staff` commands, logging in and
out, login throttling, a new session id at every login, idle logout, CSRF tokens, one
office's clerk kept out of another's day, an audit log of ids only, and passwords that never
reach a log or the terminal."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assistant import cli
from assistant.storage.models import Appointment, AuditEntry, StaffSession, StaffUser
from assistant.testing import Harness
from tests.conftest import NOW
from tests.support.staff import PASSWORD, Browser, add_user, book_at

ROOT = Path(__file__).resolve().parent.parent
NEW_PASSWORD = "Neues-Passwort-fuer-2027"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, str]:
    """A config with its own SQLite file, shared by the commands and the app."""
    url = f"sqlite+aiosqlite:///{tmp_path}/staff.sqlite3"
    config = tmp_path / "config.yml"
    config.write_text(f"storage:\n  url: {url}\ncatalogue: {ROOT / 'catalogue.yml'}\n")
    return config, url


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness(now=NOW) as harness:
        yield harness


@pytest.fixture
async def browser(h: Harness) -> AsyncIterator[Browser]:
    b = await Browser.open(h)
    yield b
    await b.close()


async def staff(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                config: Path, *args: str, stdin: str = "") -> tuple[int, str, str]:
    """`amtsbote staff …` with `stdin` (not a terminal) as its standard input."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = await asyncio.to_thread(cli.main, ["-c", str(config), "staff", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_commands_add_list_disable_and_reset_password(
        setup: tuple[Path, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    config, url = setup
    code, out, _ = await staff(capsys, monkeypatch, config, "add", "Anna.Schmidt", "--office",
                               "riesa", "--office", "meissen", stdin=PASSWORD + "\n")
    assert code == 0 and "anna.schmidt" in out and "/staff/login" in out
    code, _, _ = await staff(capsys, monkeypatch, config, "add", "chef", "--role",
                             "county_admin", stdin=PASSWORD + "\n")
    assert code == 0
    # Refused, with the reason: the same name in other letters, an unknown office, a clerk
    # without an office, a short password.
    for args, stdin, reason in [
        (("add", "ANNA.SCHMIDT", "--office", "riesa"), PASSWORD, "exists already"),
        (("add", "bert", "--office", "dresden"), PASSWORD, "unknown office 'dresden'"),
        (("add", "bert"), PASSWORD, "at least one --office"),
        (("add", "bert", "--office", "riesa"), "kurz", "at least 12 characters"),
    ]:
        code, _, err = await staff(capsys, monkeypatch, config, *args, stdin=stdin + "\n")
        assert code == 1 and reason in err, (args, err)

    code, out, _ = await staff(capsys, monkeypatch, config, "list")
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith("anna.schmidt") and "clerk" in line and "riesa, meissen" in line
               for line in lines)
    assert any(line.startswith("chef") and "county_admin" in line and "all" in line
               for line in lines)
    assert PASSWORD not in out and "argon2" not in out

    async with Harness(config, database_url=url, now=NOW) as h:
        b = await Browser.open(h)
        try:
            assert (await b.login("anna.schmidt")).status == 303
            code, out, _ = await staff(capsys, monkeypatch, config, "reset-password",
                                       "anna.schmidt", stdin=NEW_PASSWORD + "\n")
            assert code == 0 and "changed" in out
            r, _ = await b.get("/staff/offices/riesa/days/2026-11-23")
            assert r.status == 303 and "/staff/login" in r.headers["Location"]  # session ended
            assert (await b.login("anna.schmidt", PASSWORD)).status == 401
            assert (await b.login("anna.schmidt", NEW_PASSWORD)).status == 303

            code, out, _ = await staff(capsys, monkeypatch, config, "disable", "Anna.Schmidt")
            assert code == 0 and "disabled" in out
            r, _ = await b.get("/staff/offices/riesa/days/2026-11-23")
            assert r.status == 303  # logged out at once
            assert (await b.login("anna.schmidt", NEW_PASSWORD)).status == 401
        finally:
            await b.close()
    code, out, _ = await staff(capsys, monkeypatch, config, "list")
    anna = next(line for line in out.splitlines() if line.startswith("anna.schmidt"))
    assert anna.split()[-1] != "-"  # the disabled date
    code, _, err = await staff(capsys, monkeypatch, config, "disable", "nobody")
    assert code == 1 and "no user 'nobody'" in err


async def test_login_sets_a_safe_cookie_and_a_wrong_password_is_refused(
        h: Harness, browser: Browser) -> None:
    await add_user(h, "anna", ["riesa"])
    r, page = await browser.get("/staff/login")
    assert r.status == 200 and 'name="username"' in page and 'name="password"' in page
    assert "<label for=\"username\">Benutzername</label>" in page
    for name, password in [("anna", "falsch-falsch-falsch"), ("niemand", PASSWORD)]:
        r = await browser.login(name, password)
        assert r.status == 401
        _, page = await browser.get("/staff/login")
        assert browser.cookie("amtsbote_staff") is None
    r, page = await browser.post("/staff/login", {"username": "anna", "password": "x"})
    assert "Benutzername oder Passwort ist falsch." in page

    r = await browser.login("Anna")  # the name in any case
    assert r.status == 303 and r.headers["Location"] == "/staff/"
    cookie = r.headers.getall("Set-Cookie")
    session = next(c for c in cookie if c.startswith("amtsbote_staff="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/staff" in session
    assert "Secure" not in session  # plain http here: see the next test for https
    r, page = await browser.get("/staff/offices/riesa/days/2026-11-23")
    assert r.status == 200 and "Angemeldet als anna" in page

    r, _ = await browser.post("/staff/logout", {})
    assert r.status == 303 and r.headers["Location"] == "/staff/login"
    r, _ = await browser.get("/staff/offices/riesa/days/2026-11-23")
    assert r.status == 303 and r.headers["Location"].startswith("/staff/login?next=")
    async with h.ctx.db() as session:
        assert await session.scalar(select(func.count()).select_from(StaffSession)) == 0


async def test_the_cookie_is_secure_behind_an_https_public_url(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("server:\n  public_url: https://termine.kreis-meissen.example\n"
                      f"catalogue: {ROOT / 'catalogue.yml'}\n")
    async with Harness(config, now=NOW) as h:
        await add_user(h, "anna", ["riesa"])
        b = await Browser.open(h)
        try:
            r, _ = await b.get("/staff/login")
            form_cookie = r.cookies["amtsbote_staff_login"]
            assert form_cookie["secure"] and form_cookie["httponly"]
            # Over plain http a browser keeps Secure cookies to itself; send it as one over
            # https behind the proxy would.
            r, _ = await b.post("/staff/login", {"username": "anna", "password": PASSWORD},
                                headers={"Cookie": f"amtsbote_staff_login={form_cookie.value}"})
        finally:
            await b.close()
    assert r.status == 303
    session = next(c for c in r.headers.getall("Set-Cookie") if c.startswith("amtsbote_staff="))
    assert "Secure" in session and "HttpOnly" in session and "SameSite=Strict" in session


async def test_a_login_issues_a_new_session_id(h: Harness, browser: Browser) -> None:
    """Session fixation: an id planted before the login (or an earlier session's id) is
    never the one the login hands out, and stops working."""
    await add_user(h, "anna", ["riesa"])
    planted = "planted-by-someone-else-0123456789"
    browser.plant("amtsbote_staff", planted)
    await browser.login("anna")
    first = browser.cookie("amtsbote_staff")
    assert first and first != planted
    await browser.post("/staff/logout", {})
    await browser.login("anna")  # again
    second = browser.cookie("amtsbote_staff")
    assert second and second != first
    async with h.ctx.db() as session:
        assert await session.scalar(select(func.count()).select_from(StaffSession)) == 1
        stored = await session.scalar(select(StaffSession.id_hash))
    assert stored not in (first, second)  # only a hash is stored
    other = await Browser.open(h)
    try:
        for stale in (planted, first):
            other.http.cookie_jar.clear()
            other.plant("amtsbote_staff", stale)
            r, _ = await other.get("/staff/offices/riesa/days/2026-11-23")
            assert r.status == 303 and "/staff/login" in r.headers["Location"]
    finally:
        await other.close()


async def test_failed_logins_are_throttled_per_name_and_per_address(h: Harness,
                                                                    browser: Browser) -> None:
    await add_user(h, "anna", ["riesa"])
    await add_user(h, "bert", ["riesa"])
    for _ in range(5):
        assert (await browser.login("anna", "falsch-falsch-falsch")).status == 401
    for name in ("anna", "ANNA", " Anna"):  # the right password, any spelling of the name
        r, page = await browser.post("/staff/login", {"username": name, "password": PASSWORD})
        assert r.status == 429, name
        assert 1 <= int(r.headers["Retry-After"]) <= 15 * 60
        assert "Zu viele Anmeldeversuche" in page and "Traceback" not in page
    assert (await browser.login("bert")).status == 303  # another name from here: still fine
    await browser.post("/staff/logout", {})
    h.clock.advance(minutes=16)
    assert (await browser.login("anna")).status == 303  # the window has passed
    await browser.post("/staff/logout", {})

    # One address trying many names: past 20 failures in 15 minutes every login from it waits.
    h.clock.advance(minutes=16)
    for i in range(20):
        assert (await browser.login(f"rate{i // 4}", "falsch-falsch-falsch")).status == 401
    r, page = await browser.post("/staff/login", {"username": "bert", "password": PASSWORD})
    assert r.status == 429 and "Retry-After" in r.headers


async def test_an_idle_session_ends(h: Harness, browser: Browser) -> None:
    await add_user(h, "anna", ["riesa"])
    await browser.login("anna")
    day = "/staff/offices/riesa/days/2026-11-23"
    for _ in range(3):  # in use: 20 minutes between pages keep it alive
        h.clock.advance(minutes=20)
        r, _ = await browser.get(day)
        assert r.status == 200
    h.clock.advance(minutes=h.ctx.config.server.staff_idle_minutes + 1)
    r, _ = await browser.get(day)
    assert r.status == 303
    assert r.headers["Location"] == f"/staff/login?next={day}&expired=1"
    r, page = await browser.get(r.headers["Location"])
    assert "nach längerer Pause abgemeldet" in page
    async with h.ctx.db() as session:
        assert await session.scalar(select(func.count()).select_from(StaffSession)) == 0
    r = await browser.login("anna", then=day)  # and back to the page asked for
    assert r.headers["Location"] == day


async def test_a_form_without_its_csrf_token_is_refused(h: Harness, browser: Browser) -> None:
    await add_user(h, "anna", ["riesa"])
    a = await book_at(h, "riesa", 10)
    await browser.login("anna")
    for csrf in (False, True):
        if csrf:
            browser.csrf, token = "not-the-token", browser.csrf
        r, page = await browser.step("riesa", a.id, "arrived", csrf=csrf)
        assert r.status == 403 and "Formular abgelaufen" in page
    browser.csrf = token
    r, _ = await browser.post("/staff/logout", {}, csrf=False)
    assert r.status == 403
    async with h.ctx.db() as session:
        row = await session.get(Appointment, a.id)
        assert row is not None and row.arrived_at is None
    r, _ = await browser.get("/staff/offices/riesa/days/2026-11-23")
    assert r.status == 200  # still logged in
    # The login form has its own token.
    other = await Browser.open(h)
    try:
        r, page = await other.post("/staff/login", {"username": "anna", "password": PASSWORD},
                                   csrf=False)
        assert r.status == 403 and other.cookie("amtsbote_staff") is None
    finally:
        await other.close()


async def test_a_clerk_sees_and_changes_only_their_offices(h: Harness,
                                                           browser: Browser) -> None:
    await add_user(h, "riesa_clerk", ["riesa"])
    await add_user(h, "county", [], role="county_admin")
    meissen = await book_at(h, "meissen", 10, name="Bernd Meier")
    await browser.login("riesa_clerk")
    for path in ("/staff/offices/meissen/days/2026-11-23",
                 "/staff/offices/meissen/weeks/2026-11-23"):
        r, page = await browser.get(path)
        assert r.status == 403 and "Kein Zugriff" in page and "Bernd Meier" not in page
    r, page = await browser.step("meissen", meissen.id, "arrived")
    assert r.status == 403
    r, page = await browser.step("riesa", meissen.id, "arrived")  # through their own office
    assert r.status == 404
    r, page = await browser.get("/staff/search?q=Meier")
    assert "Bernd Meier" not in page
    r, page = await browser.get("/staff/offices/dresden/days/2026-11-23")
    assert r.status == 404 and "Nicht gefunden" in page
    for bad in ("2026-13-01", "heute", "2026-11-31", "10000-01-01", "0001-01-01"):
        r, page = await browser.get(f"/staff/offices/riesa/days/{bad}")
        assert r.status == 400 and "JJJJ-MM-TT" in page, bad
    r, _ = await browser.get("/staff/offices/riesa/weeks/2999-12-31")
    assert r.status == 400
    async with h.ctx.db() as session:
        row = await session.get(Appointment, meissen.id)
        assert row is not None and row.arrived_at is None

    county = await Browser.open(h)
    try:
        await county.login("county")
        r, page = await county.get("/staff/offices/meissen/days/2026-11-23")
        assert r.status == 200 and "Bernd Meier" in page
        r, _ = await county.step("meissen", meissen.id, "arrived")
        assert r.status == 303
    finally:
        await county.close()


async def test_the_audit_log_holds_ids_only(h: Harness, browser: Browser) -> None:
    user = await add_user(h, "anna", ["riesa"])
    a = await book_at(h, "riesa", 10, name="Carla Schulze")
    b = await book_at(h, "riesa", 11, name="Dieter Lehmann")
    await browser.login("anna")  # lands on today's list: two views
    await browser.step("riesa", a.id, "arrived")
    assert set(AuditEntry.__table__.columns.keys()) == {"id", "at", "user_id", "action",
                                                        "appointment_id", "duration_ms"}
    async with h.ctx.db() as session:
        rows = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert {(r.user_id, r.action, r.appointment_id) for r in rows} == {
        (user.id, "view", a.id), (user.id, "view", b.id), (user.id, "arrived", a.id)}
    assert all(r.at == h.ctx.now() for r in rows)
    values = " ".join(str(v) for r in rows for v in (r.action, r.user_id, r.appointment_id))
    for personal in ("Carla", "Schulze", "Lehmann", a.reference, b.reference, "anna"):
        assert personal not in values


async def test_passwords_never_reach_a_log_or_the_terminal(
        setup: tuple[Path, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    config, url = setup
    caplog.set_level(logging.DEBUG)
    await staff(capsys, monkeypatch, config, "add", "anna", "--office", "riesa",
                stdin=PASSWORD + "\n")
    async with Harness(config, database_url=url, now=NOW) as h:
        b = await Browser.open(h)
        try:
            await b.login("anna", "Falsches-Passwort-123")
            await b.login("anna")
            for _ in range(5):
                await b.login("anna", "Falsches-Passwort-123")
            await b.login("anna")  # throttled
        finally:
            await b.close()
        async with h.ctx.db() as session:
            stored = await session.scalar(select(StaffUser.password_hash))
    _, out, err = await staff(capsys, monkeypatch, config, "reset-password", "anna",
                              stdin=NEW_PASSWORD + "\n")
    assert stored and stored.startswith("$argon2id$") and PASSWORD not in stored
    logged = caplog.text + out + err
    assert "staff login failed" in caplog.text  # the log does say what happened
    for secret in (PASSWORD, NEW_PASSWORD, "Falsches-Passwort-123"):
        assert secret not in logged
    assert caplog.records and all(secret not in str(r.args) for r in caplog.records
                                  for secret in (PASSWORD, NEW_PASSWORD))


async def test_after_the_login_only_back_office_pages_are_followed(h: Harness,
                                                                   browser: Browser) -> None:
    await add_user(h, "anna", ["riesa"])
    for target in ("https://evil.example/staff/", "//evil.example/staff/",
                   "/staff//evil.example", "/elsewhere"):
        r = await browser.login("anna", then=target)
        assert r.status == 303 and r.headers["Location"] == "/staff/", target
        await browser.post("/staff/logout", {})
