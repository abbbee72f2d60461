"""Load shedding: past capacity, refuse some requests at once rather than answer all of them late.

Without it a process past saturation keeps every request: the open queue grows, each reply comes
later than the last, clients give up and resend, and the process spends its time on requests
nobody waits for any more, so the messages answered per second fall towards zero (measured: one
process at 200 msgs/s answered 0.1/s). With it the process keeps doing about its capacity of
useful work and the rest learn at once that they should try again.

Two bounds, both measured as time waited, not as queue length, so they need no tuning per machine
(``channels/shedding.py`` and ``channels/webhooks.py`` apply them at the HTTP edge):

* ``Gate``, for requests handled inline (web chat, public pages): at most ``limit`` handlers run;
  a request that cannot start within ``max_wait`` gets 503 with Retry-After. One whose client has
  already gone is dropped when its turn comes.
* Platform webhooks are cheap to record and costly to handle, so their bound is the inbox's: when
  events have waited longer than ``max_delay`` to be handled, new webhooks get 503 before anything
  is recorded. Platforms redeliver a 503 later (Zalo, Messenger and Telegram all retry), so a short
  overload loses nothing; what was recorded is handled, however long it takes.
"""
from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Gate:
    """A counting gate with a bounded wait, first come first served."""

    limit: int
    max_wait: float
    inflight: int = 0
    _waiters: deque[asyncio.Future[None]] = field(default_factory=deque)

    async def enter(self) -> bool:
        """True once the caller may run (it must call ``leave``); False if it waited ``max_wait``."""
        if self.inflight < self.limit and not self._waiters:
            self.inflight += 1
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.max_wait):
                await waiter
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return True  # the slot came as the time ran out: it is ours
            return False
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.leave()  # the slot came as the caller was cancelled: pass it on
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass
        return True

    def leave(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on: inflight stays the same
                return
        self.inflight -= 1
