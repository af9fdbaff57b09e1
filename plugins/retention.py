"""Retention plugin `retention`: runs `assistant.retention` periodically and on demand.

After start-up (and then every `every_minutes`) it applies the retention policy at the app's
clock; `amtsbote retention run [--dry-run]` does the same once from the command line (cron).
Several workers may run it at the same time: every step is idempotent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from assistant.plugin import Plugin, Policy, Report, hookimpl, purge

if TYPE_CHECKING:
    from assistant.plugin import Config, Context

NAME = "retention"
log = logging.getLogger(__name__)


class RetentionSettings(BaseModel):
    """What `retention:` in config.yml does not cover (rarely changed)."""

    model_config = ConfigDict(extra="forbid")
    every_minutes: float = Field(default=60, gt=0)
    first_run_after_seconds: float = Field(default=60, ge=0)
    delivery_days: float = Field(default=2, gt=0)
    verification_failure_hours: float = Field(default=24, gt=0)
    outbox_done_days: float = Field(default=7, gt=0)


def policy(config: Config, s: RetentionSettings | None) -> Policy:
    s = s or RetentionSettings()
    return Policy.from_config(config, delivery_days=s.delivery_days,
                              verification_failure_hours=s.verification_failure_hours,
                              outbox_done_days=s.outbox_done_days)


class Retention(Plugin):
    """Applies the retention policy after start-up and then every `every_minutes`."""

    settings_model = RetentionSettings
    settings: RetentionSettings | None

    def __init__(self, name: str, settings: RetentionSettings | None) -> None:
        super().__init__(name, settings)
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, ctx: Context, dry_run: bool = False) -> Report:
        report = await purge(ctx.db, policy(ctx.config, self.settings), ctx.now(), dry_run)
        if any(report.as_dict().values()):
            log.info("retention: %s", report.as_dict())
        return report

    async def _loop(self, ctx: Context) -> None:
        s = self.settings or RetentionSettings()
        await asyncio.sleep(s.first_run_after_seconds)
        while True:
            try:
                await self.run_once(ctx)
            except Exception:  # keep running; the next round tries again
                log.exception("retention run failed")
            await asyncio.sleep(s.every_minutes * 60)

    @hookimpl
    def startup(self, ctx: Context) -> None:
        self._task = asyncio.create_task(self._loop(ctx), name="amtsbote-retention")

    @hookimpl
    async def shutdown(self, ctx: Context) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @hookimpl
    def register_commands(self, subparsers: argparse._SubParsersAction) -> None:
        p = subparsers.add_parser("retention", help="delete personal data that is due (see "
                                  "docs/notifications.md)")
        p.add_argument("retention_command", choices=["run"])
        p.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
        p.set_defaults(func=_command)


# -- command line ------------------------------------------------------------------------------


def _command(args: argparse.Namespace) -> int:
    from assistant.plugin import command_context, load_config

    config = load_config(args.config)

    async def run() -> Report:
        async with command_context(config, migrate=True) as ctx:
            return await purge(ctx.db, policy(config, ctx.settings(NAME)), ctx.now(),
                               dry_run=args.dry_run)

    report = asyncio.run(run())
    print(json.dumps({"dry_run": args.dry_run, **report.as_dict()}, indent=2))
    return 0
