"""Console sessions: a password login issues the same expiring session token as the API's login,
carried in an HttpOnly cookie instead of an Authorization header. Logging in itself, with its
failure counter shared with the API, is admin_api/login.py."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from admin_api import accounts
from admin_api.auth import COOKIE
from admin_api.roles import Principal

if TYPE_CHECKING:
    from bot.services import Services


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
