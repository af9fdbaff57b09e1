"""The plugin system: one entry-point group, documented hooks, checked configuration."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pluggy
import pytest
from pydantic import BaseModel, ConfigDict

from assistant import hookspecs
from assistant.config import ConfigError, load_config
from assistant.hookspecs import hookimpl
from assistant.plugins import (
    Plugin,
    create_manager,
    installed_plugins,
    new_manager,
    validated_settings,
)

ROOT = Path(__file__).resolve().parent.parent
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(fn, "amtsbote_spec")]


def test_every_hook_is_documented() -> None:
    assert len(HOOKS) >= 14
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name))
        assert doc and len(doc) > 40, f"hook {name} needs a docstring stating its contract"


def test_every_hook_is_implemented_by_a_builtin_and_called_somewhere() -> None:
    implemented: set[str] = set()
    for plugin in installed_plugins():
        module, _, cls = plugin.module.partition(":")  # a module, or a Plugin class in it
        loaded = importlib.import_module(module)
        loaded = getattr(loaded, cls) if cls else loaded
        implemented |= {n for n, f in inspect.getmembers(loaded, callable)
                        if hasattr(f, "amtsbote_impl")}
    from assistant import testing

    implemented |= {n for n, f in inspect.getmembers(testing.RecordingChannel, callable)
                    if hasattr(f, "amtsbote_impl")}
    missing = set(HOOKS) - implemented
    assert not missing, f"hooks no built-in plugin implements: {missing}"
    source = "\n".join(p.read_text() for d in ("assistant", "actions", "channels", "plugins")
                       for p in (ROOT / d).rglob("*.py") if p.name != "hookspecs.py")
    for name in HOOKS:
        assert re.search(rf'hook\.{name}\(|"{name}"', source), f"nothing ever calls {name}"


def test_builtins_register_through_the_entry_point_group() -> None:
    names = {p.name for p in installed_plugins()}
    assert {"rest", "webchat", "telegram", "matrix", "sms", "voice", "builtin", "caldav", "ics",
            "jitsi", "email", "twilio"} <= names
    assert all(p.distribution == "amtsbote" for p in installed_plugins()
               if p.name in {"rest", "jitsi"})


def test_only_enabled_plugins_are_registered() -> None:
    pm = create_manager(load_config(ROOT / "config.yml"))
    registered = {pm.get_name(p) for p in pm.get_plugins()}
    assert {"rest", "builtin", "jitsi"} <= registered


def test_misspelled_hook_is_caught() -> None:
    class Typo:
        @hookimpl
        def deliverr(self) -> None: ...

    pm = new_manager()
    pm.register(Typo())
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def test_plugin_settings_are_validated_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "catalogue.yml").write_text((ROOT / "catalogue.yml").read_text())
    cfg = tmp_path / "config.yml"
    cfg.write_text("plugins:\n  jitsi:\n    base_ur: https://x\ncatalogue: catalogue.yml\n")
    with pytest.raises(ConfigError, match=r"config\.yml:2: plugins\.jitsi\.base_ur"):
        create_manager(load_config(cfg))


def test_a_third_party_plugin_declares_its_own_schema(tmp_path: Path) -> None:
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        greeting: str

    class ThirdParty(Plugin):
        settings_model = Settings

    (tmp_path / "catalogue.yml").write_text((ROOT / "catalogue.yml").read_text())
    cfg = tmp_path / "config.yml"
    cfg.write_text("plugins:\n  greeter:\n    greeting: Moin\ncatalogue: catalogue.yml\n")
    config = load_config(cfg)
    assert validated_settings(ThirdParty, config, "greeter").greeting == "Moin"
    cfg.write_text("plugins:\n  greeter:\n    greting: Moin\ncatalogue: catalogue.yml\n")
    with pytest.raises(ConfigError, match=r"config\.yml:2: plugins\.greeter\.greeting: Field"):
        validated_settings(ThirdParty, load_config(cfg), "greeter")


def test_enabling_a_plugin_that_is_not_installed_says_so(tmp_path: Path) -> None:
    (tmp_path / "catalogue.yml").write_text((ROOT / "catalogue.yml").read_text())
    cfg = tmp_path / "config.yml"
    cfg.write_text("channels:\n  whatsapp: {}\ncatalogue: catalogue.yml\n")
    with pytest.raises(ConfigError, match="whatsapp enabled but not installed"):
        create_manager(load_config(cfg))
