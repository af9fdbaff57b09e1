"""Message catalogs: every text a citizen reads, German first, English second.

Catalogs are gettext `.po` files in `assistant/locales/<lang>.po` with symbolic msgids
(`book.ask_service`), read with Babel; a plugin's own texts live beside them in
`<lang>.<plugin>.po` (e.g. `de.voice.po`) and are merged in. Texts use `{name}`
placeholders. Dates and times are formatted with Babel for the conversation language.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date, format_datetime, format_time
from babel.messages.pofile import read_po

LOCALES = Path(__file__).with_name("locales")
LANGUAGES = ("de", "en")
BABEL_LOCALE = {"de": "de_DE", "en": "en_GB"}


@lru_cache(maxsize=4)
def catalog(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in [LOCALES / f"{lang}.po", *sorted(LOCALES.glob(f"{lang}.*.po"))]:
        with path.open("rb") as fh:
            cat = read_po(fh, locale=BABEL_LOCALE[lang])
        out.update({str(m.id): str(m.string) for m in cat if m.id and m.string})
    return out


def has(key: str, lang: str) -> bool:
    return key in catalog(lang if lang in LANGUAGES else "de")


def t(key: str, lang: str = "de", **params: object) -> str:
    """The text for `key` in `lang` (falling back to German), with params filled in."""
    lang = lang if lang in LANGUAGES else "de"
    text = catalog(lang).get(key) or catalog("de").get(key)
    if text is None:
        raise KeyError(f"message {key!r} missing from the catalogs")
    return text.format(**params) if params else text


def when(dt: datetime, lang: str) -> str:
    """`Dienstag, 24. November, 09:30 Uhr` / `Tuesday 24 November, 09:30`."""
    pattern = "EEEE, d. MMMM, HH:mm 'Uhr'" if lang == "de" else "EEEE d MMMM, HH:mm"
    return format_datetime(dt, pattern, tzinfo=dt.tzinfo, locale=BABEL_LOCALE.get(lang, "de_DE"))


def when_short(dt: datetime, lang: str) -> str:
    """Button-sized: `Di. 24.11. 09:30` / `Tue 24 Nov 09:30`."""
    pattern = "EEE dd.MM. HH:mm" if lang == "de" else "EEE d MMM HH:mm"
    return format_datetime(dt, pattern, tzinfo=dt.tzinfo, locale=BABEL_LOCALE.get(lang, "de_DE"))


def day(d: date, lang: str) -> str:
    pattern = "EEEE, d. MMMM yyyy" if lang == "de" else "EEEE d MMMM yyyy"
    return format_date(d, pattern, locale=BABEL_LOCALE.get(lang, "de_DE"))


def clock(dt: datetime, lang: str) -> str:
    return format_time(dt, "HH:mm", tzinfo=dt.tzinfo, locale=BABEL_LOCALE.get(lang, "de_DE"))
