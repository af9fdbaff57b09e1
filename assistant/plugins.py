"""The plugin manager: discovers plugins through the `amtsbote` entry-point group.

Built-in plugins are listed in Amtsbote's own pyproject.toml exactly like a third-party package
would list its own, so there is one way in. Only plugins that config.yml enables are registered;
`amtsbote plugins` shows the rest as installed but off.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from assistant import hookspecs
from assistant.config import Config, ConfigError

GROUP = "amtsbote"


@dataclass(frozen=True)
class InstalledPlugin:
    name: str
    module: str
    distribution: str | None


def installed_plugins() -> list[InstalledPlugin]:
    return sorted(
        (
            InstalledPlugin(ep.name, ep.value, ep.dist.name if ep.dist else None)
            for ep in entry_points(group=GROUP)
        ),
        key=lambda p: p.name,
    )


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    return pm


def create_manager(config: Config, extra: list[Any] | None = None) -> pluggy.PluginManager:
    """Register every enabled plugin (plus `extra` objects, e.g. a test channel) and check them.

    Raises ConfigError when config.yml enables a plugin that is not installed, or when a
    plugin's section does not match the schema the plugin declares.
    """
    pm = new_manager()
    installed = {p.name: p for p in installed_plugins()}
    enabled = config.enabled_plugins()
    missing = sorted(enabled - installed.keys())
    if missing:
        raise ConfigError(
            f"{config.path}: plugin(s) {', '.join(missing)} enabled but not installed "
            f"(installed: {', '.join(sorted(installed))})"
        )
    for name in sorted(enabled):
        module = _load(installed[name])
        pm.register(module, name=name)
    for obj in extra or []:
        pm.register(obj)
    pm.check_pending()
    for name in sorted(enabled):
        validate_settings(pm, config, name)
    return pm


def _load(plugin: InstalledPlugin) -> ModuleType:
    return importlib.import_module(plugin.module)


def validate_settings(pm: pluggy.PluginManager, config: Config, name: str) -> BaseModel | None:
    """Check the plugin's config section against the model it declares (if any)."""
    model = pm.hook.plugin_settings(name=name)
    model = next((m for m in model if m is not None), None)
    if model is None:
        return None
    section = "channels" if name in config.channels else "plugins"
    try:
        return model.model_validate(config.plugin_settings(name))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in (section, name, *err["loc"]))
        line = _line_of(config, section, name)
        where = f"{config.path}:{line}" if line else str(config.path)
        raise ConfigError(f"{where}: {key}: {err['msg']}") from None


def _line_of(config: Config, section: str, name: str) -> int | None:
    for number, line in enumerate(config.path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().startswith(f"{name}:"):
            return number
    return None
