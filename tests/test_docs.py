"""The plugin hooks as documented: docs/plugin-hooks.md follows assistant/hookspecs.py (every
hook, its exact signature, nothing that no longer exists), every hook is called by the
application with an implementation behind it, and `AMTSBOTE_TRACE_HOOKS=1` logs those calls
with plugin names and times but no citizen data (datasette's test_docs.py, for pluggy hooks)."""

from __future__ import annotations

import ast
import copy
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from assistant import cli
from assistant.config import load_config
from assistant.plugin import (
    Citizen,
    Origin,
    availability,
    book,
    cancel,
    escalate,
    hookimpl,
    reschedule,
)
from assistant.plugins import TRACE_ENV, new_manager
from assistant.testing import Harness

ROOT = Path(__file__).resolve().parent.parent
HOOK_PAGE = ROOT / "docs" / "plugin-hooks.md"

# The citizen of the traced run: none of this may appear in the trace.
NAME, PHONE, MAIL = "Anna Müller", "+4915112345678", "anna.mueller@example.org"


def _is_hookspec(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Name) and target.id == "hookspec"


def _shape(fn: ast.FunctionDef) -> tuple[Any, ...]:
    """What a plugin author relies on: name, arguments with types, result, firstresult."""
    firstresult = any(
        isinstance(d, ast.Call) and any(k.arg == "firstresult" and ast.unparse(k.value) == "True"
                                        for k in d.keywords)
        for d in fn.decorator_list
    )
    args = [(a.arg, ast.unparse(a.annotation) if a.annotation else None) for a in fn.args.args]
    returns = ast.unparse(fn.returns) if fn.returns else None
    return fn.name, args, returns, firstresult


def _specs() -> dict[str, ast.FunctionDef]:
    tree = ast.parse((ROOT / "assistant" / "hookspecs.py").read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)
            and any(_is_hookspec(d) for d in node.decorator_list)}


