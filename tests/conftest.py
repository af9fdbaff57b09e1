"""Shared fixtures. Real peers (Rasa, PostgreSQL, Synapse, Radicale, SMTP, Chromium) are
started by the test kit's fixture modules (assistant/testing/peers/); helpers several test
modules share are in tests/support/. The kit's pytest plugin (assistant/testing/fixtures.py)
adds `amtsbote` and `scripted_rasa`; `harness` below is the same application on the real Rasa."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assistant.i18n import use_catalogs
from assistant.plugins import installed_catalog_files
from assistant.testing import Harness

pytest_plugins = [
    "assistant.testing.peers.rasa",
    "assistant.testing.peers.postgres",
    "assistant.testing.peers.smtp",
    "assistant.testing.peers.radicale",
    "assistant.testing.peers.synapse",
    "assistant.testing.peers.browser",
    "tests.support.pg_cluster",
]

# Fixtures that start or need a peer outside the test process. A test using one (directly or
# through another fixture) is marked `peers`, like the tests marked rasa/postgres/browser:
# `pytest -m "not peers"` runs what needs nothing else (scripts/test does, with the wall clock
# moved). In-process stand-ins (telegram_api, twilio_api, ScriptedRasa) are not peers.
PEER_FIXTURES = {"rasa_url", "pg_url", "smtp_server", "smtp_tls_server", "radicale",
                 "radicale_server", "xandikos", "synapse", "browser"}
PEER_MARKS = ("rasa", "postgres", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & PEER_FIXTURES or any(item.get_closest_marker(m) for m in PEER_MARKS):
            item.add_marker(pytest.mark.peers)


@pytest.fixture(autouse=True, scope="session")
def _every_plugins_texts() -> None:
    """Tests that render texts without building the application (a channel's `render`,
    `t("book.done")`) see every installed plugin's catalog, as if all were enabled; the
    application itself merges only the enabled plugins' (tests/test_catalogs.py)."""
    use_catalogs(installed_catalog_files())


BERLIN = ZoneInfo("Europe/Berlin")
# Monday 23 November 2026, 09:00 in Meißen: the fixed "now" of the dialogue tests.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)


@pytest.fixture
async def harness(rasa_url: str) -> AsyncIterator[Harness]:
    """The real application on a fresh SQLite database, talking to the real Rasa server."""
    async with Harness(nlu_url=rasa_url, now=NOW) as h:
        yield h


@pytest.fixture
async def offline_harness() -> AsyncIterator[Harness]:
    """The application with Rasa unreachable (a closed port): degraded mode."""
    async with Harness(nlu_url="http://127.0.0.1:9", now=NOW) as h:
        yield h


@pytest.fixture
async def browser_page() -> AsyncIterator[Any]:
    """A page of headless Chromium for the back-office pages (tests/support/staff.py)."""
    if not shutil.which("chromium"):
        pytest.skip("browser tests need Debian's chromium (apt-get install -y chromium)")
    from tests.support.staff import chromium_page

    async with chromium_page() as page:
        yield page
