"""Mounts the admin API on the application: a sub-application under /api/v1/admin with its own
body limit (flow files and respondent lists are larger than chat messages) and JSON errors."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from aiohttp import web

from . import routes_audit, routes_questions, routes_session, routes_users  # noqa: F401  (they register routes)
from .api import API, PREFIX
from .auth import authenticate
from .errors import json_errors
from .openapi import docs_page, document

if TYPE_CHECKING:
    from bot.services import Services

MAX_BODY = 20 * 1024 * 1024
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "X-Frame-Options": "DENY"}


def setup_admin(app: web.Application, services: Callable[[], "Services"]) -> None:
    admin = web.Application(client_max_size=MAX_BODY, middlewares=[_headers, json_errors])
    API.mount(admin, lambda request: services(), authenticate)
    app.add_subapp(PREFIX, admin)
    doc = document(API)
    page = docs_page(doc)

    async def openapi(request: web.Request) -> web.Response:
        return web.json_response(doc)

    async def docs(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html",
                            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                                     **SECURITY_HEADERS})

    app.router.add_get("/api/v1/openapi.json", openapi)
    app.router.add_get("/api/v1/docs", docs)


@web.middleware
async def _headers(request: web.Request, handler: Callable) -> web.StreamResponse:  # type: ignore[type-arg]
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response
