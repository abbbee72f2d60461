"""Campaign fixtures: services with Telegram and Zalo switched on (send_due only queues for
platforms this server can send on), a clock set inside or outside sending hours, and lists
written the way a unit's Excel exports them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, AsyncIterator

import pytest

from bot.app import create_app
from bot.campaigns import service
from bot.campaigns.lists import RawRow, read_csv
from bot.services import Services, build_services
from bot.settings import REPO_ROOT, Settings
from bot.store.flows_repo import load_directory
from channels.platforms import SENDER
from fakes.telegram import TOKEN, FakeTelegram
# the Telegram test's fake Bot API fixture and its person-in-the-chat helpers
from platforms.test_telegram_webhook import SECRET, buttons, sayer, text_of, tg  # noqa: F401

# Monday 1 September 2025, 09:00 in Hà Nội
MONDAY_9 = datetime(2025, 9, 1, 2, 0, tzinfo=timezone.utc)
HEADER = "Họ tên,Đơn vị,Kênh,Tài khoản,Số điện thoại,Email"


def with_platforms(settings: Settings, telegram_api: str = "http://127.0.0.1:9/bot", zalo: bool = True) -> Settings:
    s = settings.with_(telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_base=telegram_api,
                       telegram_bot_username="hailong_test_bot", send_backoff_seconds=0.0, send_user_pacing=False)
    return s.with_(zalo_app_id="1234", zalo_oa_secret_key="oa-key", zalo_refresh_token="refresh",
                   zalo_oa_id="4321") if zalo else s


@pytest.fixture
async def campaign_services(settings: Settings) -> AsyncIterator[Services]:
    s = build_services(with_platforms(settings))
    await load_directory(s.engine, REPO_ROOT / "survey_flows")
    yield s
    await s.close()


def listing(*lines: str, header: str = HEADER) -> list[RawRow]:
    return read_csv(("\n".join((header, *lines)) + "\n").encode())


async def new_campaign(services: Services, units: tuple[str, ...] = ("p.ha_noi",), *, start: bool = False,
                       lines: list[str] | None = None, now: datetime = MONDAY_9, **settings: Any) -> str:
    spec = service.CampaignSpec("PAR INDEX 2025", "par_index", units, **settings)
    cid = await service.create_campaign(services, spec, scope=None, by=None, now=now)
    if lines:
        await service.import_list(services, cid, listing(*lines), scope=None, now=now)
    if start:
        await service.set_status(services, cid, "sending", scope=None, now=now)
    return cid


@pytest.fixture
async def tg_app(settings: Settings, services: Services, tg: FakeTelegram, aiohttp_client: Any) -> Any:
    """The server with Telegram pointed at the fake Bot API (``services``: the seed flows are loaded).
    Its outbox keeps Monday 09:00's time, running on from there: campaign messages leave only inside
    the campaign's hours, and the tests' campaigns are queued for Monday 09:00, whenever they run."""
    client = await aiohttp_client(create_app(with_platforms(settings, tg.url, zalo=False), background=False))
    started = datetime.now(timezone.utc)
    client.app[SENDER].clock = lambda: MONDAY_9 + (datetime.now(timezone.utc) - started)
    return client


def to_chat(tg: FakeTelegram, chat: int) -> list[str]:
    return [text_of(p) for p in tg.delivered if str(p.get("chat_id")) == str(chat)]
