from __future__ import annotations

from typing import Any, AsyncContextManager, Protocol


class StateStore(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any], ttl: int | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    def lock(self, key: str, timeout: float = 30.0) -> AsyncContextManager[None]:
        """Exclusive section for one respondent: their messages are handled one at a time, in order."""
        ...

    async def close(self) -> None: ...


def open_state_store(redis_url: str, prefix: str = "hailong:") -> StateStore:
    if redis_url:
        from .redis import RedisStateStore

        return RedisStateStore(redis_url, prefix=prefix)
    from .memory import MemoryStateStore

    return MemoryStateStore()
