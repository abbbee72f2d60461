"""``hailong admin``: the first system administrator, accounts and API tokens from the shell (the
API needs an account to log in with, so the first one is created here)."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.services import build_services
from bot.settings import Settings
from bot.store.tables import admin_users

from . import accounts, audit
from .errors import ApiError


def _password(args: argparse.Namespace) -> str:
    """From HAILONG_ADMIN_PASSWORD (scripts), standard input (--password-stdin) or a prompt; never an argument,
    which would land in the shell history and the process list."""
    if os.environ.get("HAILONG_ADMIN_PASSWORD"):
        return os.environ["HAILONG_ADMIN_PASSWORD"]
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ApiError(422, "invalid", "the two passwords differ")
    return first


def cmd_create_user(args: argparse.Namespace) -> int:
    async def run() -> str:
        services = build_services(Settings.from_env())
        try:
            async with services.engine.begin() as conn:
                user = await accounts.create_user(conn, services.units, username=args.username,
                                                  password=_password(args), role=args.role, unit_code=args.unit)
                await audit.record(conn, None, "user.create", "user", user.id, user.unit_code, role=user.role,
                                   username=user.username, via="cli")
            return user.id
        finally:
            await services.close()
    return _report(run, lambda uid: f"created {args.role} {args.username} ({uid})")


def cmd_token(args: argparse.Namespace) -> int:
    async def run() -> str:
        services = build_services(Settings.from_env())
        try:
            async with services.engine.begin() as conn:
                row = (await conn.execute(select(admin_users.c.id, admin_users.c.unit_code)
                                          .where(admin_users.c.username == args.username.lower()))).first()
                if row is None:
                    raise ApiError(404, "not_found", f"no user {args.username}")
                token, _ = await accounts.issue_token(conn, row.id, kind="api", name=args.name,
                                                      ttl=timedelta(days=args.days) if args.days else None)
                await audit.record(conn, None, "token.create", "user", row.id, row.unit_code, name=args.name, via="cli")
            return token
        finally:
            await services.close()
    return _report(run, lambda token: token)


def _report(run: Any, ok: Any) -> int:
    try:
        result = asyncio.run(run())
    except ApiError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 2
    print(ok(result))
    return 0


def register(sub: Any) -> None:
    from .roles import ROLES

    admin = sub.add_parser("admin", help="accounts of the admin API").add_subparsers(dest="admin_command", required=True)
    cu = admin.add_parser("create-user", help="create an account (password from HAILONG_ADMIN_PASSWORD, stdin or a prompt)")
    cu.add_argument("username")
    cu.add_argument("--role", choices=ROLES, required=True)
    cu.add_argument("--unit", help="unit code, e.g. p.ha_noi or bo_noi_vu (not for system_admin)")
    cu.add_argument("--password-stdin", action="store_true")
    cu.set_defaults(fn=cmd_create_user)
    tk = admin.add_parser("token", help="issue a long-lived API token for an integration; printed once")
    tk.add_argument("username")
    tk.add_argument("--name", required=True, help="what the token is for")
    tk.add_argument("--days", type=int, help="lifetime (default: until revoked)")
    tk.set_defaults(fn=cmd_token)
