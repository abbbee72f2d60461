"""The same contract over each state store: the cached state is read as a respondent's lock is taken
and written as it is released; a holder that lost its lock never overwrites a newer state."""
from __future__ import annotations

import asyncio
import os
import secrets
from typing import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.state import StateStore
from bot.state.memory import MemoryStateStore
from bot.state.redis import RedisStateStore

REDIS_URL = os.environ.get("HAILONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def prefix() -> str:
    return f"hailong-test:{secrets.token_hex(4)}:"


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[StateStore]:
    s: StateStore = MemoryStateStore() if request.param == "memory" else RedisStateStore(REDIS_URL, prefix)
    yield s
    await s.close()


async def test_hold_reads_then_writes_on_release(store: StateStore) -> None:
    async with store.hold("r1") as slot:
        assert slot.value is None
        slot.save({"step": 1, "text": "Hài lòng"}, ttl=60)
        assert await store.get("r1") is None  # written only as the lock is released
    async with store.hold("r1") as slot:
        assert slot.value == {"step": 1, "text": "Hài lòng"}
        slot.drop()
    assert await store.get("r1") is None


async def test_an_error_inside_the_hold_keeps_the_previous_state(store: StateStore) -> None:
    await store.set("r1", {"step": 1})
    with pytest.raises(RuntimeError):
        async with store.hold("r1") as slot:
            raise RuntimeError("handler failed before deciding")
    assert await store.get("r1") == {"step": 1}


async def test_concurrent_holds_on_one_key_each_see_the_previous_save(store: StateStore) -> None:
    async def increment() -> None:
        async with store.hold("r1") as slot:
            n = (slot.value or {"n": 0})["n"]
            await asyncio.sleep(0)  # a handler awaits the database here; nobody else may get in
            slot.save({"n": n + 1})

    await asyncio.gather(*(increment() for _ in range(20)))
    assert await store.get("r1") == {"n": 20}


async def test_a_holder_whose_redis_lock_expired_does_not_overwrite_the_new_holder(prefix: str) -> None:
    slow, other = RedisStateStore(REDIS_URL, prefix), RedisStateStore(REDIS_URL, prefix)  # two processes
    raw = aioredis.Redis.from_url(REDIS_URL)
    try:
        async with slow.hold("r1") as slot:
            await raw.delete(f"{prefix}lock:r1")  # the lock's expiry passed while this holder stalled
            async with other.hold("r1") as newer:
                newer.save({"by": "other"})
            slot.save({"by": "slow"})
        assert await other.get("r1") is None  # dropped: the next message rebuilds from the database
    finally:
        await raw.aclose()
        await slow.close()
        await other.close()
