"""The `amtsbote` command: serve, demo, shell, check-config, db upgrade, plugins, nlu, stats,
feed-token, staff."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from assistant.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("amtsbote")


def _config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


# -- serve / demo --------------------------------------------------------------------------------


async def _serve(config: Config, host: str, port: int, announce: str | None = None,
                 reuse_port: bool = False) -> None:
    from assistant.app import build_context
    from assistant.http.app import create_app

    ctx = await build_context(config)
    app = create_app(ctx)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # reuse_port (SO_REUSEPORT): several `serve` processes share the port, the kernel spreads
    # the connections between them (README, "Several workers").
    site = web.TCPSite(runner, host, port, reuse_port=reuse_port or None)
    await site.start()
    # What start-up made (configuration, catalogue tables, models) lives as long as the
    # process: frozen, the garbage collector's full passes no longer walk it while serving.
    gc.collect()
    gc.freeze()
    print(f"Amtsbote listens on http://{host}:{port}", flush=True)
    if announce:
        print(announce, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def cmd_serve(args: argparse.Namespace) -> int:
    config = _config(args)
    host = args.host or config.server.host
    port = args.port or config.server.port
    asyncio.run(_serve(config, host, port, reuse_port=args.reuse_port))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Set up Rasa (env, model), start it, then serve on SQLite and print the chat URL."""
    from assistant.nlu import rasa_runner

    if os.environ.get("TWILIO_AUTH_TOKEN"):
        os.environ.setdefault("TWILIO_ENABLED", "true")
    config = _config(args)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    token = os.environ.get("AMTSBOTE_API_TOKEN")
    if not token:
        token = secrets.token_urlsafe(24)
        os.environ["AMTSBOTE_API_TOKEN"] = token
        token_note = f"Staff API token for this demo (set AMTSBOTE_API_TOKEN to choose): {token}"
    else:
        token_note = "Staff API token: taken from AMTSBOTE_API_TOKEN"
    try:
        rasa_runner.ensure_env(ROOT)
        model = rasa_runner.ensure_model(config.path, ROOT)
    except rasa_runner.RasaSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rasa_url = urlsplit(config.nlu.url)
    rasa = rasa_runner.start_server(model.path, rasa_url.hostname or "127.0.0.1",
                                    rasa_url.port or 5005, root=ROOT)
    print(f"Starting Rasa on {rasa.url} (log: {rasa.log_path}) ...", flush=True)
    try:
        rasa.wait_ready()
        host = config.server.host
        port = config.server.port
        base = config.server.public_url or f"http://{host}:{port}"
        chat = f"{base}/" if config.channels.get("webchat") is not None else (
            f"{base}/webhooks/rest/webhook (POST, Rasa REST format)")
        announce = f"\n  Web chat:  {chat}\n  Kiosk:     {base}/kiosk\n  API:       " \
                   f"{base}/api/v1/openapi.json\n  {token_note}\n"
        if config.channels.get("sms") and "sms" in config.enabled_plugins():
            announce += (f"  Twilio:    SMS {base}/webhooks/twilio/sms, "
                         f"voice {base}/webhooks/twilio/voice\n")
        announce += "  Stop with Ctrl+C.\n"
        asyncio.run(_serve(config, host, port, announce))
    except KeyboardInterrupt:
        pass
    finally:
        rasa.stop()
    return 0


# -- shell -----------------------------------------------------------------------------------------


def cmd_shell(args: argparse.Namespace) -> int:
    """Chat with Amtsbote in the terminal (buttons are numbered; type #N to press one)."""
    from assistant.app import build_context, start, stop
    from assistant.messages import Incoming

    config = _config(args)

    async def run() -> None:
        ctx = await build_context(config)
        await start(ctx)
        sender = f"shell-{secrets.token_hex(4)}"
        buttons: list = []
        print("Amtsbote – schreiben Sie Ihre Nachricht (Ctrl+D beendet).")
        try:
            while True:
                try:
                    line = await asyncio.to_thread(input, "> ")
                except EOFError:
                    break
                if line.startswith("#") and line[1:].isdigit() and 0 < int(line[1:]) <= len(
                        buttons):
                    line = buttons[int(line[1:]) - 1].payload
                replies = await ctx.dialogue.handle(Incoming("shell", sender, line))
                buttons = []
                for r in replies:
                    print(r.text)
                    for b in r.buttons:
                        buttons.append(b)
                        print(f"  [#{len(buttons)}] {b.title}")
        finally:
            await stop(ctx)

    asyncio.run(run())
    return 0


