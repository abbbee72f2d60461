"""Logging in and out. The password form answers in Vietnamese, says nothing about which of the
two fields was wrong, and refuses to check passwords for a while after repeated failures."""
from __future__ import annotations

from aiohttp import web

from admin_api.auth import COOKIE
from admin_api.login import LOCKOUT_SECONDS, log_in

from ..security import cookie_options, rotate_csrf
from ..session import log_out, session_token
from ..web import PRINCIPAL, home_for, is_https, redirect, render, safe_next, services_of
from .table import ROUTES

WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."
LOCKED = f"Bạn đã đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {LOCKOUT_SECONDS // 60} phút."
NOTICES = {"expired": "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại.", "bye": "Bạn đã đăng xuất."}


@ROUTES.get("/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    who = request.get(PRINCIPAL)
    if who is not None:
        return redirect(home_for(who))
    notice = next((text for key, text in NOTICES.items() if request.query.get(key)), None)
    return render(request, "login.html", next=request.query.get("next", ""), notice=notice, error=None, username="")


@ROUTES.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username, password = str(form.get("username", ""))[:80], str(form.get("password", ""))[:200]
    services = services_of(request)
    result = await log_in(services, username, password, request.remote or "", via="console")
    if result.token is None:
        return render(request, "login.html", status=429 if result.locked else 401, next=str(form.get("next", "")),
                      notice=None, error=LOCKED if result.locked else WRONG, username=username)
    rotate_csrf(request)
    response = redirect(safe_next(str(form.get("next", ""))) or "/")
    response.set_cookie(COOKIE, result.token, **cookie_options(is_https(request), result.max_age))  # type: ignore[arg-type]
    return response


@ROUTES.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    await log_out(services_of(request), session_token(request))
    rotate_csrf(request)
    response = redirect("/login?bye=1")
    response.del_cookie(COOKIE, path="/console")
    return response


@ROUTES.get("/")
async def home(request: web.Request) -> web.StreamResponse:
    who = request.get(PRINCIPAL)
    return redirect(home_for(who) if who is not None else "/login")
