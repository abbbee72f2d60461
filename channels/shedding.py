"""Load shedding at the HTTP edge (the bounds themselves: ``bot/overload.py``): a short 503 with
Retry-After and a Vietnamese message, and the middleware that puts inline requests through a gate."""
from __future__ import annotations

import time
from typing import Awaitable, Callable

from aiohttp import web

from bot.logs import log
from bot.metrics import SHED
from bot.overload import Gate

OVERLOADED = "Hệ thống đang quá tải, xin Ông/Bà gửi lại sau giây lát."


def overloaded_response(retry_after: int = 1) -> web.Response:
    return web.json_response({"error": "overloaded", "message": OVERLOADED}, status=503,
                             headers={"Retry-After": str(retry_after)})


def gate_middleware(gate: Gate, applies: Callable[[str], bool]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Puts the requests whose path ``applies`` through ``gate``."""

    @web.middleware
    async def shed(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                   ) -> web.StreamResponse:
        if not applies(request.path):
            return await handler(request)
        started = time.monotonic()
        if not await gate.enter():
            SHED.labels("gate").inc()
            log("overload.shed", level=30, path=_route(request), waited_ms=round((time.monotonic() - started) * 1000))
            return overloaded_response()
        try:
            transport = request.transport
            if transport is None or transport.is_closing():
                SHED.labels("client_gone").inc()
                return web.Response(status=499)  # nobody reads it; nginx's code for "client closed"
            return await handler(request)
        finally:
            gate.leave()

    return shed


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "?"
