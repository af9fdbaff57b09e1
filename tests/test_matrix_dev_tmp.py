from __future__ import annotations
import logging
from pathlib import Path
import pytest
from assistant.testing import Harness
from tests.conftest import NOW
from tests.peers.synapse import ChatClient

CONFIG = Path(__file__).parent / "configs" / "matrix.yml"

@pytest.fixture
async def env(synapse, tmp_path, monkeypatch):
    bot = await synapse.register()
    monkeypatch.setenv("MATRIX_TEST_HOMESERVER", synapse.url)
    monkeypatch.setenv("MATRIX_TEST_USER_ID", bot.user_id)
    monkeypatch.setenv("MATRIX_TEST_PASSWORD", bot.password)
    monkeypatch.setenv("MATRIX_TEST_STORE", str(tmp_path / "store"))
    return bot

async def test_dev(synapse, env, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    anna = await synapse.register()
    db = f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3"
    async with ChatClient(synapse, anna) as c, Harness(config=CONFIG, nlu_url="http://127.0.0.1:9", database_url=db, now=NOW) as h:
        room = await c.open_chat(env.user_id)
        msgs = await c.receive(room, env.user_id)
        for m in msgs: print("BOT:", m.body, "\n   ", m.formatted_body)
        for text in ["1", "3", "2", "1", "2", "Anna Schmidt", "1", "1"]:
            await c.send(room, text)
            print("ME:", text)
            msgs = await c.receive(room, env.user_id)
            for m in msgs: print("BOT:", m.body)
