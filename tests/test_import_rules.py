"""The boundary between the core and what is built on it (issue 13).

The core (assistant/) imports none of actions/, channels/, plugins/; those import the core
only through the plugin API, `assistant.plugin`. Every import counts: at module level, inside
functions and under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = "assistant"
OUTSIDE = ("actions", "channels", "plugins")
API = "assistant.plugin"


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import anywhere in the file.

    `from a import b` gives `a.b`, since b may be a module (`from assistant import stats`).
    Relative imports stay inside their own package and are skipped.
    """
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def top(module: str) -> str:
    return module.split(".")[0]


def files(*packages: str) -> list[Path]:
    return sorted(p for d in packages for p in (ROOT / d).rglob("*.py"))


def where(path: Path, line: int, module: str) -> str:
    return f"{path.relative_to(ROOT)}:{line}: imports {module}"


def test_the_packages_exist() -> None:
    for d in (CORE, *OUTSIDE):
        assert (ROOT / d / "__init__.py").is_file(), d
    assert (ROOT / CORE / "plugin.py").is_file()


def test_the_core_imports_no_flows_channels_or_plugins() -> None:
    offending = [where(path, line, module)
                 for path in files(CORE)
                 for line, module in imports(path)
                 if top(module) in OUTSIDE]
    assert not offending, "the core must not import these:\n" + "\n".join(offending)


def test_flows_channels_and_plugins_use_the_core_only_through_the_plugin_api() -> None:
    offending = [where(path, line, module)
                 for path in files(*OUTSIDE)
                 for line, module in imports(path)
                 if top(module) == CORE and module != API and not module.startswith(API + ".")]
    assert not offending, ("import the core only as `from assistant.plugin import …`:\n"
                           + "\n".join(offending))


# -- the rules themselves ------------------------------------------------------------------


@pytest.mark.parametrize(("source", "ok"), [
    ("from assistant.plugin import Context, hookimpl", True),
    ("import assistant.plugin", True),
    ("from assistant import plugin", True),
    ("from .calendar_cache import Busy", True),
    ("from assistant.config import Office", False),
    ("import assistant.booking.book", False),
    ("import assistant", False),
    ("from assistant import stats", False),
    ("def f():\n    from assistant.i18n import t", False),
    ("if TYPE_CHECKING:\n    from assistant.context import Context", False),
])
def test_the_api_rule_sees_every_kind_of_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                source: str, ok: bool) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "x.py").write_text(source + "\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    if ok:
        test_flows_channels_and_plugins_use_the_core_only_through_the_plugin_api()
    else:
        with pytest.raises(AssertionError, match=r"plugins/x\.py:\d+: imports assistant"):
            test_flows_channels_and_plugins_use_the_core_only_through_the_plugin_api()


@pytest.mark.parametrize("source", [
    "import channels.voice",
    "from plugins import retention",
    "def f():\n    from actions import flows",
    "if TYPE_CHECKING:\n    from channels.sms import render",
])
def test_the_core_rule_sees_every_kind_of_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 source: str) -> None:
    (tmp_path / CORE).mkdir()
    (tmp_path / CORE / "x.py").write_text(source + "\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    with pytest.raises(AssertionError,
                       match=r"assistant/x\.py:\d+: imports (actions|channels|plugins)\."):
        test_the_core_imports_no_flows_channels_or_plugins()
