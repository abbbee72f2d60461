"""The composition root: builds the aiohttp application from a settings object. The only place in
``bot`` that wires channels and the admin API to the core."""
from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from .jobs import JobContext, Jobs, open_jobs
from .logs import log, setup_logging
from .overload import Gate
from .services import Services, build_services
from .settings import Settings

SERVICES = web.AppKey("services", Services)
# background work of this process: ``app[JOBS].enqueue("export_responses", ...)`` from handlers
JOBS = web.AppKey("jobs", Jobs)  # type: ignore[type-abstract]
# load shedding of inline requests (bot.overload); absent when turned off
GATE = web.AppKey("gate", Gate)


def create_app(settings: Settings, *, background: bool = True) -> web.Application:
    """``background=False`` leaves the outbox sender and the periodic jobs to the caller (tests step them)."""
    from admin_api import setup_admin
    from admin_api.public import setup_public
    from console import setup_console
    from admin_api.operations import setup_operations
    from channels.platforms import SENDER, setup_platforms
    from channels.webchat import setup_webchat

    from channels.shedding import gate_middleware

    app = web.Application(client_max_size=64 * 1024)
    if settings.shed_max_inflight and settings.shed_max_wait:
        app[GATE] = Gate(settings.shed_max_inflight, settings.shed_max_wait)
        app.middlewares.append(gate_middleware(app[GATE], _inline))

    def conversation():  # type: ignore[no-untyped-def]
        return app[SERVICES].conversation

    setup_webchat(app, settings, conversation)

    setup_operations(app, settings, lambda: app[SERVICES])
    setup_admin(app, lambda: app[SERVICES])
    setup_public(app, lambda: app[SERVICES])
    setup_console(app, lambda: app[SERVICES])

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        services = build_services(settings)
        app[SERVICES] = services
        await services.flows.refresh()
        await services.nlu.reload()  # index the knowledge base before the first question
        yield
        await services.close()

    app.cleanup_ctx.append(lifecycle)
    # after the services' lifecycle, so the platforms start once the services exist and stop first
    setup_platforms(app, settings, lambda: app[SERVICES], background=background)

    async def background_work(app: web.Application):  # type: ignore[no-untyped-def]
        # last, so jobs start once the sender exists and stop before anything they use; campaign
        # sends and reminders are one of them (bot.jobs.tasks.send_campaigns)
        sender = app.get(SENDER)
        jobs = open_jobs(settings, JobContext(app[SERVICES], send_due=sender.send_due if sender else None))
        app[JOBS] = jobs
        if background:
            await jobs.start()
        yield
        await jobs.close()

    app.cleanup_ctx.append(background_work)
    return app


def _inline(path: str) -> bool:
    """Requests answered inline by the conversation core: what load shedding gates. Not a web
    chat's WebSocket (it would hold a slot as long as it stays open), webhooks (bounded by the
    inbox), the console and admin API (officials must get in during a surge) or health checks."""
    return path.startswith(("/api/v1/chat/", "/api/v1/public/", "/y-kien/")) and not path.endswith("/ws")


def serve(settings: Settings) -> None:
    setup_logging(settings.log_level)

    def ready(_: object) -> None:
        # tests and scripts wait for this line rather than sleeping
        print(f"Hailong serving on http://{settings.host}:{settings.port}", flush=True)
        log("server.ready", host=settings.host, port=settings.port)

    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=ready, access_log=None,
                handle_signals=True, loop=_new_loop(), reuse_port=settings.reuse_port or None)


def _new_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed (Linux, macOS): about a third less CPU per request than asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    serve(Settings.from_env())
    sys.exit(0)
