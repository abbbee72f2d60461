"""A synchronous engine for the analytics (pandas reads through SQLAlchemy's sync API), made on
first use, once the settings are known, and disposed with the application."""
from __future__ import annotations

import threading

from aiohttp import web
from sqlalchemy import Engine

from bot.store.db import create_engine_sync


class LazyEngine:
    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self, url: str) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = create_engine_sync(url)
            return self._engine

    async def dispose(self, _: web.Application) -> None:
        if self._engine is not None:
            self._engine.dispose()


SYNC_ENGINE = web.AppKey("console_sync_engine", LazyEngine)
