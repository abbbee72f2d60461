"""Mounts the admin API on the application: a sub-application under /api/v1/admin with its own
body limit (flow files and respondent lists are larger than chat messages) and JSON errors."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from aiohttp import web

from .api import API, PREFIX
from .auth import authenticate
from .errors import json_errors
from .openapi import docs_page, document

if TYPE_CHECKING:
    from bot.services import Services

_HERE = Path(__file__).parent
MAX_BODY = 20 * 1024 * 1024
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "X-Frame-Options": "DENY"}


def _register_routes() -> None:
    """Every ``routes_*`` module of this package declares its endpoints when imported."""
    for module in pkgutil.iter_modules([str(_HERE)]):
        if module.name.startswith("routes_"):
            importlib.import_module(f"{__package__}.{module.name}")


def setup_admin(app: web.Application, services: Callable[[], "Services"]) -> None:
    _register_routes()
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
