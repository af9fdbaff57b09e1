"""Speech-to-text from the phone line: spelled-out numbers become digits, other words stay."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.nlu.spoken import (
    ENGLISH_CARDINALS,
    ENGLISH_ORDINALS,
    GERMAN_CARDINALS,
    GERMAN_ORDINALS,
    normalize_spoken,
)
from assistant.nlu.timeparse import resolve

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)

GERMAN = [
    # clock times
    ("zehn uhr dreißig", "10 uhr 30"),
    ("zehn uhr dreissig", "10 uhr 30"),
    ("vierzehn uhr fünfzehn", "14 uhr 15"),
    ("vierzehn uhr fuenfzehn", "14 uhr 15"),
    ("zwoelf uhr", "12 uhr"),
    ("die zwoelfte", "die 12."),
    ("dreiundzwanzig uhr fünfundfünfzig", "23 uhr 55"),
    ("ein uhr dreißig", "1 uhr 30"),
    ("um zwei uhr", "um 2 uhr"),
    ("halb drei nachmittags", "halb 3 nachmittags"),
    ("halb eins", "halb 1"),
    ("um zwo", "um 2"),
    ("dreiviertel zehn", "dreiviertel 10"),
    ("drei viertel zehn", "3 viertel 10"),
    ("viertel nach drei", "viertel nach 3"),
    ("fünf vor zwölf", "5 vor 12"),
    ("zwanzig nach zehn", "20 nach 10"),
    ("zehn dreißig", "10:30"),
    ("zehn dreißig.", "10:30."),  # a full stop that ends the sentence does not stop the join
    ("zwischen neun und elf", "zwischen 9 und 11"),
    # dates
    ("am dritten dezember", "am 3. dezember"),
    ("am zweiten dezember", "am 2. dezember"),
    ("am ersten zwölften", "am 1.12."),
    ("am einundzwanzigsten zwölften", "am 21.12."),
    ("den dritten dritten", "den 3.3."),
    ("am einunddreißigsten dezember", "am 31. dezember"),
    ("am achten januar", "am 8. januar"),
    ("am ersten", "am 1."),
    ("am dritten dezember zweitausendsechsundzwanzig", "am 3. dezember 2026"),
    ("am zweiten dezember zwanzig sechsundzwanzig", "am 2. dezember 2026"),
    ("am ersten zwölften zwanzig sechsundzwanzig", "am 1.12.2026"),
    ("in zwei wochen", "in 2 wochen"),
    ("in vierzehn tagen", "in 14 tagen"),
    # options, amounts, phone numbers
    ("die zwei", "die 2"),
    ("zwei", "2"),
    ("eins", "1"),
    ("die zweite", "die 2."),
    ("nummer drei", "nummer 3"),
    ("ich bin zweiundvierzig", "ich bin 42"),
    ("null drei fünf eins eins zwei drei vier", "03511234"),
    ("zwölf vierunddreißig sechsundfünfzig", "123456"),
    # words that stay words
    ("ein termin", "ein termin"),
    ("einen termin bitte", "einen termin bitte"),
    ("eine woche", "eine woche"),
    ("worauf muss ich achten", "worauf muss ich achten"),
    ("erstens", "erstens"),
    ("ich brauche einen neuen pass", "ich brauche einen neuen pass"),
    ("gib acht", "gib acht"),
    ("ich habe 2 15-jährige kinder", "ich habe 2 15-jährige kinder"),
]

ENGLISH = [
    ("ten thirty", "10:30"),
    ("eleven forty five", "11:45"),
    ("ten oh five", "10:05"),
    ("ten thirty.", "10:30."),
    ("ten oh five.", "10:05."),
    ("two pm", "2 pm"),
    ("two thirty pm", "2:30 pm"),
    ("nine fifteen am", "9:15 am"),
    ("at one", "at 1"),
    ("at one thirty", "at 1:30"),
    ("one o'clock", "1 o'clock"),
    ("half past two", "half past 2"),
    ("quarter to one", "quarter to 1"),
    ("twenty to three", "2:40"),
    ("ten to twelve", "11:50"),
    ("five to one", "12:55"),
    ("twenty-five minutes to nine", "8:35"),
    ("the third of december", "the 3rd of december"),
    ("the first of may", "the 1st of may"),
    ("second of december", "2nd of december"),
    ("december first", "december 1st"),
    ("the thirty first of december", "the 31st of december"),
    ("in three weeks", "in 3 weeks"),
    ("one", "1"),
    ("option one please", "option 1 please"),
    ("number two", "number 2"),
    ("one appointment please", "one appointment please"),
    ("the one on tuesday", "the one on tuesday"),
    ("no one is there", "no one is there"),
    ("talk to one of your staff", "talk to one of your staff"),
    ("i need a second appointment", "i need a second appointment"),
]


@pytest.mark.parametrize(("spoken", "written"), GERMAN)
def test_german(spoken: str, written: str) -> None:
    assert normalize_spoken(spoken, "de") == written
    assert normalize_spoken(spoken) == written


@pytest.mark.parametrize(("spoken", "written"), ENGLISH)
def test_english(spoken: str, written: str) -> None:
    assert normalize_spoken(spoken, "en") == written
    assert normalize_spoken(spoken) == written


def test_other_text_spacing_and_case_stay() -> None:
    said = "Zehn Uhr Dreißig bitte, Frau Müller!"
    assert normalize_spoken(said) == "10 Uhr 30 bitte, Frau Müller!"
    assert normalize_spoken("  hallo   zwei  ") == "  hallo   2  "
    assert normalize_spoken("") == ""


def test_one_language_converts_only_its_words() -> None:
    assert normalize_spoken("elf uhr", "en") == "elf uhr"
    assert normalize_spoken("two pm", "de") == "two pm"
    assert normalize_spoken("zwei", "en") == "zwei"


@pytest.mark.parametrize(("spoken", "start"), [
    ("ich hätte gern einen termin am dritten dezember um halb drei nachmittags",
     "2026-12-03 14:30"),
    ("am ersten zwölften um zehn uhr dreißig", "2026-12-01 10:30"),
    ("i would like to come on the third of december at two thirty pm", "2026-12-03 14:30"),
    ("morgen um viertel nach neun", "2026-11-24 09:15"),
    ("nächsten dienstag um dreiviertel elf", "2026-12-01 10:45"),
    ("freitag früh um halb acht.", "2026-11-27 07:30"),
    ("tomorrow at ten thirty.", "2026-11-24 10:30"),
    ("tomorrow at half past nine.", "2026-11-24 09:30"),
])
def test_spoken_times_resolve_after_normalizing(spoken: str, start: str) -> None:
    got = resolve(normalize_spoken(spoken), NOW)
    assert got is not None
    assert got.start == got.end == datetime.fromisoformat(start).replace(tzinfo=BERLIN)


def test_number_tables() -> None:
    assert GERMAN_CARDINALS["fünfundzwanzig"] == GERMAN_CARDINALS["fuenfundzwanzig"] == 25
    assert GERMAN_CARDINALS["neunundfünfzig"] == 59 and "ein" not in GERMAN_CARDINALS
    assert GERMAN_ORDINALS["einunddreißigsten"] == GERMAN_ORDINALS["zwoelften"] + 19 == 31
    assert ENGLISH_CARDINALS["twenty-five"] == ENGLISH_CARDINALS["twenty five"] == 25
    assert ENGLISH_ORDINALS["thirty-first"] == 31 and ENGLISH_ORDINALS["twelfth"] == 12
