"""The server's campaign loop: ``send_due`` every few seconds while the application runs.

Wired by the composition root as an aiohttp cleanup context (after the services' own, so it
starts once they exist and stops before they close); no aiohttp import here, the core stays free
of transports. Several server processes may run it: sends are idempotent per (invitee, round).
"""
from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

from ..logs import log
from .sender import send_due

if TYPE_CHECKING:
    from ..services import Services

EVERY = 5.0


def setup_campaigns(app: Any, services_getter: Callable[[], "Services"], background: bool = True,
                    every: float = EVERY) -> None:
    async def campaigns_loop(app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(run(services_getter, every)) if background else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.cleanup_ctx.append(campaigns_loop)


async def run(services_getter: Callable[[], "Services"], every: float = EVERY) -> None:
    while True:
        try:
            await send_due(services_getter(), datetime.now(timezone.utc))
        except Exception as e:  # the database may be restarting: next round
            log("campaign.loop_error", level=40, error=type(e).__name__)
        await asyncio.sleep(every)  # a periodic tick (slots are reserved ahead), not a wait for an event
