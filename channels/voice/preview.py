"""`amtsbote voice preview`: a typical booking call's prompts, rendered exactly as the line
renders them, spoken into a WAV file with espeak-ng (to hear the line before going live)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.plugin import Button, Reply, t

from .settings import VoiceSettings
from .turns import Turn, render
from .twiml import TwimlWriter

if TYPE_CHECKING:
    from assistant.plugin import Config


def add_command(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("voice", help="the phone line (Twilio Voice)")
    sub = parser.add_subparsers(dest="voice_command", required=True)
    preview = sub.add_parser("preview", help="render a sample call's prompts to a WAV file "
                                             "with espeak-ng, to hear how the line sounds")
    preview.add_argument("--out", default="voice-preview.wav", help="WAV file to write")
    preview.add_argument("--lang", choices=["de", "en"], default="de")
    preview.add_argument("--twiml", action="store_true", help="also print the TwiML")
    preview.set_defaults(func=cmd_preview)


def sample_call(config: Config, lang: str, now: datetime) -> list[Turn]:
    """The prompts of a typical booking call, rendered exactly as the line renders them."""
    from assistant.plugin import when

    office, service = config.offices[0], config.services[0]
    tz = office.tz
    day = (now.astimezone(tz) + timedelta(days=1)).replace(hour=9, minute=30, second=0,
                                                           microsecond=0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    starts = [day, day.replace(hour=10, minute=0), day.replace(hour=14, minute=15)]
    menu = [Button(t(k, lang), p) for k, p in (
        ("menu.book", "/book_appointment"), ("menu.reschedule", "/reschedule_appointment"),
        ("menu.cancel", "/cancel_appointment"), ("menu.check", "/check_appointment"))]
    ref = "K7Q-M4P"

    def reply(key: str, buttons: list[Button] | None = None, data: dict[str, Any] | None = None,
              **params: Any) -> Reply:
        return Reply(text=t(key, lang, **params), buttons=tuple(buttons or ()), key=key,
                     params=params, data=data or {}, language=lang)

    slots = [{"start": s.isoformat(), "office": office.id} for s in starts]
    yes_no = [Button(t("button.yes", lang), "/affirm"), Button(t("button.no", lang), "/deny")]
    common = {"service": service.name.get(lang), "office": office.name.get(lang)}
    turns = [
        render([reply("greet", menu)], True, lang),
        render([reply("book.ask_time", [Button(t("time.asap", lang), "/inform")], **common)],
               True, lang),
        render([reply("slot.offer", [Button(str(i), f'/choose{{"slot": {i}}}')
                                     for i in range(1, 4)], listing="", slots=slots,
                      office=office.name.get(lang))], True, lang, config),
        render([reply("book.ask_name")], True, lang),
        render([reply("book.summary", yes_no, when=when(starts[0], lang), name="Anna Schmidt",
                      contact="", mode=t("mode.in_person", lang), **common)], True, lang),
        render([reply("book.done", data={"reference": ref}, reference=ref,
                      when=when(starts[0], lang), address=office.address.one_line(),
                      documents="\n".join(f"• {d}" for d in service.documents[lang]),
                      fee=service.fee.get(lang), **common),
                reply("book.keep_reference", reference=ref)], False, lang),
    ]
    turns[0].add(t("voice.staff_hint", lang))
    turns[0].add(t("voice.other_language", lang), "en" if lang == "de" else "de")
    return turns


def cmd_preview(args: argparse.Namespace) -> int:
    import asyncio

    from assistant.plugin import command_context, load_config

    config = load_config(args.config)

    async def now() -> datetime:
        async with command_context(config) as ctx:
            return ctx.now()

    turns = sample_call(config, args.lang, asyncio.run(now()).astimezone(config.offices[0].tz))
    text = "\n\n".join(" ".join(s for s, _ in turn.say) for turn in turns)
    print(text)
    if args.twiml:
        print("\n" + TwimlWriter(config, VoiceSettings()).twiml(turns[0], 1))
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("espeak-ng is not installed: apt-get install espeak-ng (Debian/Ubuntu)")
        return 1
    voice = "de" if args.lang == "de" else "en-gb"
    subprocess.run([espeak, "-v", voice, "-s", "150", "-w", args.out, text.replace("\n\n", ". ")],
                   check=True)
    print(f"\nwrote {args.out}")
    return 0
