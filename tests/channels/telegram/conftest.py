"""Fixtures for the Telegram adapter: a running fake Bot API and senders pointed at it.

No ``__init__.py`` here on purpose: with one, pytest's default import mode would import this
directory as a top-level package named ``telegram`` and shadow python-telegram-bot. Test module
names are therefore prefixed ``test_telegram_`` to stay unique across the suite.
"""
from __future__ import annotations

from typing import AsyncIterator

import pytest

from channels.telegram import TelegramSender
from fakes.telegram import TOKEN, FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def sender(fake: FakeTelegram) -> AsyncIterator[TelegramSender]:
    async with TelegramSender(TOKEN, base_url=fake.base_url, connect_timeout=2.0, read_timeout=5.0,
                              write_timeout=2.0) as s:
        yield s
