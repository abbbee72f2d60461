"""Who is calling: a bearer token (from a login or an API token) resolved to a principal with its
unit scope. Console pages use the same tokens, carried in a cookie (see the console)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from .accounts import principal_for
from .errors import ApiError
from .roles import Principal

if TYPE_CHECKING:
    from bot.services import Services

COOKIE = "hailong_admin"
PRINCIPAL = web.RequestKey("principal", Principal)


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticate(request: web.Request, services: "Services") -> Principal:
    if PRINCIPAL in request:
        return request[PRINCIPAL]
    token = bearer(request)
    if token is None or len(token) > 200:
        raise ApiError(401, "unauthenticated", "send Authorization: Bearer <token> (POST /api/v1/admin/login)")
    principal = await principal_for(services.engine, services.units, token)
    if principal is None:
        raise ApiError(401, "unauthenticated", "the token is unknown, expired or revoked")
    request[PRINCIPAL] = principal
    return principal
