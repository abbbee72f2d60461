"""Logging in and out, who am I, and long-lived API tokens."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import BaseModel, Field
from sqlalchemy import and_, delete, select

from bot.store.tables import admin_tokens

from . import accounts, audit
from .api import Call, route
from .auth import bearer
from .errors import ApiError, not_found
from .login import LOCKOUT_SECONDS, log_in
from .models import Name, Ok, Strict
from .passwords import token_hash

TAG = "Đăng nhập"


class LoginBody(Strict):
    username: Name
    password: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    id: str
    username: str
    role: str
    unit_code: str | None
    units: list[str] | None = Field(description="units whose data you see; null: all")


class LoginResult(BaseModel):
    token: str
    expires_at: datetime
    user: Me


def _me(call: Call) -> Me:
    p = call.principal
    return Me(id=p.user_id, username=p.username, role=p.role, unit_code=p.unit_code,
              units=sorted(p.scope) if p.scope is not None else None)


@route("POST", "/login", summary="Log in with a password; returns a session token", tag=TAG, roles=None,
       body=LoginBody, response=LoginResult, errors=(401, 429))
async def login(call: Call) -> LoginResult:
    """After MAX_FAILURES wrong passwords for one username from one address (console logins
    included), 429 until the window passes; the password is not checked meanwhile."""
    services = call.services
    outcome = await log_in(services, call.body.username, call.body.password, call.request.remote or "", via="api")
    if outcome.locked:
        raise ApiError(429, "too_many_failures",
                       f"too many failed logins for this username from your address: try again in "
                       f"{LOCKOUT_SECONDS // 60} minutes", [{"retry_after_seconds": LOCKOUT_SECONDS}])
    user = outcome.user
    if outcome.token is None or user is None:
        raise ApiError(401, "bad_credentials", "wrong username or password")
    scope = accounts.scope_for(services.units, user.role, user.unit_code)
    assert outcome.expires_at is not None
    return LoginResult(token=outcome.token, expires_at=outcome.expires_at, user=Me(
        id=user.id, username=user.username, role=user.role, unit_code=user.unit_code,
        units=sorted(scope) if scope is not None else None))


@route("POST", "/logout", summary="Revoke the token used for this call", tag=TAG, response=Ok)
async def logout(call: Call) -> Ok:
    token = bearer(call.request)
    async with call.services.engine.begin() as conn:
        if token:
            await accounts.revoke_token(conn, token)
    return Ok()


@route("GET", "/me", summary="The caller, its role and the units it sees", tag=TAG, response=Me)
async def me(call: Call) -> Me:
    return _me(call)


class NewApiToken(Strict):
    name: Name
    days: int | None = Field(None, ge=1, le=3650, description="lifetime; omitted: until revoked")


class ApiToken(BaseModel):
    id: str = Field(description="the token's hash prefix, to revoke it")
    name: str | None
    created_at: datetime
    expires_at: datetime | None


class IssuedToken(ApiToken):
    token: str = Field(description="shown once; store it in the integration's secret store")


@route("GET", "/tokens", summary="Your API tokens", tag=TAG, response=list[ApiToken])
async def list_tokens(call: Call) -> list[ApiToken]:
    async with call.services.engine.connect() as conn:
        rows = (await conn.execute(select(admin_tokens).where(and_(
            admin_tokens.c.user_id == call.principal.user_id, admin_tokens.c.kind == "api"))
            .order_by(admin_tokens.c.created_at))).all()
    return [ApiToken(id=r.token_hash[:16], name=r.name, created_at=r.created_at, expires_at=r.expires_at) for r in rows]


@route("POST", "/tokens", summary="Create an API token for an integration", tag=TAG, body=NewApiToken,
       response=IssuedToken, status=201)
async def create_token(call: Call) -> IssuedToken:
    if call.principal.token_kind != "session":
        raise ApiError(403, "forbidden", "API tokens are created after a password login, not with another API token")
    ttl = timedelta(days=call.body.days) if call.body.days else None
    async with call.services.engine.begin() as conn:
        token, expires = await accounts.issue_token(conn, call.principal.user_id, kind="api", name=call.body.name, ttl=ttl)
        tid = token_hash(token)[:16]
        await audit.record(conn, call.principal, "token.create", "token", tid, call.principal.unit_code, name=call.body.name)
    return IssuedToken(id=tid, name=call.body.name, created_at=datetime.now(timezone.utc), expires_at=expires, token=token)


@route("DELETE", "/tokens/{token_id}", summary="Revoke one of your API tokens", tag=TAG, response=Ok)
async def revoke_token(call: Call) -> Ok:
    tid = call.params["token_id"]
    if len(tid) != 16:
        raise not_found("token")
    async with call.services.engine.begin() as conn:
        res = await conn.execute(delete(admin_tokens).where(and_(
            admin_tokens.c.user_id == call.principal.user_id, admin_tokens.c.kind == "api",
            admin_tokens.c.token_hash.startswith(tid, autoescape=True))))
        if not res.rowcount:
            raise not_found("token")
        await audit.record(conn, call.principal, "token.revoke", "token", tid, call.principal.unit_code)
    return Ok()
