"""Mounts the console, the officials' web pages, under /console: a sub-application with its own
middlewares (security headers, error pages in Vietnamese, the session cookie, CSRF), Jinja2
templates with autoescaping, and its static files. Pages are server-rendered; no CDN, and no
script at all is needed to use them."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import jinja2
from aiohttp import web

from bot.logs import log

from . import filters
from .security import CSRF_FIELD, UNSAFE, CsrfRejected, add_headers, check_csrf, check_origin, set_csrf_cookie
from .session import current_principal, session_token
from .sync_engine import SYNC_ENGINE, LazyEngine
from .web import EXPIRED, PREFIX, PRINCIPAL, SECURE, SERVICES, TEMPLATES, is_https, redirect, render, secret_of, services_of
from .views import ROUTES

if TYPE_CHECKING:
    from bot.services import Services

_HERE = Path(__file__).parent
# uploads: a respondent list or a document (bot/content/files.py's 20 MB) with the form around it
MAX_BODY = 21 * 1024 * 1024
MOUNTED = web.AppKey("console_mounted", bool)
ERRORS = {400: "Yêu cầu không hợp lệ.", 403: "Bạn không có quyền mở trang này.",
          404: "Không tìm thấy trang hoặc mục bạn cần (hoặc mục đó không thuộc đơn vị của bạn).",
          405: "Thao tác này không được hỗ trợ.", 413: "Dữ liệu gửi lên quá lớn.",
          500: "Hệ thống gặp lỗi. Lỗi đã được ghi lại; vui lòng thử lại sau."}
CSRF_MESSAGE = "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang rồi thử lại."

Handler = Callable[[web.Request], "web.StreamResponse"]


def templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    filters.install(env)
    return env


def setup_console(app: web.Application, services: Callable[[], "Services"], *, secure: bool | None = None) -> None:
    """``secure``: cookies only over https; by default when the public URL is https (read from the
    services' settings, which exist only once the application runs)."""
    if app.get(MOUNTED):
        return
    app[MOUNTED] = True
    console = web.Application(client_max_size=MAX_BODY, middlewares=[_cookies, _errors, _session, _csrf])
    console.on_response_prepare.append(_on_prepare)
    console[SERVICES] = services
    console[SECURE] = secure
    console[TEMPLATES] = templates()
    console[SYNC_ENGINE] = LazyEngine()
    console.on_cleanup.append(console[SYNC_ENGINE].dispose)
    console.router.add_routes(ROUTES)
    console.router.add_static("/static/", _HERE / "static", show_index=False, append_version=True,
                              name="static")
    app.add_subapp(PREFIX, console)

    async def bare(request: web.Request) -> web.StreamResponse:
        return redirect("/")

    app.router.add_get(PREFIX, bare)


async def _on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Headers set as a response is prepared, so streamed downloads and static files get them too."""
    if request.path.startswith(PREFIX + "/static/"):  # versioned URLs (?v=hash): cached for good
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if "v" in request.query \
            else "public, max-age=300"
    add_headers(response)


@web.middleware
async def _cookies(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)  # type: ignore[misc]
    set_csrf_cookie(request, response, is_https(request))
    return response


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)  # type: ignore[misc]
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return render(request, "error.html", status=e.status, message=ERRORS.get(e.status, ERRORS[400]))
    except CsrfRejected as e:
        log("console.csrf_rejected", level=30, path=request.path, reason=str(e))
        return render(request, "error.html", status=403, message=CSRF_MESSAGE)
    except Exception as e:  # a bug: logged, and the official sees a page, not a stack trace
        log("console.error", level=40, path=request.path, method=request.method, error=type(e).__name__,
            detail=str(e)[:300])
        return render(request, "error.html", status=500, message=ERRORS[500])


@web.middleware
async def _session(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(PREFIX + "/static/"):
        who = await current_principal(services_of(request), request)
        if who is not None:
            request[PRINCIPAL] = who
        elif session_token(request):
            request[EXPIRED] = True  # a cookie that no longer opens a session: expired or revoked
    return await handler(request)  # type: ignore[misc]


@web.middleware
async def _csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in UNSAFE:
        services = services_of(request)
        check_origin(request, services.settings.public_url)
        form = await request.post()
        submitted = form.get(CSRF_FIELD)
        check_csrf(request, submitted if isinstance(submitted, str) else "", secret_of(services),
                   session_token(request) if PRINCIPAL in request else None)
    return await handler(request)  # type: ignore[misc]
