"""The small frame every console page shares: who is calling, the role check, rendering a template
with the navigation and the CSRF token, and redirects after a form (post/redirect/get)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from urllib.parse import quote

import jinja2
from aiohttp import web

from admin_api.roles import ADMINS, ANSWERERS, EVERYONE, READERS, Principal

from .security import csrf_token
from .session import session_token

if TYPE_CHECKING:
    from bot.services import Services

PREFIX = "/console"
SERVICES = web.AppKey("console_services", Callable[[], "Services"])
TEMPLATES = web.AppKey("console_templates", jinja2.Environment)
PRINCIPAL = web.RequestKey("console_principal", Principal)
EXPIRED = web.RequestKey("console_expired", bool)
# True/False: cookies Secure or not; None: Secure when the public URL is https
SECURE = web.AppKey("console_secure", object)

# (path, label, roles): the menu shows what the caller may open, nothing else
NAV = (("/questions", "Hỏi đáp", ANSWERERS), ("/surveys", "Khảo sát", EVERYONE), ("/campaigns", "Chiến dịch", EVERYONE),
       ("/consultations", "Lấy ý kiến", EVERYONE), ("/documents", "Văn bản", EVERYONE),
       ("/results", "Kết quả", READERS), ("/users", "Tài khoản", ADMINS), ("/audit", "Nhật ký", ADMINS))


def services_of(request: web.Request) -> "Services":
    return request.app[SERVICES]()


def is_https(request: web.Request) -> bool:
    """Whether cookies get Secure: browsers reach the console over https."""
    forced = request.app.get(SECURE)
    if isinstance(forced, bool):
        return forced
    return services_of(request).settings.base_url.startswith("https://")


def secret_of(services: "Services") -> str:
    return services.settings.effective_secret_key()


def redirect(path: str) -> web.Response:
    """303 to a console path: the browser follows with GET, so a reload never re-posts a form."""
    return web.Response(status=303, headers={"Location": PREFIX + path})


def render(request: web.Request, template: str, *, status: int = 200, **values: Any) -> web.Response:
    services = services_of(request)
    who = request.get(PRINCIPAL)
    token = csrf_token(request, secret_of(services), session_token(request) if who else None)
    nav = [(PREFIX + path, label, request.path.startswith(PREFIX + path)) for path, label, roles in NAV
           if who is not None and who.role in roles]
    text = request.app[TEMPLATES].get_template(template).render(
        who=who, nav=nav, csrf_token=token, prefix=PREFIX, unit_name=lambda c: unit_label(services, c),
        static=lambda name: str(request.app.router["static"].url_for(filename=name)), **values)
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def unit_label(services: "Services", code: str | None) -> str:
    if not code:
        return "—"
    return services.units.name(code) or code


@dataclass
class Ctx:
    request: web.Request
    services: "Services"
    who: Principal

    def render(self, template: str, *, status: int = 200, **values: Any) -> web.Response:
        return render(self.request, template, status=status, **values)

    async def form(self) -> dict[str, str]:
        data = await self.request.post()
        return {k: v for k, v in data.items() if isinstance(v, str)}


View = Callable[[Ctx], Awaitable[web.StreamResponse]]


def page(roles: frozenset[str]) -> Callable[[View], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """A page for logged-in users of these roles: others are sent to the login page (with where
    they were going) or shown a 403 page."""
    def wrap(view: View) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            who = request.get(PRINCIPAL)
            if who is None:
                query = "?next=" + quote(request.path_qs if request.method == "GET" else request.path, safe="")
                if request.get(EXPIRED):
                    query += "&expired=1"
                return redirect("/login" + query)
            if who.role not in roles:
                raise web.HTTPForbidden()
            return await view(Ctx(request, services_of(request), who))
        handler.__doc__ = view.__doc__
        return handler
    return wrap


def home_for(who: Principal) -> str:
    return "/questions" if who.role in ANSWERERS else "/results"


def safe_next(value: str | None) -> str | None:
    """Only a console path is a place to return to after login (no open redirect)."""
    if value and value.startswith(PREFIX + "/") and not value.startswith("//") and "\\" not in value \
            and not value.startswith(PREFIX + "/login"):
        return value[len(PREFIX):]
    return None
