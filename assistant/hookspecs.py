"""Every hook an Amtsbote plugin can implement: one hook, one docstring, one contract.

A plugin is a module (or object) with functions marked `@hookimpl` (from `assistant.plugin`,
the one module plugins import) and named like the specs below; it registers through the
`amtsbote` entry-point group and config.yml switches it on.
Hooks that do I/O return an awaitable (or None when the call is not for this plugin); the core
awaits it. Hooks marked *firstresult* are routed: each implementation checks the `name`,
`channel`, `backend` or `provider` argument and returns None when it is not addressed.

Arguments that are always available:
- `ctx`: the running `assistant.context.Context` (config, database, clock, dialogue, hooks).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from aiohttp import web

    from assistant.config import Office
    from assistant.context import Context
    from assistant.dialogue.flow import Flow
    from assistant.messages import Incoming, Reply
    from assistant.values import AppointmentView, BusyInterval, Meeting

hookspec = pluggy.HookspecMarker("amtsbote")
hookimpl = pluggy.HookimplMarker("amtsbote")


# -- every plugin ----------------------------------------------------------------------------


@hookspec
def startup(ctx: Context) -> Awaitable[None] | None:
    """Start background work (polling, sync loops, workers) after the database is ready."""


@hookspec
def shutdown(ctx: Context) -> Awaitable[None] | None:
    """Stop what `startup` started; release connections. Called once, in reverse order."""


@hookspec
def message_catalogs() -> list[Path]:
    """Return this plugin's message catalogs: `.po` files named `<name>.<language>.po`.

    One file per language (`de` and `en`: `whatsapp.de.po`, `whatsapp.en.po`) with symbolic
    msgids, best prefixed with the plugin's name (`whatsapp.welcome`). The core merges them
    with its own texts when it registers the plugin, so `t(key)` finds them while the plugin
    is enabled; a key that the core or another plugin already defines stops start-up with
    both file names.
    """


@hookspec
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `amtsbote` subcommands: `subparsers.add_parser(...).set_defaults(func=f)` where
    `f(args) -> int`; `args.config` is the config path. Only enabled plugins are asked."""


# -- channels ---------------------------------------------------------------------------------


@hookspec
def register_routes(app: web.Application, ctx: Context) -> None:
    """Add this channel's HTTP routes (webhooks, pages, static files) to the aiohttp app.

    Routes call `ctx.dialogue.handle(Incoming(...))` and render the returned replies in the
    channel's own format. `ctx.first_delivery(channel, id)` handles a redelivered webhook
    only once.
    """


@hookspec(firstresult=True)
def deliver(
    ctx: Context, channel: str, recipient: str, replies: list[Reply]
) -> Awaitable[bool] | None:
    """Send replies to `recipient` outside of a request (reminders, confirmations, notices).

    Only the plugin whose channel name equals `channel` answers; it returns an awaitable that
    resolves to True once the channel accepted the message.
    """


@hookspec
def staff_notice(ctx: Context, office: Office, kind: str, text: str) -> Awaitable[None] | None:
    """Tell staff of `office` about something that needs a person now.

    `kind` is `video_request`, `human_request` or `calendar_conflict`; `text` is ready to post.
    Channels with a staff room configured (Matrix room, Telegram chat) post it there.
    """


# -- calendar backends ------------------------------------------------------------------------


@hookspec(firstresult=True)
def calendar_busy(
    ctx: Context, backend: str, office: Office, start: datetime, end: datetime
) -> Awaitable[list[BusyInterval]] | None:
    """Busy intervals in the office's calendar between `start` and `end` (aware datetimes).

    Only the backend named `backend` answers. Events that Amtsbote wrote itself must not be
    returned (they are already in the database). A `BusyInterval` without `counter` blocks
    every counter of the office. Raise `CalendarUnavailable` when the server cannot be read.
    """


@hookspec(firstresult=True)
def calendar_create_event(
    ctx: Context, backend: str, office: Office, appointment: AppointmentView
) -> Awaitable[None] | None:
    """Write a new appointment to the office calendar; must be idempotent (UID from reference).

    Called from the outbox worker, never while a citizen waits; raising makes it retry later.
    """


@hookspec(firstresult=True)
def calendar_update_event(
    ctx: Context, backend: str, office: Office, appointment: AppointmentView
) -> Awaitable[None] | None:
    """Move an appointment's event to its new time (reschedule); idempotent, retried on error."""


@hookspec(firstresult=True)
def calendar_delete_event(
    ctx: Context, backend: str, office: Office, appointment: AppointmentView
) -> Awaitable[None] | None:
    """Remove (or mark cancelled) a cancelled appointment's event; idempotent, retried."""


# -- video ------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def video_create_meeting(
    ctx: Context, provider: str, topic: str, start: datetime | None
) -> Awaitable[Meeting] | None:
    """Create a meeting (now when `start` is None) and return citizen and staff join URLs.

    Room names must be unguessable. Only the provider named `provider` answers.
    """


# -- notifications ----------------------------------------------------------------------------


@hookspec
def notify(
    ctx: Context, event: str, appointment: AppointmentView, extra: dict[str, Any]
) -> Awaitable[None] | None:
    """React to an appointment event: `booked`, `rescheduled`, `cancelled`, `reminder` or
    `closure` (the office closed at its time; `extra["reason"]`, the appointment stays booked).

    Called from the outbox worker, so it may be slow and may raise to be retried. Every enabled
    notifier is called; each decides whether the appointment has a contact it serves.
    """


@hookspec(firstresult=True)
def appointment_link(ctx: Context, appointment: AppointmentView) -> Awaitable[str | None] | None:
    """The citizen's personal link to this appointment (a page to see, move or cancel it).

    A notifier puts it into its message when one answers (the `termin` page plugin does while
    it is enabled); None when no such page is on or the appointment is not booked any more.
    The link carries its own proof, so only the citizen may be given it.
    """


@hookspec(firstresult=True)
def send_sms(ctx: Context, to: str, body: str) -> Awaitable[str] | None:
    """Send one SMS to an E.164 number through the configured gateway; return its message id."""


@hookspec(firstresult=True)
def read_incoming(msg: Incoming) -> str | None:
    """The text of an incoming message as the dialogue should read it, for a channel's own
    conventions (on the phone line a reference code spelled with the spelling alphabet, "vier
    Viktor acht Strich Julius …", becomes the code); None to leave the text as it is.

    Called for every message before it is read, also when a test or another entry point hands
    the message to the dialogue directly; implementations check `msg.channel`.
    """


@hookspec
def register_flows() -> list[Flow]:
    """Return the conversation flows this plugin adds (`assistant.plugin.Flow` subclasses).

    Each flow names the Rasa intents that start it; the engine routes to it, lets it read the
    answer to its pending question first, and keeps its typed `Task` state. Built-in flows
    live in `actions/` (book, reschedule, cancel, check, video, information, person); a county
    adds its own the same way.
    """
