"""Rate limits kept in the state store, so that every server process counts against one budget.

GCRA (a token bucket kept as one timestamp, the "theoretical arrival time"): a request is allowed
when ``TAT - now <= (burst - 1)/rate``, and then moves TAT on by ``1/rate``; a refused request
changes nothing. At most ``burst + W * rate`` requests pass in any window of W seconds.

The time comes from this process's wall clock, read through ``clock()`` (tests replace ``time``
here to play a respondent who pauses, or a script that does not): processes on several hosts need
their clocks in step (NTP), as they do for everything else they timestamp.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import StateStore

EPSILON = 1e-9


def clock() -> float:
    return time.time()


def gcra(tat: float | None, now: float, rate: float, burst: int) -> tuple[bool, float]:
    """(allowed, the TAT to keep)."""
    period = 1.0 / rate
    tat = now if tat is None or tat < now else tat
    if tat - now > (max(burst, 1) - 1) * period + EPSILON:
        return False, tat
    return True, tat + period


@dataclass(frozen=True)
class Limit:
    """A named rate limit: ``await limit.allow(store, key)``."""

    name: str
    rate: float
    burst: int

    async def allow(self, store: "StateStore", key: str) -> bool:
        return await store.allow(f"{self.name}:{key}", self.rate, self.burst)
