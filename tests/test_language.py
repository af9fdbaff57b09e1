"""German or English: the assistant answers in the language the citizen writes."""

from __future__ import annotations

import pytest

from assistant.nlu.language import detect_language

GERMAN = [
    "Ich möchte einen Termin für meinen Personalausweis",
    "ich moechte einen termin fuer meinen perso",
    "Ich brauche ein Meeting per Video",
    "Kann ich den Termin verschieben?",
    "Wie lange dauert das?",
    "Was kostet ein Reisepass?",
    "Geht auch Samstag?",
    "Perso Riesa morgen",
    "morgen vormittag",
    "Termin absagen",
    "Super, danke!",
    "Danke schön",
    "Wohnsitz ummelden",
    "Mo 10 Uhr",
    "Entschuldigung, ich habe mich vertippt",
    "Aufenthaltstitel verlängern",
    "Ich hätte gerne einen Termin beim Bürgerbüro",
    "Meeting per Video bitte",
    "hallo ich brauch nen termin fürn führerschein",
    "ja",
    "nein",
    "Hallo",
    "danke",
    "Guten Morgen",
    "stornieren",
]

ENGLISH = [
    "I want make appointment for passport",
    "Can I move my appointment?",
    "How long does it take?",
    "What does a passport cost?",
    "Does Saturday work?",
    "Is there a free slot on friday?",
    "tomorrow morning",
    "Monday 10am",
    "register address",
    "residence permit",
    "video call please",
    "thank you",
    "sorry, typo",
    "I need an Anmeldung in Riesa",
    "Reisepass please",
    "my Perso expired",
    "i need appointment for driving licence plz",
    "yes",
    "no",
    "Hello",
    "thanks",
    "good morning",
    "cancel",
    "appointment",
    "passport",
]

# Messages that do not tell: the conversation keeps its language.
NEUTRAL = [
    "ok", "Ok!", "okay", "hi", "super", "sorry", "1", "2.", "10:30", "K7Q-M4P", "k7qm4p",
    "0351 123456", "Riesa", "Meißen", "Großenhain", "Coswig", "👍", "🙂🙂", "", "   ", "?",
    "Hauptstraße 12", "Anmeldung", "Führerschein", "Gewerbeanmeldung",
]


@pytest.mark.parametrize("previous", [None, "de", "en"])
@pytest.mark.parametrize("text", GERMAN)
def test_german(text: str, previous: str | None) -> None:
    assert detect_language(text, previous) == "de"


@pytest.mark.parametrize("previous", [None, "de", "en"])
@pytest.mark.parametrize("text", ENGLISH)
def test_english(text: str, previous: str | None) -> None:
    assert detect_language(text, previous) == "en"


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral_messages_keep_the_conversation_language(text: str) -> None:
    assert detect_language(text, "en") == "en"
    assert detect_language(text, "de") == "de"
    assert detect_language(text) == "de"  # a new conversation starts in German


def test_unknown_previous_falls_back_to_german() -> None:
    assert detect_language("ok", "fr") == "de"