# -- admin ---------------------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    from assistant.plugins import create_manager

    config = _config(args)
    create_manager(config)
    print(f"{config.path}: OK")
    print(f"  storage:  {_redact(config.storage.url)}")
    print(f"  NLU:      {config.nlu.url}")
    print(f"  server:   {config.server.host}:{config.server.port}"
          f" (public URL: {config.server.base_url})")
    print(f"  video:    {config.video.get('provider')}")
    enabled = config.enabled_plugins()
    print(f"  channels: {', '.join(sorted(c for c in config.channels if c in enabled)) or '-'}")
    print(f"  plugins:  {', '.join(sorted(config.enabled_plugins()))}")
    for o in config.offices:
        chans = ", ".join(o.channels) if o.channels is not None else "all enabled"
        print(f"  office {o.id}: {o.name.de}; {o.counters} counter(s); calendar "
              f"{o.calendar.backend}; channels {chans}; {len(o.services)} services")
    print(f"  services: {', '.join(s.id for s in config.services)}")
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from assistant.storage.db import upgrade

    config = _config(args)
    asyncio.run(upgrade(config.storage.url))
    print(f"database at {_redact(config.storage.url)} is up to date")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from assistant.plugins import installed_plugins

    config = _config(args)
    enabled = config.enabled_plugins()
    print("installed plugins (entry-point group 'amtsbote'):")
    for p in installed_plugins():
        state = "enabled" if p.name in enabled else "off"
        print(f"  {p.name:10} {state:8} {p.module} ({p.distribution})")
    print("per office:")
    channels = sorted(n for n in config.channels if n in enabled)
    for o in config.offices:
        chans = [c for c in channels if o.channels is None or c in o.channels]
        print(f"  {o.id:12} channels: {', '.join(chans) or '-'}; calendar: "
              f"{o.calendar.backend}; video: {config.video.get('provider')}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from assistant import stats
    from assistant.context import command_context

    config = _config(args)

    async def run() -> dict:
        async with command_context(config, migrate=True) as ctx, ctx.db() as session:
            now = ctx.now()
            return await stats.summary(session, now - timedelta(days=args.days), now)

    print(json.dumps(asyncio.run(run()), indent=2, ensure_ascii=False))
    return 0


# -- feed tokens ---------------------------------------------------------------------------------


def cmd_feed_token(args: argparse.Namespace) -> int:
    """Stored, revocable tokens for the staff calendar feed; the token is printed once."""
    from datetime import datetime

    from sqlalchemy import select

    from assistant.context import command_context
    from assistant.http import ics_feed
    from assistant.storage.models import FeedToken

    config = _config(args)
    if args.feed_command == "create" and config.office(args.office) is None:
        print(f"unknown office {args.office!r}", file=sys.stderr)
        return 1

    def stamp(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"

    async def run() -> int:
        async with command_context(config, migrate=True) as ctx, ctx.db() as session:
            now = ctx.now()
            if args.feed_command == "create":
                row, token = await ics_feed.create_feed_token(session, args.office, args.label,
                                                              now)
                await session.commit()
                if not config.server.public_url:
                    print("note: server.public_url is not set; the URL uses host and port",
                          file=sys.stderr)
                print(f"feed token {row.id} for office {row.office_id} created; its URL is shown "
                      "only now:")
                print(ics_feed.feed_url(config.server.base_url, row.office_id, token))
                return 0
            if args.feed_command == "revoke":
                found = await ics_feed.revoke_feed_token(session, args.id, now)
                await session.commit()
                if found is None:
                    print(f"no feed token {args.id}", file=sys.stderr)
                    return 1
                print(f"feed token {found.id} ({found.office_id}) revoked at "
                      f"{stamp(found.revoked_at)} UTC")
                return 0
            query = select(FeedToken).order_by(FeedToken.id)
            if args.office:
                query = query.where(FeedToken.office_id == args.office)
            rows = list(await session.scalars(query))
            print(f"{'id':>4}  {'office':12}  {'label':24}  {'created (UTC)':16}  "
                  f"{'last used':16}  revoked")
            for r in rows:
                print(f"{r.id:>4}  {r.office_id:12}  {(r.label or '-')[:24]:24}  "
                      f"{stamp(r.created_at):16}  {stamp(r.last_used_at):16}  "
                      f"{stamp(r.revoked_at)}")
            return 0

    return asyncio.run(run())


def cmd_staff(args: argparse.Namespace) -> int:
    """Back-office accounts (assistant/staff/commands.py)."""
    from assistant.staff import commands

    return commands.run(_config(args), args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="amtsbote", description=__doc__)
    p.add_argument("-c", "--config", default=os.environ.get("AMTSBOTE_CONFIG", "config.yml"),
                   help="path to config.yml (env AMTSBOTE_CONFIG)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the HTTP server (Rasa must already run)")
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--reuse-port", action="store_true",
                   help="share the port with other `serve` processes (SO_REUSEPORT, Linux)")
    s.set_defaults(func=cmd_serve)
    sub.add_parser("demo", help="set up and start Rasa and the server (SQLite)").set_defaults(
        func=cmd_demo)
    sub.add_parser("shell", help="chat in the terminal").set_defaults(func=cmd_shell)
    sub.add_parser("check-config", help="validate config.yml, print what is enabled"
                   ).set_defaults(func=cmd_check_config)
    dbp = sub.add_parser("db", help="database migrations")
    dbp.add_argument("db_command", choices=["upgrade"])
    dbp.set_defaults(func=cmd_db_upgrade)
    sub.add_parser("plugins", help="list installed and enabled plugins").set_defaults(
        func=cmd_plugins)
    st = sub.add_parser("stats", help="success figures from the event log")
    st.add_argument("--days", type=int, default=30)
    st.set_defaults(func=cmd_stats)
    ft = sub.add_parser("feed-token", help="tokens for the staff calendar feed (.ics)")
    fts = ft.add_subparsers(dest="feed_command", required=True)
    ftc = fts.add_parser("create", help="create a token; prints the feed URL once")
    ftc.add_argument("--office", required=True)
    ftc.add_argument("--label", help="who or what uses it, e.g. 'Outlook Team Meißen'")
    fts.add_parser("list", help="list tokens (never the tokens themselves)").add_argument(
        "--office")
    fts.add_parser("revoke", help="revoke one token").add_argument("id", type=int)
    ft.set_defaults(func=cmd_feed_token)
    from assistant.staff import commands as staff_commands

    sa = sub.add_parser("staff", help="back-office accounts (/staff/)")
    staff_commands.add_subcommands(sa.add_subparsers(dest="staff_command", required=True))
    sa.set_defaults(func=cmd_staff)
    from assistant.nlu import rasa_runner

    n = sub.add_parser("nlu", help="Rasa environment, training, server, evaluation")
    rasa_runner.add_subcommands(n.add_subparsers(dest="nlu_command", required=True))
    from assistant.dialogue import scripted

    d = sub.add_parser("dialogue", help="conversation suites: success rate and turns per task")
    scripted.add_subcommands(d.add_subparsers(dest="dialogue_command", required=True))
    return p


def _plugin_commands(parser: argparse.ArgumentParser, argv: list[str] | None) -> None:
    """Let enabled plugins add subcommands (`register_commands` hook)."""
    from assistant.plugins import create_manager

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("-c", "--config", default=os.environ.get("AMTSBOTE_CONFIG", "config.yml"))
    known, _ = pre.parse_known_args(argv)
    try:
        pm = create_manager(load_config(known.config))
    except ConfigError:
        return  # the chosen command reports config problems itself
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    pm.hook.register_commands(subparsers=sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    _plugin_commands(parser, argv)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        # Migrations (at start-up and in commands) say nothing unless something is wrong.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