def _documented() -> dict[str, ast.FunctionDef | None]:
    """Each `### <hook>` section of the page with the signature in its first code block."""
    out: dict[str, ast.FunctionDef | None] = {}
    text = HOOK_PAGE.read_text(encoding="utf-8")
    for section in re.split(r"^### ", text, flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        block = re.search(r"```python\n(.*?)```", body, flags=re.S)
        fn = None
        if block:
            signature = block.group(1).split("\n\n")[0].rstrip().rstrip(":")
            tree = ast.parse(signature + ": ...")
            fn = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
        out[title.strip().strip("`")] = fn
    return out


def _signature(fn: ast.FunctionDef) -> str:
    bare = copy.copy(fn)
    bare.body = [ast.Expr(ast.Constant(...))]
    return ast.unparse(bare).removesuffix(":\n    ...")


HOOKS = sorted(_specs())


def test_every_hook_has_a_section_with_its_exact_signature() -> None:
    assert len(HOOKS) >= 16
    documented = _documented()
    for name, spec in _specs().items():
        assert name in documented, f"docs/plugin-hooks.md has no section `### {name}`"
        fn = documented[name]
        assert fn is not None, f"the section {name} starts with no ```python signature"
        assert _shape(fn) == _shape(spec), (
            f"docs/plugin-hooks.md shows {_signature(fn)!r}, "
            f"assistant/hookspecs.py says {_signature(spec)!r}")


def test_the_docs_list_no_hook_that_does_not_exist() -> None:
    gone = sorted(set(_documented()) - set(HOOKS))
    assert not gone, f"docs/plugin-hooks.md documents hooks that hookspecs.py lacks: {gone}"


def test_the_hook_page_is_linked_and_the_readme_names_every_hook() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "(docs/plugin-hooks.md)" in readme and "(plugin-hooks.md)" in architecture
    assert "(docs/architecture.md)" in readme
    plugins_section = readme.split("\n## Plugins\n", 1)[1].split("\n## ", 1)[0]
    missing = [h for h in HOOKS if f"`{h}`" not in plugins_section]
    assert not missing, f"README's Plugins section does not name {missing}"


# -- the hooks at work, traced ----------------------------------------------------------------


@dataclass
class SmsGateway:
    sent: list[tuple[str, str]] = field(default_factory=list)

    @hookimpl
    def send_sms(self, ctx: Any, to: str, body: str) -> Any:
        async def send() -> str:
            self.sent.append((to, body))
            return f"SM{len(self.sent)}"

        return send()


@dataclass
class Notifier:
    events: list[str] = field(default_factory=list)

    @hookimpl
    def notify(self, ctx: Any, event: str, appointment: Any, extra: dict[str, Any]) -> None:
        self.events.append(event)


@dataclass
class LinkingNotifier:
    """A notifier that puts the citizen's link to the appointment page into its message."""

    links: list[str | None] = field(default_factory=list)

    @hookimpl
    def notify(self, ctx: Any, event: str, appointment: Any, extra: dict[str, Any]) -> Any:
        async def send() -> None:
            self.links.append(await ctx.call_first("appointment_link", ctx=ctx,
                                                   appointment=appointment))

        return send()


class Trace(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@dataclass
class Run:
    lines: list[str]
    calls: dict[str, set[str]]
    secrets: list[str]
    gateway: SmsGateway
    notifier: Notifier
    linker: LinkingNotifier


@pytest.fixture(scope="module")
async def traced() -> AsyncIterator[Run]:
    """One appointment's life through the real application (SMS citizen, built-in calendar,
    Jitsi, a test notifier and SMS gateway), the command line, and a video request for staff,
    with hook tracing on."""
    trace = Trace()
    logger, alembic = logging.getLogger("assistant.plugins"), logging.getLogger("alembic")
    level, alembic_level = logger.level, alembic.level  # cli.main sets alembic's
    logger.addHandler(trace)
    logger.setLevel(logging.INFO)
    gateway, notifier, linker = SmsGateway(), Notifier(), LinkingNotifier()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(TRACE_ENV, "1")
            config = load_config(ROOT / "config.yml")
            config = config.model_copy(
                update={"channels": {**config.channels, "sms": {}, "voice": {}}})
            assert cli.main(["-c", str(ROOT / "config.yml"), "plugins"]) == 0
            async with Harness(config=config, plugins=[gateway, notifier, linker]) as h:
                await h.http()
                await h.say("Hallo", channel="voice")  # every message: read_incoming
                ctx, origin = h.ctx, Origin("sms", PHONE, "de")
                frm = ctx.now() + timedelta(days=2)
                slots = await availability.free_slots(ctx, "personalausweis", "riesa", frm,
                                                      frm + timedelta(days=14), limit=20)
                first = slots[0]
                later = next(s for s in slots if s.start > first.start)
                booked = await book.book_now(
                    ctx, service_id="personalausweis", office_id="riesa", start=first.start,
                    citizen=Citizen(NAME, PHONE, MAIL), origin=origin)
                assert booked is not None
                await h.run_outbox_now()
                moved = await reschedule.move(ctx, booked.id, "", later.start, later.end, origin)
                assert moved is not None
                await h.run_outbox_now()
                h.clock.now = moved.start - timedelta(hours=24)  # the reminder is due
                await h.run_outbox_now()
                assert await cancel.cancel(ctx, booked.id, origin) is not None
                await h.run_outbox_now()
                meeting = await escalate.create_meeting(ctx, "Personalausweis", None)
                await escalate.request_staff(ctx, origin, kind="video", office_id="riesa",
                                             service_id="personalausweis", meeting=meeting,
                                             notice=f"{NAME} ({PHONE}) wartet: {meeting.staff_url}")
            secrets = [NAME, "Müller", PHONE, PHONE[1:], MAIL, booked.reference,
                       booked.display_reference, meeting.room]
    finally:
        logger.removeHandler(trace)
        logger.setLevel(level)
        alembic.setLevel(alembic_level)
    calls: dict[str, set[str]] = {}
    for line in trace.lines:
        if m := re.match(r"hook (\w+) \[(.*?)\] ", line):
            calls.setdefault(m[1], set()).update(p for p in m[2].split(", ") if p != "-")
    yield Run(trace.lines, calls, secrets, gateway, notifier, linker)


def test_every_hook_is_called_with_an_implementation(traced: Run) -> None:
    never = [h for h in HOOKS if h not in traced.calls]
    assert not never, f"hooks the application never called in this run: {never}"
    unanswered = [h for h in HOOKS if not traced.calls[h]]
    assert not unanswered, f"hooks called with no plugin implementing them: {unanswered}"
    # Tracing wraps the awaitables hooks return; what they do is unchanged.
    assert traced.notifier.events == ["booked", "rescheduled", "reminder", "cancelled"]
    assert [to for to, _ in traced.gateway.sent] == [PHONE]
    booked, moved, reminded, cancelled = traced.linker.links  # the page plugin `termin`
    assert all(link and "/termin/" in link for link in (booked, moved, reminded))
    assert moved != booked and cancelled is None


def test_the_trace_names_hooks_plugins_and_times_but_no_citizen_data(traced: Run) -> None:
    log = "\n".join(traced.lines)
    leaked = [s for s in traced.secrets if s.casefold() in log.casefold()]
    assert not leaked, f"the hook trace contains citizen data: {leaked}"
    assert "builtin" in traced.calls["calendar_busy"]
    assert "jitsi" in traced.calls["video_create_meeting"]
    assert {"RecordingChannel", "sms"} <= traced.calls["deliver"]
    assert "SmsGateway" in traced.calls["send_sms"]
    assert re.search(r"^hook calendar_busy \[[^]]*builtin[^]]*\] \d+\.\d\d ms$", log, re.M)
    assert re.search(r"^hook send_sms awaited \d+\.\d\d ms$", log, re.M)


def test_tracing_is_off_unless_switched_on(monkeypatch: pytest.MonkeyPatch,
                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(TRACE_ENV, raising=False)
    caplog.set_level(logging.INFO, logger="assistant.plugins")
    pm = new_manager()
    pm.register(Notifier())
    pm.hook.notify(ctx=None, event="booked", appointment=None, extra={})
    assert not [r for r in caplog.records if r.name == "assistant.plugins"]


def test_the_hooks_read_from_the_source_are_those_pluggy_registers() -> None:
    assert sorted(n for n in vars(new_manager().hook) if not n.startswith("_")) == HOOKS
