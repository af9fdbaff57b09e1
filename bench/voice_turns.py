"""How many turns (webhook round trips, the call's start included) a booking by phone takes.

Simulated callers open the call in different ways (one sentence with everything, a bare "Termin
buchen", keys only, English via 9 …) and then answer whatever the line asks: service, office,
time (key for "next week"), the first offered slot, their name, "1" to confirm. Prints turns per
caller and the median; `--twiml FILE` writes the first caller's whole call as TwiML.

    .venv/bin/python bench/voice_turns.py [--twiml voice-sample-call.xml]

Uses the real app and the real Rasa (RASA_URL, or started like the tests do), signed webhooks
as Twilio sends them, and the local fake of Twilio's Messages API.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import statistics
import sys
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from assistant.nlu import rasa_runner
from assistant.testing import Harness
from assistant.testing.peers import twilio_api

ROOT = Path(__file__).resolve().parent.parent

CONFIG = ROOT / "tests" / "configs" / "twilio.yml"
PATH = "/webhooks/twilio/voice"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
MAX_TURNS = 20

# (name, opening moves) — a move is ("say", text) or ("press", key).
CALLERS: list[tuple[str, list[tuple[str, str]]]] = [
    ("all in one sentence", [("say", "Ich brauche einen neuen Personalausweis in Meißen")]),
    ("with a time", [("say", "Ich möchte nächste Woche einen Reisepass in Riesa beantragen")]),
    ("moved house", [("say", "Ich bin umgezogen und muss mich in Radebeul ummelden")]),
    ("just 'Termin buchen'", [("say", "Ich möchte einen Termin buchen")]),
    ("keys only", [("press", "1")]),
    ("car", [("say", "Guten Tag, ich muss mein Auto in Großenhain zulassen")]),
    ("English via 9", [("press", "9"), ("say", "I need an appointment for a new passport")]),
]

# What the caller answers to each question (German, English).
ANSWERS = [
    (("Wofür brauchen Sie", "What do you need"), ("say", "Personalausweis")),
    (("In welchem Bürgerbüro", "Which citizens' office"), ("say", "Meißen")),
    (("Wann passt es", "When would suit"), ("key", "nächste Woche|next week")),
    (("Termine frei", "times are free"), ("press", "1")),
    (("Auf welchen Namen", "Under which name"), ("say", "Anna Schmidt")),
    (("Ich fasse zusammen", "To sum up"), ("press", "1")),
]
DONE = ("Ihr Termin ist gebucht", "Your appointment is booked")


class SimulatedCall:
    def __init__(self, client, number: str = "+4917612345678") -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.number = number
        self.sid = "CA" + secrets.token_hex(16)
        self.next = PATH
        self.turns = 0
        self.xml: list[str] = []

    async def post(self, **params: str) -> str:
        form = {"CallSid": self.sid, "AccountSid": twilio_api.ACCOUNT_SID, "From": self.number,
                "To": twilio_api.FROM_NUMBER, "CallStatus": "in-progress",
                "Direction": "inbound", **params}
        status, body = await twilio_api.post_signed(self.client, self.next, form)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body}")
        self.turns += 1
        self.xml.append(body)
        root = ElementTree.fromstring(body)
        gather = root.find("Gather")
        if gather is not None:
            self.next = gather.get("action", "").removeprefix(twilio_api.PUBLIC_URL)
        return " ".join(s.text or "" for s in root.iter("Say"))

    async def move(self, kind: str, value: str, text: str) -> str:
        if kind == "say":
            return await self.post(SpeechResult=value, Confidence="0.9")
        if kind == "press":
            return await self.post(Digits=value)
        m = re.search(rf"(?:Für|For) (?:{value})[^.]*?(\d)\.", text, re.I)
        if not m:
            raise RuntimeError(f"no key for {value!r} in {text!r}")
        return await self.post(Digits=m.group(1))


async def run_caller(client, opening: list[tuple[str, str]]) -> SimulatedCall:  # type: ignore[no-untyped-def]
    call = SimulatedCall(client)
    text = await call.post(CallStatus="ringing")
    for kind, value in opening:
        text = await call.move(kind, value, text)
    while not any(d in text for d in DONE):
        if call.turns >= MAX_TURNS:
            raise RuntimeError(f"no booking after {MAX_TURNS} turns; last: {text!r}")
        answer = next((a for questions, a in ANSWERS if any(q in text for q in questions)),
                      None)
        if answer is None:
            raise RuntimeError(f"unexpected prompt: {text!r}")
        text = await call.move(*answer, text)
    return call


def rasa_url() -> tuple[str, rasa_runner.RasaServer | None]:
    external = os.environ.get("RASA_URL")
    if external:
        return external, None
    model = rasa_runner.ensure_model(ROOT / "config.yml", ROOT)
    server = rasa_runner.start_server(model.path, port=rasa_runner.free_port(), root=ROOT,
                                      log_path=ROOT / "var" / "rasa-bench-voice.log")
    server.wait_ready(timeout=180)
    return server.url, server


async def measure(url: str) -> tuple[list[int], list[str]]:
    """Turns per simulated caller, and the first caller's call as TwiML documents."""
    os.environ.update({"TWILIO_ACCOUNT_SID": twilio_api.ACCOUNT_SID,
                       "TWILIO_AUTH_TOKEN": twilio_api.AUTH_TOKEN,
                       "TWILIO_FROM_NUMBER": twilio_api.FROM_NUMBER})
    turns: list[int] = []
    sample: list[str] = []
    for name, opening in CALLERS:
        async with Harness(config=CONFIG, nlu_url=url, now=NOW) as h:
            call = await run_caller(await h.http(), opening)
        turns.append(call.turns)
        sample = sample or call.xml
        print(f"{name:28s} {call.turns:2d} turns", flush=True)
    return turns, sample


def main(args: argparse.Namespace) -> int:
    url, server = rasa_url()
    try:
        turns, sample = asyncio.run(measure(url))
    finally:
        if server is not None:
            server.stop()
    if args.twiml:
        Path(args.twiml).write_text("\n\n".join(sample) + "\n", encoding="utf-8")
    print(f"\nvoice booking: median {statistics.median(turns):g} turns "
          f"(min {min(turns)}, max {max(turns)}, {len(turns)} callers; the call's start counts "
          "as a turn)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twiml", help="write the first caller's call as TwiML to this file")
    sys.exit(main(parser.parse_args()))
