"""Spoken numbers to digits, for speech-to-text output from the phone line.

Speech-to-text gives lowercase words without punctuation ("am dritten dezember um halb
drei"). `normalize_spoken` rewrites the numbers in it as digits so the rest of the NLU
(time parsing, option choice, reference codes) sees the same text as from a keyboard. It is
safe on typed text too (the NLU runs every message through it): digits, codes, prices and
punctuation stay as they are.


- cardinals: "zehn uhr dreißig" -> "10 uhr 30", "ten thirty" -> "10:30", "two pm" -> "2 pm",
  "halb drei nachmittags" -> "halb 3 nachmittags", "die zwei" -> "die 2";
- German ordinals as dates: "am dritten dezember" -> "am 3. dezember",
  "am ersten zwölften" -> "am 1.12.", "am zweiten dezember zwanzig sechsundzwanzig"
  -> "am 2. dezember 2026";
- English ordinals as dates: "the third of december" -> "the 3rd of december".

Decisions (tested in tests/test_spoken.py):

- Articles stay words: "ein Termin", "einen Termin", "eine Woche" and "one appointment",
  "the one on tuesday" are left alone. "ein" becomes 1 only in "ein uhr"; English "one" only
  next to a time ("at one", "one o'clock", "one pm"), as an option ("option one") or as the
  whole answer ("one").
- "eins", "zwei", "zwo", "drei", "two", "three" are always numbers, so a caller choosing
  between numbered options by voice gets digits ("die zwei" -> "die 2").
- Two numbers in a row that read as a clock time ("ten thirty", "zehn dreißig",
  "two thirty pm") become "10:30" / "2:30 pm"; "H oh M" ("ten oh five") becomes "10:05".
- "ten to twelve" becomes "11:50" (as "10 to 12" it would read as a range).
- Three or more numbers in a row are digits read out, a phone number:
  "null drei fünf eins zwölf vierunddreißig" -> "03511234".
- German ordinal words become "N.": from "vierte" on everywhere, as text2num does
  ("zum vierten Mal" -> "zum 4. Mal"); "erste" to "dritte" and "achte(n)" only where they can
  be a date or an option: after am/den/dem/der/die/das/zum/vom/ab/bis/nummer, or before a
  month or another ordinal. So "worauf muss ich achten" keeps its verb and "erstens" stays.
- German number words typed without umlauts ("fuenfzehn", "zwoelf") count as well.

`text2num` (alpha2digit) does the bulk of the conversion, including large numbers
("zweitausendsechsundzwanzig" -> 2026); the own rules above fill in what it leaves out
(numbers up to three, which it keeps as words, and the joins it does not make) and keep it
away from the words it would mangle.

The number tables are also used by `assistant.nlu.timeparse`, which needs the same words
with its own bookkeeping of positions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from text_to_num import alpha2digit

from assistant.nlu.dialect import standard_german

__all__ = [
    "ENGLISH_CARDINALS",
    "ENGLISH_ORDINALS",
    "GERMAN_CARDINALS",
    "GERMAN_ORDINALS",
    "MONTH_WORDS",
    "normalize_spoken",
    "ordinal_suffix",
]


def _ascii(word: str) -> str:
    return word.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


def _with_ascii(table: dict[str, int]) -> dict[str, int]:
    """The table plus each word's umlaut-free spelling (fünf -> fuenf, dreißig -> dreissig)."""
    return table | {_ascii(word): value for word, value in table.items()}


_DE_UNITS = {1: "ein", 2: "zwei", 3: "drei", 4: "vier", 5: "fünf", 6: "sechs", 7: "sieben",
             8: "acht", 9: "neun"}
_DE_TEENS = {10: "zehn", 11: "elf", 12: "zwölf", 13: "dreizehn", 14: "vierzehn",
             15: "fünfzehn", 16: "sechzehn", 17: "siebzehn", 18: "achtzehn", 19: "neunzehn"}
_DE_TENS = {20: "zwanzig", 30: "dreißig", 40: "vierzig", 50: "fünfzig"}


def _german_cardinals() -> dict[str, int]:
    table = {"null": 0, "eins": 1, "zwo": 2}
    table |= {word: n for n, word in _DE_UNITS.items() if n > 1}
    table |= {word: n for n, word in _DE_TEENS.items()}
    for tens, tens_word in _DE_TENS.items():
        table[tens_word] = tens
        for unit, unit_word in _DE_UNITS.items():
            table[f"{unit_word}und{tens_word}"] = tens + unit
    return _with_ascii(table)


