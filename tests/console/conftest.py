"""The console served in-process, with accounts created the way an administrator would and
questions asked through the web chat."""
from __future__ import annotations

from typing import Any, AsyncIterator

import pytest
from console_fixtures import Console, console_app

from bot.services import Services
from bot.settings import Settings
from tests.admin.conftest import Admin


@pytest.fixture
async def console(settings: Settings, services: Services, aiohttp_client: Any) -> AsyncIterator[Console]:
    client = await aiohttp_client(console_app(settings))
    yield Console(client)


@pytest.fixture
def citizens(console: Console) -> Admin:
    """Citizens asking through the web chat of the same server (the admin tests' helper)."""
    return Admin(console.client)
