"""Speech formatting: dates and times as people say them, reference codes spelled with the
DIN 5009 alphabet (and read back when a caller spells one), chat texts made speakable, and a
reply in the line's own words (`voice.<key>` from its catalog)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from babel.dates import format_date

from assistant.plugin import (
    BABEL_LOCALE,
    Reply,
    TextVariants,
    display_reference,
    flat,
    normalize_spoken,
    reference_of,
    references,
    t,
)

from .settings import NAME

FILLER_WORDS = {"wie", "as", "in", "for", "bindestrich", "strich", "minus", "dash", "hyphen"}


# -- dates and times --------------------------------------------------------------------------


def clock(hour: int, minute: int, lang: str) -> str:
    """`halb zehn`, `Viertel nach neun`, `14 Uhr 30` / `half past nine`, `2:30 pm`."""
    if hour >= 13:
        key = "voice.clock.numeric_full" if minute == 0 else "voice.clock.numeric"
        return t(key, lang, hh=hour, h12=hour - 12, mm=f"{minute:02d}")
    words = t("voice.clock.hours", lang).split(";")
    h, nxt = words[hour % 12], words[(hour + 1) % 12]
    key = {0: "voice.clock.full", 30: "voice.clock.half", 15: "voice.clock.quarter_past",
           45: "voice.clock.quarter_to"}.get(minute, "voice.clock.minutes")
    return t(key, lang, h=h, next=nxt, m=minute)


def spoken_when(dt: datetime, lang: str) -> str:
    """`Dienstag, den 1. Dezember, um halb zehn` / `Tuesday 1 December at half past nine`."""
    locale = BABEL_LOCALE.get(lang, "de_DE")
    return t("voice.when", lang, weekday=format_date(dt, "EEEE", locale=locale), day=dt.day,
             month=format_date(dt, "MMMM", locale=locale), clock=clock(dt.hour, dt.minute, lang))


# The core's `when()` format: "Dienstag, 24. November, 09:30 Uhr" / "Tuesday 24 November, 09:30".
_WHEN = {
    "de": re.compile(
        r"\b([A-ZÄÖÜ][a-zäöüß]+), (\d{1,2})\. ([A-ZÄÖÜ][a-zäöüß]+), (\d{2}):(\d{2}) Uhr"),
    "en": re.compile(r"\b([A-Z][a-z]+) (\d{1,2}) ([A-Z][a-z]+), (\d{2}):(\d{2})\b"),
}


def speak_times(text: str, lang: str) -> str:
    """Rewrite every date-time in the core's written format as it is spoken."""
    pattern = _WHEN.get(lang, _WHEN["de"])

    def spoken(m: re.Match[str]) -> str:
        return t("voice.when", lang, weekday=m.group(1), day=int(m.group(2)), month=m.group(3),
                 clock=clock(int(m.group(4)), int(m.group(5)), lang))

    return pattern.sub(spoken, text)


# -- reference codes --------------------------------------------------------------------------


def alphabet(lang: str) -> dict[str, str]:
    """The spelling alphabet: character -> word (`K` -> `Kaufmann`)."""
    pairs = (p.split("=", 1) for p in t("voice.spelling", lang).split(";"))
    return {char: word for char, word in pairs}


def spell(reference: str, lang: str) -> str:
    """`K7Q-M4P` -> `Kaufmann, Sieben, Quelle - Martha, Vier, Paula`."""
    table = alphabet(lang)
    halves = display_reference(reference).split("-")
    return " – ".join(", ".join(table.get(c, c) for c in half) for half in halves)


# German names of letters as speech-to-text writes them ("vau zwei iks")
_LETTER_NAMES = {"be": "B", "ce": "C", "ze": "C", "de": "D", "ef": "F", "ge": "G", "ha": "H",
                 "jot": "J", "ka": "K", "el": "L", "em": "M", "en": "N", "pe": "P", "ku": "Q",
                 "er": "R", "es": "S", "te": "T", "vau": "V", "we": "W", "iks": "X",
                 "ypsilon": "Y", "zett": "Z"}


def collapse_spelled(text: str, lang: str = "de") -> str:
    """A reference code the caller spelled ("Kaufmann sieben Quelle, M 4 P") as `K7Q-M4P`.

    Speech-to-text writes spelled codes as spelling words, single letters and digits; a run
    of them that makes a valid code is replaced by the code, so the dialogue sees it.
    """
    words: dict[str, str] = dict(_LETTER_NAMES)
    for language in ("de", "en"):
        for char, word in alphabet(language).items():
            words[word.casefold()] = char
    tokens = re.findall(r"[\wäöüß]+", normalize_spoken(text, lang).casefold())
    run: list[tuple[int, str]] = []  # (token index, characters)
    for i, token in enumerate(tokens):
        if token in FILLER_WORDS and run:
            continue
        if token in words:
            char = words[token]
            if run and run[-1][1] == char and tokens[run[-1][0]] not in words:
                continue  # "K wie Kaufmann": the word repeats the letter
        elif len(token) == 1 or token.isdigit() or (
                re.fullmatch(r"[a-z0-9]{2,6}", token) and re.search(r"\d", token)):
            char = token.upper()
        else:
            run = []
            continue
        run.append((i, char))
        window, first = "", i
        for j, c in reversed(run):  # the last characters of the run, exactly a code long
            window, first = c + window, j
            if len(window) >= references.LENGTH:
                break
        code = references.normalize(window) if len(window) == references.LENGTH else None
        if code and references.find(code):
            return " ".join([*tokens[:first], references.display(code), *tokens[i + 1:]])
    return text


# -- replies ----------------------------------------------------------------------------------


def speakable(text: str, lang: str) -> str:
    """A chat text made speakable: no bullets, links, quotes or line breaks."""
    text = re.sub(r"https?://\S+", "", text)
    text = text.replace("•", "").replace("„", "").replace("“", "").replace('"', "")
    text = re.sub(r"(\d)\s*[–-]\s*(\d)", rf"\1 {t('voice.range', lang)} \2", text)
    text = re.sub(r"\s*[–—]\s*", ", ", text).replace("…", ".")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    out = " ".join(line if line[-1] in ".?!:," else f"{line}." for line in lines)
    return speak_times(re.sub(r"\s{2,}", " ", out), lang)


def _spoken_param(value: Any, lang: str) -> Any:
    """A parameter as said: a list on one line, date-times as spoken."""
    if isinstance(value, str) and "• " not in value:
        return speak_times(value, lang)
    return flat(value)


# The line's wording of a reply: `voice.<key>` when its catalog has one, else the core's text
# made speakable.
SPEECH = TextVariants(NAME, param=_spoken_param, fallback=speakable)


def speak_reply(reply: Reply, mobile: bool) -> list[str]:
    """The spoken form of one reply (and, after a booking, how the caller gets the code)."""
    lang = reply.language
    reference = reference_of(reply)
    extra = {"spelled": spell(reference, lang)} if reference else {}
    out = [SPEECH.text(reply, **extra)]
    if reply.key == "book.done":
        out.append(t("voice.book.done.sms" if mobile else "voice.book.done.read", lang,
                     **SPEECH.params(reply), **extra))
    elif reply.key in {"manage.found", "reschedule.done"} and reference and not mobile:
        out.append(t("voice.reference", lang, spelled=extra["spelled"]))
    return out
