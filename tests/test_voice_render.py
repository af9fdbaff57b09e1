"""How the phone line speaks: times, spelled codes, options, TwiML; and `amtsbote voice preview`."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from pydantic import ValidationError

from assistant.cli import main
from assistant.config import load_config
from assistant.i18n import t, when
from assistant.messages import Button, Reply
from channels.voice.preview import sample_call
from channels.voice.settings import VoiceSettings
from channels.voice.speech import collapse_spelled, speak_times, spell, spoken_when
from channels.voice.turns import render
from channels.voice.twiml import TwimlWriter
from tests.conftest import BERLIN

CONFIG = Path(__file__).parent / "configs" / "twilio.yml"


@pytest.mark.parametrize(("hour", "minute", "de", "en"), [
    (9, 30, "um halb zehn", "at half past nine"),
    (9, 0, "um neun Uhr", "at nine o'clock"),
    (9, 15, "um Viertel nach neun", "at quarter past nine"),
    (8, 45, "um Viertel vor neun", "at quarter to nine"),
    (10, 20, "um zehn Uhr 20", "at ten 20"),
    (12, 30, "um halb eins", "at half past twelve"),
    (14, 30, "um 14 Uhr 30", "at 2:30 pm"),
    (16, 0, "um 16 Uhr", "at 4 pm"),
])
def test_times_are_spoken_as_people_say_them(hour: int, minute: int, de: str, en: str) -> None:
    dt = datetime(2026, 12, 1, hour, minute, tzinfo=BERLIN)
    assert spoken_when(dt, "de") == f"Dienstag, den 1. Dezember, {de}"
    assert spoken_when(dt, "en") == f"Tuesday 1 December {en}"


def test_written_times_in_core_texts_are_rewritten_for_speech() -> None:
    dt = datetime(2026, 11, 24, 9, 30, tzinfo=BERLIN)
    text = f"Soll ich Ihren Termin auf {when(dt, 'de')} verschieben?"
    assert speak_times(text, "de") == \
        "Soll ich Ihren Termin auf Dienstag, den 24. November, um halb zehn verschieben?"
    assert speak_times(f"Moved to {when(dt, 'en')}.", "en") == \
        "Moved to Tuesday 24 November at half past nine."


def test_reference_codes_are_spelled_and_understood_when_spelled_back() -> None:
    assert spell("K7Q-M4P", "de") == "Kaufmann, Sieben, Quelle – Martha, Vier, Paula"
    assert spell("K7QM4P", "en") == "Kilo, seven, Quebec – Mike, four, Papa"
    assert collapse_spelled("Kaufmann sieben Quelle Martha vier Paula") == "K7Q-M4P"
    assert collapse_spelled("ich möchte K wie Kaufmann 7 Q M 4 P absagen") == \
        "ich möchte K7Q-M4P absagen"
    assert collapse_spelled("k7q m4p") == "K7Q-M4P"
    assert collapse_spelled("Ich brauche am Dienstag um 10 einen Termin") == \
        "Ich brauche am Dienstag um 10 einen Termin"


def test_at_most_three_options_are_read_each_with_a_key() -> None:
    buttons = tuple(Button(t(k, "de"), p) for k, p in [
        ("menu.book", "/book_appointment"), ("menu.reschedule", "/reschedule_appointment"),
        ("menu.cancel", "/cancel_appointment"), ("menu.check", "/check_appointment")])
    turn = render([Reply(text=t("menu.what", "de"), key="menu.what", buttons=buttons)],
                  mobile=True, lang="de")
    said = " ".join(text for text, _ in turn.say)
    assert said == ("Was möchten Sie tun? Für einen neuen Termin drücken Sie die 1. Für das "
                    "Verschieben eines Termins die 2. Für das Absagen eines Termins die 3. "
                    "Oder sagen Sie es mir mit eigenen Worten.")
    assert [o.payload for o in turn.options] == ["/book_appointment", "/reschedule_appointment",
                                                 "/cancel_appointment"]


@pytest.mark.parametrize(("lang", "start"), [
    ("de", "Ich bin nicht ganz sicher, was Sie meinen. Für "),
    ("en", "I am not quite sure what you mean. For "),
])
def test_asking_back_reads_a_whole_sentence_then_the_options(lang: str, start: str) -> None:
    buttons = tuple(Button(t(k, lang), p) for k, p in [
        ("intent.book_appointment", "/book_appointment"),
        ("intent.ask_service_info", "/ask_service_info")])
    turn = render([Reply(text=t("clarify", lang), key="clarify", buttons=buttons,
                         language=lang)], mobile=True, lang=lang)
    said = " ".join(text for text, _ in turn.say)
    assert said.startswith(start), said
    assert "…" not in said and " ." not in said


def test_chat_formatting_is_not_read_aloud() -> None:
    reply = Reply(text="„Hallo“ – siehe https://example.org/x\n• eins\n• Mo: 08:00–12:00",
                  key="")
    [(said, _)] = render([reply], mobile=False, lang="de").say
    assert said == "Hallo, siehe. eins. Mo: 08:00 bis 12:00."


def test_speech_model_needs_a_speech_timeout_in_seconds() -> None:
    with pytest.raises(ValidationError, match="speech_timeout in seconds"):
        VoiceSettings(speech_model="phone_call")
    assert VoiceSettings(speech_model="phone_call", speech_timeout="3").speech_timeout == "3"


def test_sample_call_twiml_has_the_documented_gather() -> None:
    config = load_config(CONFIG)
    turns = sample_call(config, "de", datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN))
    xml = TwimlWriter(config, VoiceSettings()).twiml(turns[0], 1)
    root = ElementTree.fromstring(xml)
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("action") == "https://amtsbote.example.org/webhooks/twilio/voice?t=1"
    assert [s.get("language") for s in gather.findall("Say")] == ["de-DE", "en-GB"]
    for name in ("Personalausweis", "Meißen", "Coswig", "Kaufmann"):
        assert name in gather.get("hints", "")
    booked = " ".join(text for text, _ in turns[-1].say)
    assert "Kaufmann, Sieben, Quelle – Martha, Vier, Paula" in booked
    assert "um halb zehn" in booked


def test_voice_preview_command_writes_a_wav(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    out = tmp_path / "preview.wav"
    assert main(["-c", str(CONFIG), "voice", "preview", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"RIFF" and out.stat().st_size > 100_000
    printed = capsys.readouterr().out
    assert "Guten Tag" in printed and "Kaufmann" in printed
