"""Issue 14: caller ID (and an SMS sender number) can be spoofed, so by default it only fills
in the contact; the last name is still asked before an appointment is read out. An office may
opt in with `channels.voice.caller_id_is_proof: true`."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest

from assistant.booking import book
from assistant.config import load_config
from assistant.messages import Incoming, Reply
from assistant.testing import Harness
from assistant.testing.peers.twilio_api import running
from assistant.twilio_channels import converse
from tests.conftest import BERLIN, NOW

CONFIG = Path(__file__).parent / "configs" / "twilio.yml"
OFFLINE_NLU = "http://127.0.0.1:9"  # payloads and names need no NLU
MOBILE = "+4917612345678"
TUE_9 = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)


@asynccontextmanager
async def line(monkeypatch: pytest.MonkeyPatch, **voice: object) -> AsyncIterator[Harness]:
    config = load_config(CONFIG)
    channels = copy.deepcopy(config.channels)
    channels["voice"] = {**(channels.get("voice") or {}), **voice}
    async with running(monkeypatch), Harness(config.model_copy(update={"channels": channels}),
                                             nlu_url=OFFLINE_NLU, now=NOW) as h:
        yield h


async def booked_from(h: Harness, phone: str) -> str:
    a = await book.book_now(h.ctx, service_id="reisepass", office_id="riesa", start=TUE_9,
                            citizen=book.Citizen("Anna Schmidt", phone=phone),
                            origin=book.Origin(channel="voice", sender=f"{phone}/CA1",
                                               language="de"))
    assert a is not None
    return a.reference


async def call(h: Harness, channel: str, text: str, number: str = MOBILE) -> list[Reply]:
    sender = f"{number}/CA2" if channel == "voice" else number
    return await converse(h.ctx, Incoming(channel=channel, sender=sender, text=text,
                                          language="de", verified_contact=number))


def keys(replies: list[Reply]) -> list[str]:
    return [r.key for r in replies]


@pytest.mark.parametrize("channel", ["voice", "sms"])
async def test_a_matching_number_is_still_asked_for_the_last_name(
        monkeypatch: pytest.MonkeyPatch, channel: str) -> None:
    async with line(monkeypatch) as h:
        reference = await booked_from(h, MOBILE)
        ask = await call(h, channel, f'/check_appointment{{"reference": "{reference}"}}')
        assert "manage.ask_proof" in keys(ask) and "manage.found" not in keys(ask)
        assert not any("Reisepass" in r.text for r in ask)
        found = await call(h, channel, "Schmidt")
        assert "manage.found" in keys(found)


async def test_an_office_may_take_caller_id_as_proof(monkeypatch: pytest.MonkeyPatch) -> None:
    async with line(monkeypatch, caller_id_is_proof=True) as h:
        assert h.ctx.settings("voice").caller_id_is_proof is True
        reference = await booked_from(h, MOBILE)
        found = await call(h, "voice", f'/check_appointment{{"reference": "{reference}"}}')
        assert "manage.found" in keys(found) and "manage.ask_proof" not in keys(found)
        # Another number is asked for the name as before.
        other = await call(h, "voice", f'/check_appointment{{"reference": "{reference}"}}',
                           number="+4915112345678")
        assert "manage.ask_proof" in keys(other)


def test_caller_id_is_no_proof_unless_configured() -> None:
    from channels.voice.settings import VoiceSettings

    assert VoiceSettings().caller_id_is_proof is False
    assert load_config(Path(__file__).parent.parent / "config.yml").channels["voice"][
        "caller_id_is_proof"] is False
