"""Lets a test wait for a fake platform to have received N messages (an event, not a sleep)."""
from __future__ import annotations

import asyncio


class Arrivals:
    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self.count = 0

    async def add(self) -> None:
        async with self._cond:
            self.count += 1
            self._cond.notify_all()

    async def until(self, n: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            async with self._cond:
                await self._cond.wait_for(lambda: self.count >= n)
