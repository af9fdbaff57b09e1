"""The plugin manager: discovers plugins through the `amtsbote` entry-point group.

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
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from assistant import hookspecs
from assistant.config import Config, ConfigError
from assistant.i18n import CatalogError, use_catalogs

GROUP = "amtsbote"
TRACE_ENV = "AMTSBOTE_TRACE_HOOKS"

log = logging.getLogger(__name__)


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
        module = _load(installed[name])
        pm.register(module, name=name)
    for obj in extra or []:
        pm.register(obj)
    pm.check_pending()
    try:
        use_catalogs(catalog_files(pm))
    except CatalogError as exc:
        raise ConfigError(f"message catalogs of the enabled plugins: {exc}") from None
    for name in sorted(enabled):
        validate_settings(pm, config, name)
    return pm


def catalog_files(pm: pluggy.PluginManager) -> list[Path]:
    """The message catalogs (`.po` files) the registered plugins bring."""
    return [Path(p) for files in pm.hook.message_catalogs() for p in files or ()]


def installed_catalog_files() -> list[Path]:
    """The message catalogs of every installed plugin, enabled or not (for checks and tests)."""
    pm = new_manager()
    for plugin in installed_plugins():
        pm.register(_load(plugin), name=plugin.name)
    return catalog_files(pm)


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
