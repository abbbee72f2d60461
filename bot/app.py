"""The composition root: builds the aiohttp application from a settings object. The only place in
``bot`` that wires channels and the admin API to the core."""
from __future__ import annotations

import asyncio
import contextlib
import sys

from aiohttp import web

from .campaigns.background import setup_campaigns
from .logs import log, setup_logging
from .services import Services, build_services
from .settings import Settings

SERVICES = web.AppKey("services", Services)


def create_app(settings: Settings, *, background: bool = True) -> web.Application:
    """``background=False`` leaves the outbox sender and inbox sweep to the caller (tests step them)."""
    from admin_api import setup_admin
    from admin_api.public import setup_public
    from console import setup_console
    from admin_api.operations import setup_operations
    from channels.platforms import setup_platforms
    from channels.webchat import setup_webchat

    app = web.Application(client_max_size=64 * 1024)

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
        kb_task = asyncio.create_task(_follow_knowledge_base(services)) if background else None
        yield
        if kb_task is not None:
            kb_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await kb_task
        await services.close()

    app.cleanup_ctx.append(lifecycle)
    # after the services' lifecycle, so the platforms start once the services exist and stop first
    setup_platforms(app, settings, lambda: app[SERVICES], background=background)
    setup_campaigns(app, lambda: app[SERVICES], background=background)
    return app


async def _follow_knowledge_base(services: Services, every: float = 30.0) -> None:
    """Imports and published answers (possibly by another process) reach the index within ``every`` s."""
    refresh = getattr(services.nlu, "refresh", None) or getattr(getattr(services.nlu, "fallback", None), "refresh", None)
    if refresh is None:
        return
    while True:
        await asyncio.sleep(every)  # a periodic check, not a wait for an event
        try:
            await refresh()
        except Exception as e:  # database restarting: next round
            log("nlu.refresh_error", level=40, error=type(e).__name__)


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
