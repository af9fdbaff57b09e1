"""Every text exists in German and English, with the same placeholders, in its owner's catalog.

The core's catalogs (assistant/locales) hold the texts of the core and those several flows
share; a flow's, channel's or plugin's own texts come with it through `message_catalogs`
(actions/locales, channels/locales, plugins/locales) and are merged only when it is enabled.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from assistant.config import Config, ConfigError, load_config
from assistant.hookspecs import hookimpl
from assistant.i18n import LOCALES, has, read_catalogs, t
from assistant.plugins import catalog_files, create_manager, installed_catalog_files

ROOT = Path(__file__).resolve().parent.parent
USE = re.compile(r'(?:(?<![.\w])t|turn\.say|turn\.button|_say|Reply\(text=t)'
                 r'\(\s*"([a-z_]+(?:\.[a-z_]+)+)"')
# A key read by a prefix: f"mode.{a.mode}", "reask." + task.step, startswith("webchat.ui.").
PREFIX = re.compile(r'''f?["']([a-z_]+(?:\.[a-z_]+)*)\.(?:\{|["'])''')
CORE = sorted(LOCALES.glob("*.po"))
SOURCES = {p: p.read_text() for d in ("assistant", "actions", "channels", "plugins")
           for p in (ROOT / d).rglob("*.py")}
WORDS = {p: set(re.findall(r'["\']([a-z_.]+)["\']', src)) for p, src in SOURCES.items()}
PREFIXES = {p: {f"{m}." for m in PREFIX.findall(src)} for p, src in SOURCES.items()}


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def _used() -> set[str]:
    return {k for text in SOURCES.values() for k in USE.findall(text)}


def _users(key: str, by_prefix: bool = True) -> set[str]:
    """The owners of the modules that name `key` (or one of its prefixes, when `by_prefix`)."""
    return {_owner(path) for path in SOURCES if key in WORDS[path] or (
        by_prefix and any(key.startswith(p) for p in PREFIXES[path]))}


def _owner(path: Path) -> str:
    """`actions/book` for actions/book.py and actions/locales/book.de.po; `core` for assistant/."""
    rel = path.relative_to(ROOT)
    if rel.parts[0] == "assistant":
        return "core"
    return f"{rel.parts[0]}/{path.name.split('.')[0]}"


@pytest.fixture(scope="module")
def texts() -> dict[str, dict[str, tuple[str, Path]]]:
    """Every catalog of the core and of every installed plugin (a key twice fails here)."""
    return read_catalogs([*CORE, *installed_catalog_files()])


def test_every_key_the_code_uses_is_in_both_catalogs(texts: dict) -> None:
    used = _used()
    assert len(used) > 150
    missing = sorted(k for k in used if k not in texts["de"] or k not in texts["en"])
    assert not missing, f"keys missing from a catalog: {missing}"


def test_german_and_english_agree_on_keys_files_and_placeholders(texts: dict) -> None:
    """For the texts the code names (a plugin's spoken forms may differ: "halb zehn")."""
    de, en = texts["de"], texts["en"]
    assert set(de) == set(en)
    for key in de:
        assert _owner(de[key][1]) == _owner(en[key][1]), f"{key}: {de[key][1]} / {en[key][1]}"
    for key in _used():
        assert _fields(de[key][0]) == _fields(en[key][0]), key


def test_every_text_is_in_the_catalog_of_its_only_user(texts: dict) -> None:
    """No unused core or flow text; a text only one flow uses lives in that flow's catalog,
    one the core or several flows use in the core's; a channel's or plugin's keys carry its
    name (the web chat hands all `webchat.ui.*` to the browser, so use is not checked there)."""
    wrong = []
    for key, (_, path) in texts["de"].items():
        owner = _owner(path)
        users = _users(key)
        flows = {u for u in users if u.startswith("actions/")}
        if owner == "core":
            if not users:
                wrong.append(f"{key}: unused, delete it from {path.name}")
            elif users == flows and len(flows) == 1:
                wrong.append(f"{key}: only {flows.pop()}.py uses it, move it to its catalog")
        elif owner.startswith("actions/"):
            if owner not in users:
                wrong.append(f"{key}: {owner}.py does not use it, delete it from {path.name}")
            elif "core" in _users(key, by_prefix=False) or len(flows) > 1:
                # (the engine may ask for a flow's `reask.<step>`; that is the flow's text)
                wrong.append(f"{key}: used by {sorted(users)}, move it to the core's catalogs")
        elif not key.startswith(path.name.split(".")[0] + "."):
            wrong.append(f"{key}: {path.relative_to(ROOT)} holds only its plugin's keys")
    assert not wrong, "\n".join(wrong)


def _config(tmp_path: Path, sections: str) -> Config:
    (tmp_path / "catalogue.yml").write_text((ROOT / "catalogue.yml").read_text())
    cfg = tmp_path / "config.yml"
    cfg.write_text(f"{sections}catalogue: catalogue.yml\n")
    return load_config(cfg)


def test_a_plugins_texts_are_merged_only_when_it_is_enabled(tmp_path: Path) -> None:
    rest_only = catalog_files(create_manager(_config(tmp_path, "channels:\n  rest: {}\n")))
    names = {p.name for p in rest_only}
    assert {"book.de.po", "book.en.po", "video.de.po"} <= names  # flows are on by default
    assert not names & {"voice.de.po", "sms.de.po", "webchat.de.po", "email.de.po"}
    phone = catalog_files(create_manager(load_config(ROOT / "tests/configs/twilio.yml")))
    assert {"voice.de.po", "voice.en.po", "sms.de.po", "sms.en.po"} <= {p.name for p in phone}


def _county_plugin(tmp_path: Path, entries: str) -> object:
    for lang in ("de", "en"):
        (tmp_path / f"dogtax.{lang}.po").write_text(f'msgid ""\nmsgstr ""\n\n{entries}')

    class DogTax:
        @hookimpl
        def message_catalogs(self) -> list[Path]:
            return [tmp_path / "dogtax.de.po", tmp_path / "dogtax.en.po"]

    return DogTax()


def test_a_county_plugin_brings_its_own_texts(tmp_path: Path) -> None:
    plugin = _county_plugin(tmp_path, 'msgid "dogtax.ask_dogs"\nmsgstr "Wie viele Hunde?"\n')
    assert not has("dogtax.ask_dogs", "de")
    create_manager(load_config(ROOT / "config.yml"), extra=[plugin])
    assert t("dogtax.ask_dogs", "de") == "Wie viele Hunde?"


def test_a_key_defined_twice_stops_start_up_naming_both_files(tmp_path: Path) -> None:
    greet = t("greet", "de")
    plugin = _county_plugin(tmp_path, 'msgid "greet"\nmsgstr "Moin!"\n')
    with pytest.raises(ConfigError) as exc:
        create_manager(load_config(ROOT / "config.yml"), extra=[plugin])
    message = str(exc.value)
    assert "'greet' is defined twice" in message
    assert str(LOCALES / "de.po") in message and str(tmp_path / "dogtax.de.po") in message
    assert t("greet", "de") == greet  # nothing was overridden
