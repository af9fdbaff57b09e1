"""The boundary between the core and what is built on it (issue 13), and among the tests.

The core (assistant/) imports none of actions/, channels/, plugins/; those import the core
only through the plugin API, `assistant.plugin`. Every import counts: at module level, inside
functions and under `if TYPE_CHECKING:`. No plugin imports another plugin or a channel.

No test module imports another test module: what several share is a conftest.py fixture or a
module under tests/support/. The benchmarks (bench/) import the test kit (`assistant.testing`),
not tests/.
"""

from __future__ import annotations

import ast
import re
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


# -- plugins stand alone ------------------------------------------------------------------------

# A plugin is one module (or one package) that uses the core through the plugin API and never
# another plugin: what two plugins share is a core library behind `assistant.plugin` (the
# calendar backends' `busy_cache`, the text channels' `text_channels` and `twilio_channels`).
ALONE = ("plugins", "channels")


def own_module(path: Path) -> str:
    """`plugins.email` for plugins/email.py; the package `plugins.voice` for any module inside
    plugins/voice/, which may import its own modules."""
    parts = [p for p in path.relative_to(ROOT).with_suffix("").parts if p != "__init__"]
    return ".".join(parts[:2])


def test_no_plugin_imports_another_plugin_or_channel() -> None:
    offending = [where(path, line, module)
                 for path in files(*ALONE)
                 for line, module in imported(path)
                 if top(module) in ("plugins", "channels")
                 and module != own_module(path) and not module.startswith(own_module(path) + ".")]
    assert not offending, ("share code through the core (`assistant.plugin`), not by importing "
                           "another plugin:\n" + "\n".join(offending))


@pytest.mark.parametrize(("path", "source", "ok"), [
    ("plugins/x.py", "from assistant.plugin import busy_cache", True),
    ("plugins/x.py", "from plugins.calendar_ics import FeedCfg", False),
    ("plugins/x.py", "from .calendar_ics import FeedCfg", False),
    ("plugins/x.py", "from . import calendar_ics", False),
    ("plugins/x.py", "import plugins.calendar_ics", False),
    ("plugins/x.py", "def f():\n    from plugins.appointment_page import make_token", False),
    ("plugins/x.py", "if TYPE_CHECKING:\n    from channels.twilio_common import e164", False),
    ("plugins/mail/__init__.py", "from .render import body", True),
    ("plugins/mail/render.py", "from plugins.mail.layout import page", True),
    ("plugins/mail/render.py", "from ..calendar_ics import FeedCfg", False),
])
def test_the_plugin_rule_sees_every_kind_of_import(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch, path: str,
                                                   source: str, ok: bool) -> None:
    target = tmp_path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source + "\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    if ok:
        test_no_plugin_imports_another_plugin_or_channel()
    else:
        with pytest.raises(AssertionError, match=rf"{re.escape(path)}:\d+: imports "
                                                  r"(plugins|channels)\."):
            test_no_plugin_imports_another_plugin_or_channel()


# -- tests and benchmarks ----------------------------------------------------------------------


def is_test_module(path: Path) -> bool:
    return path.stem.startswith("test_") or path.stem.endswith("_test")


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in the file, relative ones resolved to absolute names;
    `from a import b` gives `a.b` as in `imports`."""
    package = path.relative_to(ROOT).parent.parts
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def test_no_test_module_imports_another_test_module() -> None:
    tests = [p for p in files("tests") if is_test_module(p)]
    names = {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in tests}
    stems = {p.stem for p in tests}  # `import test_x` with tests/ on sys.path
    offending = [where(path, line, module)
                 for path in files("tests")
                 for line, module in imported(path)
                 if any(module == n or module.startswith(n + ".") for n in names)
                 or top(module) in stems]
    assert not offending, ("share helpers through conftest.py fixtures or tests/support/, "
                           "not by importing a test module:\n" + "\n".join(offending))


def test_benchmarks_import_the_test_kit_not_the_tests() -> None:
    offending = [where(path, line, module)
                 for path in files("bench")
                 for line, module in imported(path)
                 if top(module) == "tests"]
    assert not offending, ("import helpers from assistant.testing (the test kit):\n"
                           + "\n".join(offending))


@pytest.mark.parametrize(("source", "ok"), [
    ("from tests.conftest import NOW", True),
    ("from tests.support.mail import book", True),
    ("from .support import calendars", True),
    ("from assistant.testing import Harness", True),
    ("from tests.test_a import helper", False),
    ("from tests import test_a", False),
    ("import tests.test_a", False),
    ("from .test_a import helper", False),
    ("from . import test_a", False),
    ("def f():\n    from test_a import helper", False),
])
def test_the_test_rule_sees_every_kind_of_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 source: str, ok: bool) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def helper() -> None: ...\n")
    (tmp_path / "tests" / "test_b.py").write_text(source + "\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    if ok:
        test_no_test_module_imports_another_test_module()
    else:
        with pytest.raises(AssertionError, match=r"tests/test_b\.py:\d+: imports "):
            test_no_test_module_imports_another_test_module()


def test_the_bench_rule_sees_an_import_of_the_tests(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "x.py").write_text("from tests.peers import twilio_api\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    with pytest.raises(AssertionError, match=r"bench/x\.py:1: imports tests\.peers"):
        test_benchmarks_import_the_test_kit_not_the_tests()
