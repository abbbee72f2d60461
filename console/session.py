"""Console sessions: a password login issues the same expiring session token as the API's login,
carried in an HttpOnly cookie instead of an Authorization header. Failed logins are counted per
username and address in the state store (Redis when configured), so guessing is slow in every
process of a deployment."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from admin_api import accounts, audit
from admin_api.auth import COOKIE
from admin_api.roles import Principal

if TYPE_CHECKING:
    from bot.services import Services

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60


@dataclass(frozen=True)
class LoginResult:
    token: str | None = None
    max_age: int = 0
    locked: bool = False


def _failures_key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()[:32]
    return f"console:login_failures:{digest}"


async def log_in(services: "Services", username: str, password: str, address: str) -> LoginResult:
    """A session token, or why not: wrong credentials (``token`` None) or too many failures
    (``locked``: the password is not even checked until the window passes)."""
    key = _failures_key(username, address)
    failures = int(((await services.state.get(key)) or {}).get("n", 0))
    if failures >= MAX_FAILURES:
        return LoginResult(locked=True)
    user = await accounts.check_password(services.engine, username, password) if username and password else None
    if user is None:
        await services.state.set(key, {"n": failures + 1}, ttl=LOCKOUT_SECONDS)
        return LoginResult(locked=failures + 1 >= MAX_FAILURES)
    await services.state.delete(key)
    hours = services.settings.admin_session_hours
    async with services.engine.begin() as conn:
        token, _ = await accounts.issue_token(conn, user.id, kind="session", ttl=timedelta(hours=hours))
        await audit.record(conn, None, "login", "user", user.id, user.unit_code, via="console")
    return LoginResult(token=token, max_age=hours * 3600)


async def log_out(services: "Services", token: str | None) -> None:
    if token:
        async with services.engine.begin() as conn:
            await accounts.revoke_token(conn, token)


def session_token(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE)
    return token if token and len(token) <= 200 else None


async def current_principal(services: "Services", request: web.Request) -> Principal | None:
    """Only session tokens open the console: an integration's API token is not a browser login."""
    token = session_token(request)
    if token is None:
        return None
    principal = await accounts.principal_for(services.engine, services.units, token)
    return principal if principal is not None and principal.token_kind == "session" else None
