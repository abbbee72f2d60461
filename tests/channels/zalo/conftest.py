"""Fixtures for the Zalo adapter: a running fake Zalo and clients pointed at it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from channels.zalo import MemoryTokenStore, TokenPair, ZaloClient
from fakes.zalo import FakeZalo

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)

MakeClient = Callable[..., Awaitable[ZaloClient]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as server:
        yield server


@pytest.fixture
def store(fake: FakeZalo) -> MemoryTokenStore:
    """The pair the OA administrator's authorization left, valid for another day."""
    return MemoryTokenStore(TokenPair(fake.access_token, fake.refresh_token, NOW + timedelta(hours=24)))


@pytest.fixture
async def make_client(fake: FakeZalo, store: MemoryTokenStore) -> AsyncIterator[MakeClient]:
    """Clients on one shared session, each standing for a process of its own."""
    session = aiohttp.ClientSession()

    async def make(tokens: MemoryTokenStore | None = None, **options: object) -> ZaloClient:
        settings: dict[str, object] = {"timeout": 2.0, "clock": lambda: NOW, "refresh_race_poll": 0.01}
        settings.update(options)
        return ZaloClient(app_id=fake.app_id, app_secret=fake.app_secret, tokens=tokens or store,
                          session=session, base_url=fake.url, oauth_url=fake.url, **settings)  # type: ignore[arg-type]

    yield make
    await session.close()


@pytest.fixture
async def client(make_client: MakeClient) -> ZaloClient:
    return await make_client()
