from __future__ import annotations

import asyncio
import hashlib
import secrets
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..jsonio import dumps, loads
from ..logs import log
from . import ratelimit
from .base import Slot
from .memory import MemoryStateStore
from .locks import KeyedLocks


# Release a respondent's lock and, only while it is still ours, write or drop their state.
# A holder whose lock expired (another process took over) must not overwrite the newer state;
# it deletes it instead, so the next message rebuilds from the database.
_RELEASE = """
local mine = redis.call('GET', KEYS[1]) == ARGV[1]
if mine then redis.call('DEL', KEYS[1]) end
if ARGV[2] == 'set' then
  if mine then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) else redis.call('DEL', KEYS[2]) end
elseif ARGV[2] == 'drop' then
  redis.call('DEL', KEYS[2])
end
return mine and 1 or 0
"""


# GCRA, as bot.state.ratelimit.gcra. KEYS[1]: the TAT; ARGV: now, rate, burst. 1 allowed, 0 not.
_ALLOW = """
local now = tonumber(ARGV[1])
local period = 1 / tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
if tat - now > (math.max(tonumber(ARGV[3]), 1) - 1) * period + 1e-9 then return 0 end
local new = tat + period
redis.call('SET', KEYS[1], string.format('%.6f', new), 'PX', math.ceil((new - now) * 1000) + 1000)
return 1
"""


class RedisStateStore:
    """State and locks in Redis, shared by every server process.

    Redis is a cache here: when it is unreachable, reads miss (the caller rebuilds from the
    database) and writes are dropped with a log line, so a Redis restart loses no answer.
    """

    def __init__(self, url: str, prefix: str = "hailong:") -> None:
        self._redis = aioredis.Redis.from_url(url, decode_responses=False, health_check_interval=30)
        self._prefix = prefix
        self._local = KeyedLocks()
        self._release = self._redis.register_script(_RELEASE)
        self._allow = self._redis.register_script(_ALLOW)
        self._fallback: MemoryStateStore | None = None

    def _k(self, key: str) -> str:
        return f"{self._prefix}state:{key}"

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = await self._redis.get(self._k(key))
        except RedisError as e:
            log("state.redis_unavailable", op="get", error=type(e).__name__)
            return None
        return None if raw is None else loads(raw)

    async def set(self, key: str, value: dict[str, Any], ttl: int | None = None) -> None:
        try:
            await self._redis.set(self._k(key), dumps(value), ex=ttl)
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

    @asynccontextmanager
    async def hold(self, key: str, timeout: float = 30.0) -> AsyncIterator[Slot]:
        """Two round trips per message: SET NX + GET pipelined, then one script to write and unlock."""
        async with self._local.hold(key, timeout):
            lock_key, state_key = f"{self._prefix}lock:{key}", self._k(key)
            token = secrets.token_hex(8)
            try:
                raw = await self._acquire(lock_key, state_key, token, timeout)
            except RedisError as e:
                log("state.redis_unavailable", op="hold", error=type(e).__name__)
                raw, token = None, ""
            slot = Slot(None if raw is None else loads(raw))
            try:
                yield slot
            finally:
                if token:
                    mode = "drop" if slot.dropped else "set" if slot.new is not None else "none"
                    value = dumps(slot.new) if slot.new else ""
                    try:
                        await self._release(keys=[lock_key, state_key],
                                            args=[token, mode, value, slot.ttl or 7 * 24 * 3600])
                    except RedisError as e:
                        log("state.redis_unavailable", op="release", error=type(e).__name__)

    async def _acquire(self, lock_key: str, state_key: str, token: str, timeout: float) -> bytes | None:
        deadline = asyncio.get_running_loop().time() + timeout
        delay = 0.002
        while True:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(lock_key, token, nx=True, px=int(timeout * 1000))
                pipe.get(state_key)
                got, raw = await pipe.execute()
            if got:
                return raw
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"respondent lock {lock_key} not acquired in {timeout}s")
            await asyncio.sleep(delay)  # held by another process: poll (cross-process only)
            delay = min(delay * 2, 0.05)

    async def allow(self, key: str, rate: float, burst: int) -> bool:
        """While Redis is away each process limits alone, rather than refuse everyone or no one."""
        # the key holds an address or session: only a hash of it is kept
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        try:
            return bool(await self._allow(keys=[f"{self._prefix}rl:{digest}"],
                                          args=[f"{ratelimit.clock():.6f}", rate, burst]))
        except RedisError as e:
            log("state.redis_unavailable", op="allow", error=type(e).__name__)
            if self._fallback is None:
                self._fallback = MemoryStateStore()
            return await self._fallback.allow(key, rate, burst)

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
