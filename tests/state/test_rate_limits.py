"""Rate limits per address and per session hold for the whole deployment, not per process: with
several server processes on one Redis, a client spreading its requests over them gets no more."""
from __future__ import annotations

from typing import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.state import open_state_store, ratelimit
from bot.state.base import StateStore
from bot.state.memory import MemoryStateStore
from bot.state.ratelimit import Limit

REDIS_URL = "redis://127.0.0.1:6379/15"
LIMIT = Limit("test", rate=1.0, burst=6)


class Frozen:
    """The limiter's clock, stopped: every request arrives at the same instant."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Frozen:
    frozen = Frozen()
    monkeypatch.setattr(ratelimit, "time", frozen)
    return frozen


@pytest.fixture
async def two_processes() -> AsyncIterator[tuple[StateStore, StateStore]]:
    prefix = "hailong-test:rl:"
    a, b = open_state_store(REDIS_URL, prefix), open_state_store(REDIS_URL, prefix)
    r = aioredis.Redis.from_url(REDIS_URL)
    try:
        yield a, b
    finally:
        keys = [k async for k in r.scan_iter(f"{prefix}*")]
        if keys:
            await r.delete(*keys)
        await r.aclose()
        await a.close()
        await b.close()


async def test_two_processes_share_one_budget(two_processes: tuple[StateStore, StateStore], clock: Frozen) -> None:
    a, b = two_processes
    allowed = [await LIMIT.allow(store, "203.0.113.7") for _ in range(5) for store in (a, b)]
    assert allowed == [True] * 6 + [False] * 4  # a burst of 6 in all, not 6 per process
    assert await LIMIT.allow(a, "203.0.113.8")  # another address has its own budget
    clock.now += 2.0  # two seconds later, two more
    assert [await LIMIT.allow(s, "203.0.113.7") for s in (b, a, b)] == [True, True, False]


async def test_a_refused_request_does_not_use_up_the_budget(clock: Frozen) -> None:
    store = MemoryStateStore()
    assert all([await LIMIT.allow(store, "s") for _ in range(6)])
    for _ in range(50):  # a script hammering on: every one refused, none counted
        assert not await LIMIT.allow(store, "s")
    clock.now += 1.0
    assert await LIMIT.allow(store, "s")


async def test_while_redis_is_away_each_process_limits_alone(clock: Frozen) -> None:
    store = open_state_store("redis://127.0.0.1:1/0", "hailong-test:rl-down:")  # nothing listens there
    try:
        assert [await LIMIT.allow(store, "s") for _ in range(7)] == [True] * 6 + [False]
    finally:
        await store.close()
