"""Send pacing: how long to wait before the next message to a channel (and to one user of it).

Platforms limit a bot or page as a whole (Telegram: about 30 messages/s in bulk, 1/s per chat),
not each of our processes, so with several processes the channel's budget lives in Redis, where
one script takes from it atomically on Redis's clock. One process without Redis keeps it in memory.

Both use GCRA (the "generic cell rate algorithm", a token bucket kept as one timestamp): a
message may go at ``max(now, TAT - tau)`` and moves the theoretical arrival time TAT on by
``1/rate``; ``tau = (burst - 1)/rate`` lets a burst through. In any window of W seconds at most
``burst + W * rate`` messages go, however the processes' calls interleave.

A user's own pace (Telegram: about 1 message/s per chat) is taken first: if the user must wait,
the channel's slot is taken only after that wait, so a slow user never holds a channel slot
others could use.
"""
from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Protocol

from ..logs import log


class Pacer(Protocol):
    async def take(self, channel: str, rate: float, burst: int, *, user: str | None = None,
                   user_rate: float | None = None, user_burst: int = 1) -> tuple[float, bool]:
        """Take the user's slot (if a user is given) and, when that slot is free now, the channel's.
        Returns (seconds to wait, whether the channel's slot was taken)."""
        ...

    async def close(self) -> None: ...


async def wait_turn(pacer: Pacer, channel: str, rate: float, burst: int, *, user: str | None = None,
                    user_rate: float | None = None, user_burst: int = 1) -> None:
    """Until one message may go to ``user`` on ``channel``: one call in the usual case, two when
    the user has to wait first."""
    delay, taken = await pacer.take(channel, rate, burst, user=user, user_rate=user_rate, user_burst=user_burst)
    if not taken:
        await asyncio.sleep(delay)  # the user's own pace, not waiting for an event
        delay, _ = await pacer.take(channel, rate, burst)
    if delay > 0:
        await asyncio.sleep(delay)  # the platform's rate limit, not waiting for an event


def _gcra(tat: float | None, now: float, rate: float, burst: int) -> tuple[float, float]:
    """(when the message may go, the new TAT)."""
    period = 1.0 / rate
    tat = now if tat is None or tat < now else tat
    allowed = max(now, tat - (max(burst, 1) - 1) * period)
    return allowed, allowed + period if allowed > tat else tat + period


class LocalPacer:
    """Within one process (``make run``, or while Redis cannot be reached)."""

    MAX_KEYS = 50_000

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}

    async def take(self, channel: str, rate: float, burst: int, *, user: str | None = None,
                   user_rate: float | None = None, user_burst: int = 1) -> tuple[float, bool]:
        return self.take_now(channel, rate, burst, user=user, user_rate=user_rate, user_burst=user_burst)

    def take_now(self, channel: str, rate: float, burst: int, *, user: str | None = None,
                 user_rate: float | None = None, user_burst: int = 1) -> tuple[float, bool]:
        now = time.monotonic()
        if user is not None and user_rate:
            if len(self._tat) > self.MAX_KEYS:
                self._tat = {k: v for k, v in self._tat.items() if v > now}
            key = f"{channel}\x00{user}"
            allowed, self._tat[key] = _gcra(self._tat.get(key), now, user_rate, user_burst)
            if allowed > now:
                return allowed - now, False
        allowed, self._tat[channel] = _gcra(self._tat.get(channel), now, rate, burst)
        return allowed - now, True

    async def close(self) -> None:
        self._tat.clear()


# The same, atomically, on Redis's clock. KEYS[1]: the channel's TAT; KEYS[2] (optional): the
# user's. ARGV: rate, burst, user rate, user burst. Returns {seconds to wait (a string: Redis
# truncates Lua numbers to integers), 1 if the channel's slot was taken else 0}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function take(key, rate, burst)
  local period = 1 / rate
  local tat = tonumber(redis.call('GET', key))
  if tat == nil or tat < now then tat = now end
  local allowed = math.max(now, tat - (math.max(burst, 1) - 1) * period)
  local new = math.max(tat, allowed) + period
  redis.call('SET', key, string.format('%.6f', new), 'PX', math.ceil((new - now) * 1000) + 1000)
  return allowed
end
if #KEYS > 1 then
  local allowed = take(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
  if allowed > now then return {string.format('%.6f', allowed - now), 0} end
end
local allowed = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
return {string.format('%.6f', allowed - now), 1}
"""


class RedisPacer:
    """Shared by every process on the same Redis; one round trip per message (two when the user
    must wait). While Redis cannot be reached, each process paces alone rather than stop sending."""

    def __init__(self, url: str, prefix: str = "hailong:") -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, decode_responses=False, health_check_interval=30)
        self._script = self._redis.register_script(_TAKE)
        self._prefix = prefix
        self._fallback = LocalPacer()

    async def take(self, channel: str, rate: float, burst: int, *, user: str | None = None,
                   user_rate: float | None = None, user_burst: int = 1) -> tuple[float, bool]:
        from redis.exceptions import RedisError

        keys = [f"{self._prefix}pace:{channel}"]
        if user is not None and user_rate:
            # the platform user id is personal data: only a hash of it goes to Redis
            keys.append(f"{self._prefix}pace:{channel}:{hashlib.sha256(user.encode()).hexdigest()[:24]}")
        try:
            raw, taken = await self._script(keys=keys, args=[rate, burst, user_rate or 0, user_burst])
        except RedisError as e:
            log("pace.redis_unavailable", level=30, channel=channel, error=type(e).__name__)
            return self._fallback.take_now(channel, rate, burst, user=user, user_rate=user_rate,
                                           user_burst=user_burst)
        return max(0.0, float(raw)), bool(taken)

    async def close(self) -> None:
        await self._redis.aclose()


def open_pacer(redis_url: str, prefix: str = "hailong:") -> Pacer:
    return RedisPacer(redis_url, prefix) if redis_url else LocalPacer()
