"""Message catalogs: every text a citizen reads, German first, English second.

Catalogs are gettext `.po` files with symbolic msgids (`book.ask_service`), read with Babel;
the language is the last part of the file name before `.po` (`de.po`, `book.en.po`). The
core's own texts live in `assistant/locales/`; each flow, channel and plugin brings its own
files through the `message_catalogs` hook, and `use_catalogs` merges them in when the plugin
manager registers it. A key defined in two files is an error (`CatalogError`, naming both),
never a silent override. Texts use `{name}` placeholders. Dates and times are formatted with
Babel for the conversation language.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date, format_datetime, format_time
from babel.messages.pofile import read_po

LOCALES = Path(__file__).with_name("locales")
LANGUAGES = ("de", "en")
BABEL_LOCALE = {"de": "de_DE", "en": "en_GB"}


class CatalogError(ValueError):
    """A catalog file that cannot be used: unknown language, or a key another file defines."""


Entries = dict[str, dict[str, tuple[str, Path]]]  # language -> key -> (text, its file)

_texts: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
_origin: dict[str, dict[str, Path]] = {lang: {} for lang in LANGUAGES}
_files: set[Path] = set()


def language_of(path: Path) -> str:
    """`de` for `de.po` and `book.de.po`."""
    lang = path.name.removesuffix(".po").rsplit(".", 1)[-1]
    if not path.name.endswith(".po") or lang not in LANGUAGES:
        raise CatalogError(f"{path}: a catalog is named <name>.<language>.po, "
                           f"language one of {', '.join(LANGUAGES)}")
    return lang


def read_catalogs(paths: Iterable[Path]) -> Entries:
    """The entries of `paths` per language, each with its file; a key in two files fails."""
    out: Entries = {lang: {} for lang in LANGUAGES}
    for path in dict.fromkeys(Path(p).resolve() for p in paths):
        lang = language_of(path)
        if not path.is_file():
            raise CatalogError(f"{path}: no such catalog file")
        with path.open("rb") as fh:
            cat = read_po(fh, locale=BABEL_LOCALE[lang])
        for m in cat:
            if not (m.id and m.string):
                continue
            key = str(m.id)
            if key in out[lang]:
                raise _twice(key, out[lang][key][1], path)
            out[lang][key] = (str(m.string), path)
    return out


def use_catalogs(paths: Iterable[Path]) -> None:
    """Merge catalog files (a plugin's `message_catalogs`) into the texts `t` reads.

    Files already in use are skipped, so registering a plugin twice is harmless; a key that
    an already merged file (the core's or another plugin's) defines raises `CatalogError` and
    changes nothing.
    """
    _core()
    new = [p for p in dict.fromkeys(Path(p).resolve() for p in paths) if p not in _files]
    if new:
        _merge(read_catalogs(new))
        _files.update(new)


def _merge(entries: Entries) -> None:
    for lang in LANGUAGES:
        for key, (_, path) in entries[lang].items():
            if key in _origin[lang]:
                raise _twice(key, _origin[lang][key], path)
    for lang in LANGUAGES:
        for key, (text, path) in entries[lang].items():
            _texts[lang][key], _origin[lang][key] = text, path


def _twice(key: str, first: Path, second: Path) -> CatalogError:
    return CatalogError(f"message {key!r} is defined twice: in {first} and in {second}")


def _core() -> None:
    if not _files:
        core = [p.resolve() for p in sorted(LOCALES.glob("*.po"))]
        _merge(read_catalogs(core))
        _files.update(core)


def catalog(lang: str) -> dict[str, str]:
    """Every text in `lang` in use: the core's and the registered plugins' (do not modify)."""
    _core()
    return _texts[lang if lang in LANGUAGES else "de"]


def has(key: str, lang: str) -> bool:
    return key in catalog(lang)


def t(key: str, lang: str = "de", **params: object) -> str:
    """The text for `key` in `lang` (falling back to German), with params filled in."""
    text = catalog(lang).get(key) or _texts["de"].get(key)
    if text is None:
        raise KeyError(f"message {key!r} missing from the catalogs (the core's and those of "
                       "the plugins registered so far)")
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
