"""The test kit as a pytest plugin, loaded wherever Amtsbote is installed (entry point
`pytest11`, name `amtsbote`; with PYTEST_DISABLE_PLUGIN_AUTOLOAD: `-p assistant.testing.fixtures`).

- `amtsbote`: the application under test, a `Harness` (the real app on a throwaway SQLite
  database, clock pinned to Monday 23 November 2026 09:00 Berlin and movable through
  `amtsbote.clock`, recording channel `test`), with `amtsbote_plugins` registered, reading
  `amtsbote_config`, understanding through `scripted_rasa`; like errbot's `testbot`.
- `scripted_rasa`: the running `ScriptedRasa` it asks: fill `scripted_rasa.script`
  (text -> intent or (intent, entities)) before the citizen speaks.
- `amtsbote_plugins` (default: none) and `amtsbote_config` (default None: the checkout's
  config.yml): override them in a conftest.py or test module to bring your plugin objects or
  modules and your configuration.

Real peers are opt-in, one pytest plugin module each, e.g. in your conftest.py::

    pytest_plugins = ["assistant.testing.peers.smtp", "assistant.testing.peers.radicale"]

`rasa` (`rasa_url`: the trained model; needs a source checkout or RASA_URL), `postgres`
(`pg_url`), `smtp` (`smtp_server`, `smtp_tls_server`), `radicale` (`radicale`, `xandikos`),
`synapse` (`synapse`), `browser` (`browser`, `page`: Chromium), `telegram_api` and `twilio_api`
(stand-ins for those clouds).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from assistant.config import Config
from assistant.testing.harness import Harness
from assistant.testing.rasa import ScriptedRasa


@pytest_asyncio.fixture
async def scripted_rasa() -> AsyncIterator[ScriptedRasa]:
    async with ScriptedRasa() as rasa:
        yield rasa


@pytest.fixture
def amtsbote_config() -> Config | str | Path | None:
    return None


@pytest.fixture
def amtsbote_plugins() -> list[Any]:
    return []


@pytest_asyncio.fixture
async def amtsbote(scripted_rasa: ScriptedRasa, amtsbote_config: Config | str | Path | None,
                   amtsbote_plugins: list[Any]) -> AsyncIterator[Harness]:
    async with Harness(amtsbote_config, nlu_url=scripted_rasa.url,
                       plugins=amtsbote_plugins) as h:
        yield h
