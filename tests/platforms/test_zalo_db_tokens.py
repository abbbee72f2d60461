"""Zalo's single-use refresh token in the database: two processes never both store a pair."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.services import Services
from channels.zalo import TokenPair
from channels.zalo.db_tokens import DbTokenStore


def pair(n: int) -> TokenPair:
    return TokenPair(f"access-{n}", f"refresh-{n}", datetime.now(timezone.utc) + timedelta(hours=25))


async def test_compare_and_set_on_the_refresh_token(services: Services) -> None:
    a, b = DbTokenStore(services.engine), DbTokenStore(services.engine)  # two server processes
    assert await a.replace(None, pair(1))
    assert not await b.replace(None, pair(2))  # seeding happens once
    assert await a.replace("refresh-1", pair(2))
    assert not await b.replace("refresh-1", pair(3))  # b lost the race: refresh-1 was spent
    assert (await b.load(fresh=True)).refresh_token == "refresh-2"  # type: ignore[union-attr]


async def test_cached_reads_see_a_refresh_by_another_process_when_asked_fresh(services: Services) -> None:
    a, b = DbTokenStore(services.engine), DbTokenStore(services.engine)
    await a.replace(None, pair(1))
    assert (await b.load()).access_token == "access-1"  # type: ignore[union-attr]
    await a.replace("refresh-1", pair(2))
    assert (await b.load()).access_token == "access-1"  # type: ignore[union-attr]  (cached briefly)
    assert (await b.load(fresh=True)).access_token == "access-2"  # type: ignore[union-attr]
