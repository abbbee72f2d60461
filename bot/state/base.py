from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncContextManager, Protocol


@dataclass
class Slot:
    """One respondent's cached state while their lock is held.

    ``value`` is what was cached when the lock was taken. Call ``save`` or ``drop``: the store
    writes it as it releases the lock (one round trip on Redis), and only if the lock is still
    ours, so a slow holder whose lock expired cannot overwrite a newer state.
    """

    value: dict[str, Any] | None
    new: dict[str, Any] | None = None
    ttl: int | None = None
    dropped: bool = False

    def save(self, value: dict[str, Any], ttl: int | None = None) -> None:
        self.new, self.ttl, self.dropped = value, ttl, False

    def drop(self) -> None:
        self.new, self.dropped = None, True


class StateStore(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any], ttl: int | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    def lock(self, key: str, timeout: float = 30.0) -> AsyncContextManager[None]:
        """Exclusive section for one respondent: their messages are handled one at a time, in order."""
        ...

    def hold(self, key: str, timeout: float = 30.0) -> AsyncContextManager[Slot]:
        """``lock`` plus the cached state read as the lock is taken and written as it is released."""
        ...

    async def allow(self, key: str, rate: float, burst: int) -> bool:
        """One request under ``key``'s rate limit (``rate`` per second, bursts of ``burst``):
        False when it is over (``bot.state.ratelimit``). Shared by every process on the store."""
        ...

    async def ping(self) -> None:
        """Raises when the store cannot be reached (readiness checks)."""
        ...

    async def close(self) -> None: ...


def open_state_store(redis_url: str, prefix: str = "hailong:") -> StateStore:
    if redis_url:
        from .redis import RedisStateStore

        return RedisStateStore(redis_url, prefix=prefix)
    from .memory import MemoryStateStore

    return MemoryStateStore()
