"""The plugin manager: discovers plugins through the `amtsbote` entry-point group.

An entry point names a module (hooks as functions) or a `Plugin` subclass
(`"amtsbote_whatsapp:WhatsApp"`): the manager creates one object of the class per application
with its validated settings, so a plugin keeps its state on `self`. Either kind declares the
model of its config section as `settings_model`.

Built-in plugins are listed in Amtsbote's own pyproject.toml exactly like a third-party package
would list its own, so there is one way in. Only plugins that config.yml enables are registered,
and only their message catalogs are merged into the texts; `amtsbote plugins` shows the rest
as installed but off.

`AMTSBOTE_TRACE_HOOKS=1` logs every hook call: the hook, the plugins implementing it and the
time it took (and, for awaitables, the time until they were done); never the arguments.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import pluggy
from pydantic import BaseModel, ValidationError

from assistant import hookspecs
from assistant.config import Config, ConfigError
from assistant.i18n import CatalogError, use_catalogs

GROUP = "amtsbote"
TRACE_ENV = "AMTSBOTE_TRACE_HOOKS"

log = logging.getLogger(__name__)


class Plugin:
    """Base of a plugin object: one instance per application, its settings on `self.settings`.

    Subclass it, set `settings_model` (a pydantic model of the config section; None if the
    plugin has no settings), implement hooks as methods marked `@hookimpl`, and keep running
    state (clients, tasks, caches) on `self`. `name` is the entry-point name it runs under.
    """

    settings_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, name: str, settings: Any) -> None:
        self.name = name
        self.settings = settings


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
    if os.environ.get(TRACE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        trace_hooks(pm)
    return pm


def trace_hooks(pm: pluggy.PluginManager) -> Callable[[], None]:
    """Log each hook call with its plugins and duration; returns the function that stops it.

    Only names and times are logged: the arguments (appointments, citizens' messages) and the
    results never are, nor an exception's message (only its class).
    """
    started: dict[int, float] = {}

    def before(hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, object]) -> None:
        started[id(kwargs)] = time.perf_counter()

    def after(outcome: pluggy.Result[object], hook: str, impls: Sequence[pluggy.HookImpl],
              kwargs: Mapping[str, object]) -> None:
        ms = (time.perf_counter() - started.pop(id(kwargs))) * 1000
        plugins = ", ".join(_plugin_name(pm, i) for i in reversed(impls)) or "-"
        if outcome.exception is not None:
            log.info("hook %s [%s] raised %s after %.2f ms", hook, plugins,
                     type(outcome.exception).__name__, ms)
            return
        log.info("hook %s [%s] %.2f ms", hook, plugins, ms)
        result = outcome.get_result()
        if inspect.isawaitable(result):
            outcome.force_result(_timed(hook, result))
        elif isinstance(result, list) and any(inspect.isawaitable(r) for r in result):
            outcome.force_result([_timed(hook, r) if inspect.isawaitable(r) else r
                                  for r in result])

    return pm.add_hookcall_monitoring(before, after)


async def _timed(hook: str, awaitable: Awaitable[object]) -> object:
    start = time.perf_counter()
    try:
        return await awaitable
    finally:
        log.info("hook %s awaited %.2f ms", hook, (time.perf_counter() - start) * 1000)


def _plugin_name(pm: pluggy.PluginManager, impl: pluggy.HookImpl) -> str:
    """The name a plugin was registered under; the class name of an unnamed object."""
    name = impl.plugin_name
    return name if not name.isdigit() else type(impl.plugin).__name__


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
        loaded = _load(installed[name])
        settings = validated_settings(loaded, config, name)
        pm.register(loaded(name, settings) if isinstance(loaded, type) else loaded, name=name)
    for obj in extra or []:
        pm.register(obj)
    pm.check_pending()
    try:
        use_catalogs(catalog_files(pm))
    except CatalogError as exc:
        raise ConfigError(f"message catalogs of the enabled plugins: {exc}") from None
    for name in sorted(enabled):
        settings_of(pm, config, name)
    return pm


def catalog_files(pm: pluggy.PluginManager) -> list[Path]:
    """The message catalogs (`.po` files) the registered plugins bring."""
    return [Path(p) for files in pm.hook.message_catalogs() for p in files or ()]


def installed_catalog_files() -> list[Path]:
    """The message catalogs of every installed plugin, enabled or not (for checks and tests)."""
    pm = new_manager()
    for plugin in installed_plugins():
        loaded = _load(plugin)
        if isinstance(loaded, type):  # unconfigured: only its catalogs are asked for
            model = loaded.settings_model
            loaded = loaded(plugin.name, model.model_construct() if model else None)
        pm.register(loaded, name=plugin.name)
    return catalog_files(pm)


def _load(plugin: InstalledPlugin) -> ModuleType | type[Plugin]:
    """The module, or the `Plugin` subclass, an entry point names."""
    module, _, attr = plugin.module.partition(":")
    loaded = importlib.import_module(module)
    if not attr:
        return loaded
    cls = getattr(loaded, attr)
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise ConfigError(f"plugin {plugin.name}: {plugin.module} is not a Plugin subclass")
    return cls


def settings_of(pm: pluggy.PluginManager, config: Config, name: str) -> Any:
    """The validated settings of the registered plugin `name` (None if it declares none)."""
    plugin = pm.get_plugin(name)
    if isinstance(plugin, Plugin):
        return plugin.settings
    return validated_settings(plugin, config, name) if plugin is not None else None


def validated_settings(plugin: Any, config: Config, name: str) -> BaseModel | None:
    """The plugin's config section checked against the `settings_model` the plugin (a module,
    a `Plugin` class or object) declares; None if it declares none. A section that does not
    match raises ConfigError with file, line and key."""
    model = getattr(plugin, "settings_model", None)
    if model is None:
        return None
    section = "channels" if name in config.channels else "plugins"
    try:
        settings = model.model_validate(config.plugin_settings(name))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in (section, name, *err["loc"]))
        line = _line_of(config, section, name)
        where = f"{config.path}:{line}" if line else str(config.path)
        raise ConfigError(f"{where}: {key}: {err['msg']}") from None
    return settings


def _line_of(config: Config, section: str, name: str) -> int | None:
    for number, line in enumerate(config.path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().startswith(f"{name}:"):
            return number
    return None