def _german_ordinals() -> dict[str, int]:
    stems = {1: ["erst"], 2: ["zweit"], 3: ["dritt"], 4: ["viert"], 5: ["fünft"],
             6: ["sechst"], 7: ["siebt", "siebent"], 8: ["acht"], 9: ["neunt"]}
    stems |= {n: [f"{word}t"] for n, word in _DE_TEENS.items()}
    stems |= {20: ["zwanzigst"], 30: ["dreißigst"], 31: ["einunddreißigst"]}
    stems |= {20 + unit: [f"{word}undzwanzigst"] for unit, word in _DE_UNITS.items()}
    table = {stem + ending: n for n, forms in stems.items() for stem in forms
             for ending in ("e", "en", "er", "es", "em")}
    return _with_ascii(table)


_EN_UNITS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
             8: "eight", 9: "nine"}
_EN_TEENS = {10: "ten", 11: "eleven", 12: "twelve", 13: "thirteen", 14: "fourteen",
             15: "fifteen", 16: "sixteen", 17: "seventeen", 18: "eighteen", 19: "nineteen"}
_EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty"}
_EN_ORDINAL_UNITS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth",
                     7: "seventh", 8: "eighth", 9: "ninth"}
_EN_ORDINAL_TEENS = {10: "tenth", 11: "eleventh", 12: "twelfth", 13: "thirteenth",
                     14: "fourteenth", 15: "fifteenth", 16: "sixteenth", 17: "seventeenth",
                     18: "eighteenth", 19: "nineteenth"}


def _english_cardinals() -> dict[str, int]:
    table = {word: n for n, word in (_EN_UNITS | _EN_TEENS).items()}
    for tens, tens_word in _EN_TENS.items():
        table[tens_word] = tens
        for unit, unit_word in _EN_UNITS.items():
            for joint in (" ", "-"):
                table[f"{tens_word}{joint}{unit_word}"] = tens + unit
    return table


def _english_ordinals() -> dict[str, int]:
    table = {word: n for n, word in (_EN_ORDINAL_UNITS | _EN_ORDINAL_TEENS).items()}
    table |= {"twentieth": 20, "thirtieth": 30, "thirty first": 31, "thirty-first": 31}
    for unit, word in _EN_ORDINAL_UNITS.items():
        table[f"twenty {word}"] = table[f"twenty-{word}"] = 20 + unit
    return table


#: German number words 0-59 ("eins", "zwo", "fünfundzwanzig"; also "fuenfundzwanzig").
#: The article forms "ein"/"eine"/... are not in it.
GERMAN_CARDINALS: dict[str, int] = _german_cardinals()
#: German ordinals 1-31 in every ending ("dritten", "einunddreißigste", "zwoelften").
GERMAN_ORDINALS: dict[str, int] = _german_ordinals()
#: English number words 1-59 ("twenty five", "twenty-five").
ENGLISH_CARDINALS: dict[str, int] = _english_cardinals()
#: English ordinals 1-31 ("third", "twenty-first").
ENGLISH_ORDINALS: dict[str, int] = _english_ordinals()
#: Month names, full and abbreviated, German (with and without umlauts) and English.
MONTH_WORDS: dict[str, int] = _with_ascii({
    "januar": 1, "jänner": 1, "january": 1, "jan": 1,
    "februar": 2, "feber": 2, "february": 2, "feb": 2,
    "märz": 3, "march": 3, "mär": 3, "mrz": 3, "mar": 3,
    "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juni": 6, "june": 6, "jun": 6,
    "juli": 7, "july": 7, "jul": 7,
    "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9,
    "oktober": 10, "october": 10, "okt": 10, "oct": 10,
    "november": 11, "nov": 11,
    "dezember": 12, "december": 12, "dez": 12, "dec": 12,
})


