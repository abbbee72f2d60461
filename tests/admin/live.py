"""The real application on a loopback port, for clients that are not asyncio (schemathesis,
Playwright's sync API)."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web

from bot.app import create_app
from bot.settings import Settings


class Server:
    """The real application on a loopback port, in a thread with its own event loop, because
    schemathesis sends its requests synchronously."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.url = ""
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.app = create_app(self.settings, background=False)
        self.runner = web.AppRunner(self.app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> "Server":
        self.thread.start()
        if not self.ready.wait(60):
            raise RuntimeError("the server did not start")
        return self

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def stop(self) -> None:
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
