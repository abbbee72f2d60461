from __future__ import annotations

import copy
import time
from collections import OrderedDict
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from . import ratelimit
from .base import Slot
from .locks import KeyedLocks


class MemoryStateStore:
    """In-process state, bounded so a long-running server does not grow without end."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: OrderedDict[str, tuple[float | None, dict[str, Any]]] = OrderedDict()
        self._locks = KeyedLocks()
        self._max = max_entries
        self._tat: OrderedDict[str, float] = OrderedDict()

    async def get(self, key: str) -> dict[str, Any] | None:
        item = self._data.get(key)
        if item is None:
            return None
        expires, value = item
        if expires is not None and expires < time.monotonic():
            self._data.pop(key, None)
            return None
        self._data.move_to_end(key)
        return copy.deepcopy(value)

    async def set(self, key: str, value: dict[str, Any], ttl: int | None = None) -> None:
        self._data[key] = (time.monotonic() + ttl if ttl else None, copy.deepcopy(value))
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    @asynccontextmanager
    async def lock(self, key: str, timeout: float = 30.0) -> AsyncIterator[None]:
        async with self._locks.hold(key, timeout):
            yield

    @asynccontextmanager
    async def hold(self, key: str, timeout: float = 30.0) -> AsyncIterator[Slot]:
        async with self._locks.hold(key, timeout):
            slot = Slot(await self.get(key))
            try:
                yield slot
            finally:
                if slot.dropped:
                    await self.delete(key)
                elif slot.new is not None:
                    await self.set(key, slot.new, slot.ttl)

    async def allow(self, key: str, rate: float, burst: int) -> bool:
        ok, tat = ratelimit.gcra(self._tat.get(key), ratelimit.clock(), rate, burst)
        if ok:
            self._tat[key] = tat
            self._tat.move_to_end(key)
            if len(self._tat) > self._max:
                self._tat.popitem(last=False)
        return ok

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()
