"""Accounts of a unit's officials, administrators and analysts. A unit administrator manages the
accounts of its own units only and cannot create system administrators."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from bot.store.tables import admin_users

from . import accounts, audit
from .api import Call, route
from .errors import forbidden, not_found
from .models import Name, Page, PageQuery, Strict, UnitCode, page
from .roles import ADMINS, ROLES, SYSTEM_ADMIN, Principal, within

TAG = "Tài khoản"


class UserOut(BaseModel):
    id: str
    username: str
    role: str
    unit_code: str | None
    disabled: bool
    created_at: datetime


class NewUser(Strict):
    username: Name
    password: str = Field(min_length=accounts.MIN_PASSWORD, max_length=200)
    role: str = Field(json_schema_extra={"enum": list(ROLES)})
    unit_code: UnitCode | None = None


class UserChange(Strict):
    disabled: bool | None = None
    password: str | None = Field(None, min_length=accounts.MIN_PASSWORD, max_length=200)


def _out(u: accounts.User) -> UserOut:
    return UserOut(id=u.id, username=u.username, role=u.role, unit_code=u.unit_code, disabled=u.disabled,
                   created_at=u.created_at)


def _may_manage(who: Principal, role: str, unit_code: str | None) -> bool:
    if who.role == SYSTEM_ADMIN:
        return True
    return role != SYSTEM_ADMIN and who.covers(unit_code)


@route("GET", "/users", summary="Accounts in your units", tag=TAG, roles=ADMINS, query=PageQuery,
       response=Page[UserOut])
async def list_users(call: Call) -> dict:
    q = call.query
    async with call.services.engine.connect() as conn:
        rows = (await conn.execute(select(admin_users).where(within(admin_users.c.unit_code, call.principal.scope))
                                   .order_by(admin_users.c.username).limit(q.limit).offset(q.offset))).all()
    return page([_out(accounts._user(r)) for r in rows], q)


@route("POST", "/users", summary="Create an account", tag=TAG, roles=ADMINS, body=NewUser, response=UserOut, status=201)
async def create_user(call: Call) -> UserOut:
    b = call.body
    if not _may_manage(call.principal, b.role, b.unit_code):
        raise forbidden("you can create accounts only in your units, and not system administrators")
    async with call.services.engine.begin() as conn:
        user = await accounts.create_user(conn, call.services.units, username=b.username, password=b.password,
                                          role=b.role, unit_code=b.unit_code)
        await audit.record(conn, call.principal, "user.create", "user", user.id, user.unit_code, role=user.role,
                           username=user.username)
    return _out(user)


async def _scoped_user(call: Call, conn: object) -> accounts.User:
    user = await accounts.get_user(conn, call.params["user_id"])  # type: ignore[arg-type]
    if user is None or not (call.principal.role == SYSTEM_ADMIN or call.principal.covers(user.unit_code)):
        raise not_found("user")
    return user


@route("GET", "/users/{user_id}", summary="One account", tag=TAG, roles=ADMINS, response=UserOut)
async def get_user(call: Call) -> UserOut:
    async with call.services.engine.connect() as conn:
        return _out(await _scoped_user(call, conn))


@route("PATCH", "/users/{user_id}", summary="Disable, enable or reset the password of an account", tag=TAG,
       roles=ADMINS, body=UserChange, response=UserOut)
async def change_user(call: Call) -> UserOut:
    async with call.services.engine.begin() as conn:
        user = await _scoped_user(call, conn)
        if not _may_manage(call.principal, user.role, user.unit_code):
            raise forbidden("a unit administrator cannot change a system administrator")
        if call.body.disabled is not None:
            await accounts.set_disabled(conn, user.id, call.body.disabled)
            await audit.record(conn, call.principal, "user.disable" if call.body.disabled else "user.enable", "user",
                               user.id, user.unit_code)
        if call.body.password is not None:
            await accounts.set_password(conn, user.id, call.body.password)
            await audit.record(conn, call.principal, "user.password", "user", user.id, user.unit_code)
        user = await accounts.get_user(conn, user.id)  # type: ignore[assignment]
    return _out(user)
