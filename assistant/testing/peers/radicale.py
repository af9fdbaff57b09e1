"""Real CalDAV servers for calendar tests: Radicale (and xandikos as a second opinion).

`radicale` (session scope) is one Radicale on a free loopback port with its own storage
folder; each test makes its own calendars with `new_calendar`. `radicale_server` (function
scope) is a Radicale of the test's own, for tests that stop and restart the server.
Radicale runs with `--auth-type none`, but clients still send Basic credentials: the user name
picks the owner of the collections (`CALDAV_USER`).
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import caldav
import pytest
from icalendar import Calendar, Event

from assistant.config import CalendarCfg, Config, load_config
from assistant.testing.net import free_port

CALDAV_USER = "amtsbote"
CALDAV_PASSWORD = "not-checked"  # Radicale with auth `none` accepts any password


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"CalDAV server exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"CalDAV server not listening on {port} after {timeout}s")


class DavServer:
    """A CalDAV server process that can be stopped and started again on the same port and
    storage (to test a calendar going down and coming back)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = folder / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def principal_url(self) -> str:
        return f"{self.url}{CALDAV_USER}/"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> DavServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        _wait_port(self.port, self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self, timeout: float = 60) -> caldav.DAVClient:
        return caldav.DAVClient(url=self.url, username=CALDAV_USER, password=CALDAV_PASSWORD,
                                timeout=timeout, enable_rfc6764=False)

    def new_calendar(self, name: str | None = None) -> Any:
        """A new, empty calendar; its display name is `name` (or a random one)."""
        name = name or f"Kalender {secrets.token_hex(3)}"
        return self.client().principal().make_calendar(name=name,
                                                       cal_id=f"cal-{secrets.token_hex(6)}")


class Radicale(DavServer):
    def command(self) -> list[str]:
        return [sys.executable, "-m", "radicale",
                "--storage-filesystem-folder", str(self.folder / "storage"),
                "--server-hosts", f"127.0.0.1:{self.port}",
                "--auth-type", "none", "--auth-delay", "0", "--logging-level", "warning"]


class Xandikos(DavServer):
    """xandikos with `--defaults` creates the principal `/user/` and its calendar home."""

    @property
    def principal_url(self) -> str:
        return f"{self.url}user/"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "xandikos.web", "--defaults", "-d", str(self.folder / "data"),
                "--state-dir", str(self.folder / "state"), "-l", "127.0.0.1",
                "-p", str(self.port), "--current-user-principal", "/user/"]

    def client(self, timeout: float = 60) -> caldav.DAVClient:
        return caldav.DAVClient(url=self.principal_url, username=CALDAV_USER,
                                password=CALDAV_PASSWORD, timeout=timeout, enable_rfc6764=False)


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    server = Radicale(tmp_path_factory.mktemp("radicale")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def radicale_server(tmp_path: Path) -> Iterator[Radicale]:
    server = Radicale(tmp_path / "radicale").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def xandikos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Xandikos]:
    server = Xandikos(tmp_path_factory.mktemp("xandikos")).start()
    try:
        yield server
    finally:
        server.stop()


# -- helpers for the calendar tests ------------------------------------------------------------

USER_ENV, PASSWORD_ENV = "TEST_CALDAV_USER", "TEST_CALDAV_PASSWORD"


@pytest.fixture
def caldav_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables `username_env` / `password_env` name in the test offices' options."""
    monkeypatch.setenv(USER_ENV, CALDAV_USER)
    monkeypatch.setenv(PASSWORD_ENV, CALDAV_PASSWORD)


def office_calendar(config: Config | str | Path, backend: str, options: dict[str, Any],
                    office: str = "meissen", plugins: dict[str, Any] | None = None,
                    **office_fields: Any) -> Config:
    """`config` with `office`'s calendar set to `backend` and `options` (and `plugins`'
    sections added)."""
    base = config if isinstance(config, Config) else load_config(config)
    cal = CalendarCfg(backend=backend, options=options)
    offices = [o.model_copy(update={"calendar": cal, **office_fields}) if o.id == office else o
               for o in base.offices]
    return base.model_copy(update={"offices": offices,
                                   "plugins": {**base.plugins, **(plugins or {})}})


def caldav_options(server: DavServer, calendar: Any = None, **more: Any) -> dict[str, Any]:
    """CalDAV options for `server`: the calendar by URL unless `more` says otherwise."""
    options: dict[str, Any] = {"url": server.url, "username_env": USER_ENV,
                               "password_env": PASSWORD_ENV}
    if calendar is not None:
        options["calendar"] = str(calendar.url)
    return {**options, **more}


def add_event(cal: Any, uid: str, start: datetime, end: datetime | date, summary: str,
              **props: Any) -> None:
    """Add an entry to `cal` as a member of staff would (RRULE, TRANSP, STATUS as props)."""
    vcal = Calendar()
    vcal.add("prodid", "-//Groupware of the office//DE")
    vcal.add("version", "2.0")
    ev = Event()
    ev.add("uid", uid)
    ev.add("dtstamp", datetime(2026, 11, 1, tzinfo=UTC))
    ev.add("dtstart", start)
    ev.add("dtend", end)
    ev.add("summary", summary)
    for key, value in props.items():
        ev.add(key, value)
    vcal.add_component(ev)
    if isinstance(start, datetime) and start.tzinfo is not None:
        vcal.add_missing_timezones(first_date=date(2025, 1, 1), last_date=date(2028, 1, 1))
    cal.add_event(vcal.to_ical().decode())


def events_with_uid(cal: Any, uid: str) -> list[Any]:
    """Every resource in `cal` carrying `uid` (to prove there is exactly one)."""
    return [e for e in cal.search(event=True) if str(e.icalendar_component.get("uid")) == uid]