def ordinal_suffix(n: int) -> str:
    """English ordinal suffix: 1 -> "st", 2 -> "nd", 3 -> "rd", 11 -> "th", 22 -> "nd"."""
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _alternation(words: Iterable[str]) -> str:
    """Regex alternation of the words, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_LANGS = ("de", "en")
_MONTHS_RE = _alternation(MONTH_WORDS)
_DE_ORDINALS_RE = _alternation(GERMAN_ORDINALS)
_F = re.IGNORECASE

# "fuenfzehn" -> "fünfzehn": text2num only knows the spelling with umlauts.
_UMLAUT_SPELLING = {_ascii(w): w for w in (*_german_cardinals(), *_german_ordinals())
                    if _ascii(w) != w}
_UMLAUT_SPELLING_RE = re.compile(rf"\b(?:{_alternation(_UMLAUT_SPELLING)})\b", _F)
# Words text2num would mangle: the verb "achten" (left for the own ordinal rules) and the noun
# in "gib acht" / "außer Acht".
_PROTECTED = re.compile(r"\b(?:achte|achten|(?:gib|gebt|geben|gibt|außer|ausser)\s+acht)\b",
                        _F)
# Where a German ordinal is a date or an option: after these words ...
_ORDINAL_BEFORE = re.compile(
    r"\b(?:am|den|dem|der|die|das|zum|vom|ab|bis|nummer|nr\.?)\s+$", _F)
# ... or before a month, another ordinal or "des monats".
_ORDINAL_AFTER = re.compile(
    rf"\s+(?:(?:{_MONTHS_RE})\b|(?:{_DE_ORDINALS_RE})\b|\d{{1,2}}\.|des\s+monats\b)", _F)
_DE_ORDINAL_WORD = re.compile(rf"\b(?:{_DE_ORDINALS_RE})\b", _F)
_EN_SMALL_ORDINAL = re.compile(
    rf"(?:\b(?P<pre>{_MONTHS_RE})\s+(?:the\s+)?(?P<a>first|second|third)\b"
    rf"|\b(?P<b>first|second|third)(?=\s+(?:of\s+)?(?:{_MONTHS_RE})\b))", _F)
# "ten to twelve" is 11:50; as "10 to 12" it would read as a range, so it is done here.
_HOURS_EN = {w: n for w, n in _english_cardinals().items() if n <= 12}
_MINUTES_TO = {"five": 5, "ten": 10, "twenty": 20, "twenty five": 25}
_MINUTES_TO_RE = re.compile(
    rf"\b(?P<mi>twenty[\s-]five|five|ten|twenty)\s+(?:minutes\s+)?(?:to|till)\s+"
    rf"(?P<h>{_alternation(_HOURS_EN)})\b", _F)
# Small numbers text2num keeps as words; as words they are always numbers.
_SMALL = {"de": {"eins": "1", "zwei": "2", "zwo": "2", "drei": "3"},
          "en": {"two": "2", "three": "3"}}
_SMALL_RE = {lang: re.compile(rf"\b(?:{_alternation(words)})\b", _F)
             for lang, words in _SMALL.items()}
_EIN_UHR = re.compile(r"\bein(?=\s+uhr\b)", _F)
_ONE = re.compile(
    r"(?P<pre>\b(?:at|around|about|by|until|till|before|after|past|from|to|option|number"
    r"|choice|half|quarter)\s+)one\b(?=\s*(?:$|[,.!?;]|\d|o'?\s?clock|[ap]\.?m\b|please))"
    r"|\bone(?=\s*(?:o'?\s?clock|pm|am|p\.m\.|a\.m\.|uhr)\b)"
    r"|^(?P<lead>\s*(?:the\s+|number\s+|option\s+)?)one(?=\s*(?:please)?\s*[.!]?\s*$)", _F)
# Three or more numbers in a row are digits read out (a phone number): "0351 12 34" -> "03511234".
_DIGIT_RUN = re.compile(r"(?<![\d.:])\b\d{1,2}(?:\s+\d{1,2}){2,}\b(?![.:]?\d)")
_DATE_JOIN = re.compile(r"(?<![\d.])(\d{1,2})\.\s+(\d{1,2})\.(?!\d)")
_YEAR_JOIN = re.compile(
    rf"((?:\b\d{{1,2}}\.\d{{1,2}}\.)|\b(?:{_MONTHS_RE})\b\.?)\s+(19|20)\s+(\d{{2}})\b(?!\s*\d)",
    _F)
# A full stop that ends the sentence may follow a clock time ("ten thirty."), not one in "10 30.5".
_OH_CLOCK = re.compile(r"(?<![\d.:])\b(\d{1,2})\s+oh\s+(\d)\b(?![\d:]|\.\d)", _F)
_PAIR_CLOCK = re.compile(r"(?<![\d.:]\s)(?<![\d.:])\b(\d{1,2})\s+(\d{2})\b(?![:\d-]|\.\s*\d|\s+\d)")


@lru_cache(maxsize=1024)  # one message is read by several readers: normalised once
def normalize_spoken(text: str, lang: str | None = None) -> str:
    """Spelled-out numbers in `text` as digits; other words and spacing are kept.

    `lang` is "de" or "en"; None converts both languages' number words.
    """
    langs = (lang,) if lang in _LANGS else _LANGS
    if lang == "de":
        text = standard_german(text)
    if "de" in langs:
        text = _UMLAUT_SPELLING_RE.sub(_umlaut_spelling, text)
    if "en" in langs:
        text = _MINUTES_TO_RE.sub(_minutes_to, text)
    text = _with_text2num(text, langs)
    if "de" in langs:
        text = _german_ordinals_in_context(text)
        text = _EIN_UHR.sub("1", text)
    if "en" in langs:
        text = _EN_SMALL_ORDINAL.sub(_english_ordinal, text)
        text = _ONE.sub(lambda m: f"{m.group('pre') or m.group('lead') or ''}1", text)
    for one_lang in langs:
        text = _SMALL_RE[one_lang].sub(lambda m, w=_SMALL[one_lang]: w[m.group(0).lower()], text)
    text = _DIGIT_RUN.sub(lambda m: re.sub(r"\s+", "", m.group(0)), text)
    text = _DATE_JOIN.sub(_join_date, text)
    text = _YEAR_JOIN.sub(_join_year, text)
    text = _OH_CLOCK.sub(lambda m: f"{m.group(1)}:0{m.group(2)}", text)
    return _PAIR_CLOCK.sub(_join_clock, text)


def _minutes_to(m: re.Match[str]) -> str:
    minutes = _MINUTES_TO[re.sub(r"[\s-]+", " ", m.group("mi").lower())]
    hour = (_HOURS_EN[m.group("h").lower()] - 2) % 12 + 1
    return f"{hour}:{60 - minutes:02d}"


def _umlaut_spelling(m: re.Match[str]) -> str:
    word = m.group(0)
    spelled = _UMLAUT_SPELLING[word.lower()]
    return spelled.capitalize() if word[0].isupper() else spelled


def _with_text2num(text: str, langs: tuple[str, ...]) -> str:
    """alpha2digit on everything except the protected words (which it would turn into ordinals)."""
    out: list[str] = []
    pos = 0
    for m in _PROTECTED.finditer(text):
        out.append(_alpha2digit(text[pos:m.start()], langs))
        out.append(m.group(0))
        pos = m.end()
    out.append(_alpha2digit(text[pos:], langs))
    return "".join(out)


def _alpha2digit(text: str, langs: tuple[str, ...]) -> str:
    for lang in langs:
        if text.strip():
            text = alpha2digit(text, lang)
    return text


def _german_ordinals_in_context(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if _ORDINAL_BEFORE.search(text, 0, m.start()) or _ORDINAL_AFTER.match(text, m.end()):
            return f"{GERMAN_ORDINALS[m.group(0).lower()]}."
        return m.group(0)

    return _DE_ORDINAL_WORD.sub(repl, text)


def _english_ordinal(m: re.Match[str]) -> str:
    word = m.group("a") or m.group("b")
    n = ENGLISH_ORDINALS[word.lower()]
    digits = f"{n}{ordinal_suffix(n)}"
    return m.group(0)[: m.start("a") - m.start()] + digits if m.group("a") else digits


def _join_date(m: re.Match[str]) -> str:
    day, month = int(m.group(1)), int(m.group(2))
    if 1 <= day <= 31 and 1 <= month <= 12:
        return f"{day}.{month}."
    return m.group(0)


def _join_year(m: re.Match[str]) -> str:
    """ "1.12. 20 26" -> "1.12.2026", "dezember 20 26" -> "dezember 2026"."""
    before = m.group(1)
    joint = "" if before[0].isdigit() else " "
    return f"{before}{joint}{m.group(2)}{m.group(3)}"


def _join_clock(m: re.Match[str]) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour <= 23 and 10 <= minute <= 59:
        return f"{hour}:{minute:02d}"
    return m.group(0)
