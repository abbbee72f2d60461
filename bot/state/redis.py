from __future__ import annotations

import json
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..logs import log
from .locks import KeyedLocks


class RedisStateStore:
    """State and locks in Redis, shared by every server process.

    Redis is a cache here: when it is unreachable, reads miss (the caller rebuilds from the
    database) and writes are dropped with a log line, so a Redis restart loses no answer.
    """

    def __init__(self, url: str, prefix: str = "hailong:") -> None:
        self._redis = aioredis.Redis.from_url(url, decode_responses=False, health_check_interval=30)
        self._prefix = prefix
        self._local = KeyedLocks()

    def _k(self, key: str) -> str:
        return f"{self._prefix}state:{key}"

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = await self._redis.get(self._k(key))
        except RedisError as e:
            log("state.redis_unavailable", op="get", error=type(e).__name__)
            return None
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: dict[str, Any], ttl: int | None = None) -> None:
        try:
            await self._redis.set(self._k(key), json.dumps(value, ensure_ascii=False, separators=(",", ":")), ex=ttl)
        except RedisError as e:
            log("state.redis_unavailable", op="set", error=type(e).__name__)

    async def delete(self, key: str) -> None:
        try:
            await self._redis.delete(self._k(key))
        except RedisError as e:
            log("state.redis_unavailable", op="delete", error=type(e).__name__)

    @asynccontextmanager
    async def lock(self, key: str, timeout: float = 30.0) -> AsyncIterator[None]:
        # queue locally first: Redis lock polling is not FIFO, arrival order within a process is
        async with self._local.hold(key, timeout), self._redis_lock(key, timeout):
            yield

    @asynccontextmanager
    async def _redis_lock(self, key: str, timeout: float) -> AsyncIterator[None]:
        lock = self._redis.lock(f"{self._prefix}lock:{key}", timeout=timeout, blocking_timeout=timeout, sleep=0.005)
        if not await lock.acquire():
            raise TimeoutError(f"respondent lock {key} not acquired in {timeout}s")
        try:
            yield
        finally:
            try:
                await lock.release()
            except RedisError:
                pass  # expired or Redis restarted: the lock is gone either way

    async def close(self) -> None:
        await self._redis.aclose()
