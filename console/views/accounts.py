"""Accounts of a unit's officials and analysts, for its administrators: list, create, disable and
enable. A unit administrator sees and manages only accounts of its own units; only a system
administrator creates unit administrators. Checks are repeated here in Vietnamese so an
administrator reads what to fix; ``admin_api.accounts`` stays the authority."""
from __future__ import annotations

import re
from datetime import date

from aiohttp import web
from sqlalchemy import select

from admin_api import accounts, audit
from admin_api.errors import ApiError
from admin_api.roles import ADMINS, ANALYST, OFFICIAL, SYSTEM_ADMIN, UNIT_ADMIN, Principal, within
from bot.services import Services
from bot.store.tables import admin_users

from ..web import Ctx, page, redirect
from .table import ROUTES

USERNAME = re.compile(r"[a-z0-9._-]{3,80}")
DONE = {"created": "Đã tạo tài khoản.", "disabled": "Đã khóa tài khoản; các phiên đăng nhập của tài khoản đã bị hủy.",
        "enabled": "Đã mở khóa tài khoản."}


def creatable_roles(who: Principal) -> tuple[str, ...]:
    return (UNIT_ADMIN, OFFICIAL, ANALYST) if who.role == SYSTEM_ADMIN else (OFFICIAL, ANALYST)


def unit_choices(services: Services, who: Principal) -> list[tuple[str, str]]:
    """Today's units the caller may give accounts to, by name."""
    today = date.today()
    units = [u for u in services.units.units.values() if u.valid_on(today) and who.covers(u.code)]
    return sorted(((u.code, u.name) for u in units), key=lambda cu: (not cu[0].startswith("p."), cu[1]))


async def _page(ctx: Ctx, *, error: str | None = None, values: dict[str, str] | None = None,
                status: int = 200) -> web.StreamResponse:
    async with ctx.services.engine.connect() as conn:
        rows = (await conn.execute(select(admin_users).where(within(admin_users.c.unit_code, ctx.who.scope))
                                   .order_by(admin_users.c.username).limit(1000))).all()
    return ctx.render("users.html", status=status, users=[accounts._user(r) for r in rows], error=error,
                      values=values or {}, roles=creatable_roles(ctx.who), units=unit_choices(ctx.services, ctx.who),
                      min_password=accounts.MIN_PASSWORD, done=DONE.get(ctx.request.query.get("done", "")))


@ROUTES.get("/users")
@page(ADMINS)
async def users(ctx: Ctx) -> web.StreamResponse:
    return await _page(ctx)


def _problem(ctx: Ctx, username: str, password: str, role: str, unit: str) -> str | None:
    if not USERNAME.fullmatch(username):
        return "Tên đăng nhập: từ 3 đến 80 ký tự, chỉ gồm chữ không dấu, chữ số, dấu chấm, gạch dưới, gạch ngang."
    if len(password) < accounts.MIN_PASSWORD:
        return f"Mật khẩu cần ít nhất {accounts.MIN_PASSWORD} ký tự."
    if role not in creatable_roles(ctx.who):
        return "Bạn không thể tạo tài khoản với vai trò này."
    if unit not in dict(unit_choices(ctx.services, ctx.who)):
        return "Hãy chọn một đơn vị thuộc phạm vi của bạn."
    return None


@ROUTES.post("/users")
@page(ADMINS)
async def create(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.form()
    username = form.get("username", "").strip().lower()[:80]
    password, role, unit = form.get("password", "")[:200], form.get("role", ""), form.get("unit_code", "")
    values = {"username": username, "role": role, "unit_code": unit}
    problem = _problem(ctx, username, password, role, unit)
    if problem:
        return await _page(ctx, error=problem, values=values, status=422)
    try:
        async with ctx.services.engine.begin() as conn:
            user = await accounts.create_user(conn, ctx.services.units, username=username, password=password,
                                              role=role, unit_code=unit)
            await audit.record(conn, ctx.who, "user.create", "user", user.id, user.unit_code, role=user.role,
                               username=user.username, via="console")
    except ApiError as e:
        message = "Tên đăng nhập này đã có người dùng." if e.status == 409 else f"Không tạo được tài khoản: {e.message}"
        return await _page(ctx, error=message, values=values, status=e.status)
    return redirect("/users?done=created")


async def _set_disabled(ctx: Ctx, disabled: bool) -> web.StreamResponse:
    user_id = ctx.request.match_info["user_id"]
    async with ctx.services.engine.begin() as conn:
        user = await accounts.get_user(conn, user_id)
        if user is None or (ctx.who.role != SYSTEM_ADMIN and not ctx.who.covers(user.unit_code)):
            raise web.HTTPNotFound()
        if user.id == ctx.who.user_id or (user.role == SYSTEM_ADMIN and ctx.who.role != SYSTEM_ADMIN):
            raise web.HTTPForbidden()
        await accounts.set_disabled(conn, user.id, disabled)
        await audit.record(conn, ctx.who, "user.disable" if disabled else "user.enable", "user", user.id,
                           user.unit_code, via="console")
    return redirect("/users?done=" + ("disabled" if disabled else "enabled"))


@ROUTES.post(r"/users/{user_id:[0-9a-f]{16}}/disable")
@page(ADMINS)
async def disable(ctx: Ctx) -> web.StreamResponse:
    return await _set_disabled(ctx, True)


@ROUTES.post(r"/users/{user_id:[0-9a-f]{16}}/enable")
@page(ADMINS)
async def enable(ctx: Ctx) -> web.StreamResponse:
    return await _set_disabled(ctx, False)
