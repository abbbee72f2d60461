"""Fixtures for the Messenger adapter: a running fake Graph API and a client pointed at it."""
from __future__ import annotations

from typing import AsyncIterator

import pytest

from channels.messenger import MessengerClient
from fakes.messenger import FakeGraphAPI

TOKEN = "EAAB-page-token-never-shown"


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphAPI]:
    async with FakeGraphAPI(access_token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def client(graph: FakeGraphAPI) -> AsyncIterator[MessengerClient]:
    async with MessengerClient(TOKEN, graph_url=graph.url, api_version="v25.0", timeout=5.0) as c:
        yield c
