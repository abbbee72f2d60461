"""What operators and load balancers ask of a worker: is it alive (/healthz), can it serve
(/readyz: database and state store answer), and its metrics (/metrics, Prometheus text format).
Metrics are read by loopback callers, or by anyone presenting HAILONG_METRICS_TOKEN."""
from __future__ import annotations

import hmac
import os
import time
from typing import TYPE_CHECKING, Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from bot.logs import log
from bot.metrics import HTTP_SECONDS, exposition, refresh_queue_gauges
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.services import Services

_LOOPBACK = {"127.0.0.1", "::1"}


def setup_operations(app: web.Application, settings: Settings, services: Callable[[], "Services"]) -> None:
    app.middlewares.insert(0, _timing)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "pid": os.getpid()})

    async def ready(request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        svc = services()
        for name, probe in (("database", _database(svc)), ("state", svc.state.ping())):
            try:
                await probe
                checks[name] = "ok"
            except Exception as e:  # the answer is the point: say what is down
                checks[name] = type(e).__name__
        ok = all(v == "ok" for v in checks.values())
        if not ok:
            log("server.not_ready", level=30, **checks)
        return web.json_response({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)

    async def metrics(request: web.Request) -> web.Response:
        token = settings.metrics_token
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        allowed = (hmac.compare_digest(presented, token) if token and presented
                   else request.remote in _LOOPBACK and not request.headers.get("X-Forwarded-For"))
        if not allowed:
            raise web.HTTPForbidden(text="metrics: loopback only, or Authorization: Bearer $HAILONG_METRICS_TOKEN")
        try:
            await refresh_queue_gauges(services().engine)
        except Exception as e:  # still expose the process counters while the database is away
            log("metrics.queue_error", level=30, error=type(e).__name__)
        return web.Response(body=exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", health)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/metrics", metrics)


async def _database(services: "Services") -> None:
    async with services.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@web.middleware
async def _timing(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as e:
        status = e.status
        raise
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        HTTP_SECONDS.labels(name, request.method, str(status)).observe(time.perf_counter() - started)
