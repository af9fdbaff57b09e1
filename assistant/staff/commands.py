"""`amtsbote staff add|list|disable|reset-password`: back-office accounts from the command
line. A password is read from standard input when that is not a terminal (one line), else
asked twice without echo; it is never printed or logged."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import datetime

from assistant.config import Config
from assistant.staff import accounts


def add_subcommands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    add = sub.add_parser("add", help="create an account (password from stdin or prompted)")
    add.add_argument("username")
    add.add_argument("--office", action="append", default=[], metavar="ID",
                     help="an office the user works for (repeat for several)")
    add.add_argument("--role", choices=accounts.ROLES, default="clerk")
    sub.add_parser("list", help="list accounts (never passwords)")
    sub.add_parser("disable", help="disable an account and end its sessions").add_argument(
        "username")
    sub.add_parser("reset-password", help="set a new password; ends the account's sessions"
                   ).add_argument("username")


def read_password() -> str:
    """One line from stdin when it is not a terminal, else asked twice (no echo)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise accounts.AccountError("the two passwords differ")
    return first


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def run(config: Config, args: argparse.Namespace) -> int:
    from assistant.context import command_context

    async def main() -> int:
        async with command_context(config, migrate=True) as ctx, ctx.db() as session:
            now = ctx.now()
            if args.staff_command == "list":
                users = await accounts.all_users(session)
                print(f"{'user':24}  {'role':12}  {'offices':24}  {'created (UTC)':16}  disabled")
                for u in users:
                    where = "all" if u.role == "county_admin" else ", ".join(u.offices)
                    print(f"{u.username:24}  {u.role:12}  {where[:24]:24}  "
                          f"{_stamp(u.created_at):16}  {_stamp(u.disabled_at)}")
                return 0
            if args.staff_command == "disable":
                user = await accounts.disable(session, args.username, now)
                await session.commit()
                print(f"user {user.username} disabled; their sessions have ended")
                return 0
            password = read_password()
            if args.staff_command == "add":
                user = await accounts.create(session, config, args.username, password,
                                             args.role, args.office, now)
                await session.commit()
                where = "all offices" if user.role == "county_admin" else ", ".join(user.offices)
                print(f"user {user.username} ({user.role}; {where}) created; sign in at "
                      f"{config.server.base_url}/staff/login")
                return 0
            user = await accounts.reset_password(session, args.username, password)
            await session.commit()
            print(f"password of {user.username} changed; their sessions have ended")
            return 0

    try:
        return asyncio.run(main())
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
