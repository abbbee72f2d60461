"""A chat platform answering 429, 500 or nothing at all for a simulated minute.

Three platforms at once (Zalo, Messenger, Telegram), two users each, sending a survey's first
answers through signed webhooks while every send to the platforms fails. The outbox sender runs on
a simulated clock (see harness.Pump): its backoff schedule is followed exactly, the minute passes
without waiting, and the outage ends when the simulated clock says so. Afterwards every reply has
reached its user exactly once and in order; with too few attempts allowed, every reply is marked
failed, listed by ``hailong outbox failed``, and delivered after ``hailong outbox retry``.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
import pytest

from bot.app import SERVICES, create_app
from bot.settings import REPO_ROOT, Settings
from channels.messenger.channel import MessengerChannel
from channels.messenger.client import MessengerClient
from channels.outbox_sender import OutboxSender
from channels.platforms import SENDER
from channels.telegram.channel import TelegramChannel
from channels.telegram.sender import TelegramSender
from channels.zalo.channel import ZaloChannel
from channels.zalo.client import ZaloClient
from channels.zalo.db_tokens import DbTokenStore
from fakes.messenger import FakeGraphAPI
from fakes.telegram import TOKEN as TG_TOKEN
from fakes.telegram import FakeTelegram
from fakes.zalo import FakeZalo

from .harness import Gate, Outage, PlatformUser, Progress, Pump, SimClock, outbound_texts, stored
from .script import survey

OUTAGE = timedelta(minutes=1)
CLIENT_TIMEOUT = 0.3  # seconds a send waits for an answer (production: 10); "timeout" mode hits it
APP_SECRET, PAGE_TOKEN, TG_SECRET = "outage-app-secret", "outage-page-token", "outage_tg_secret"
USERS = {"zalo": ["2512736519000000101", "2512736519000000102"],
         "messenger": ["6852170548195101", "6852170548195102"],
         "telegram": ["700000101", "700000102"]}


class World:
    """The application, the three fakes behind their outage switches, and the pumped sender."""

    def __init__(self, client: Any, fakes: dict[str, Any], outages: dict[str, Outage], sender: OutboxSender,
                 pump: Pump, clock: SimClock, http: aiohttp.ClientSession) -> None:
        self.client, self.fakes, self.outages = client, fakes, outages
        self.sender, self.pump, self.clock, self.http = sender, pump, clock, http

    @property
    def services(self) -> Any:
        return self.client.app[SERVICES]

    def delivered(self, platform: str, user: str) -> list[str]:
        fake = self.fakes[platform]
        if platform == "zalo":
            return [b["message"]["text"] for b in fake.delivered
                    if fake.user_messages.get(b["recipient"].get("message_id")) == user]
        if platform == "messenger":
            return [b["message"]["text"] for b in fake.delivered if b["recipient"]["id"] == user]
        return [p["text"] for p in fake.delivered if str(p["chat_id"]) == user]


async def open_world(settings: Settings, mode: str, aiohttp_client: Any, max_attempts: int,
                     stack: list[Any]) -> World:
    clock = SimClock()
    end = clock.now() + OUTAGE

    def failing() -> bool:
        return clock.now() < end

    zalo, graph, tg = FakeZalo(), FakeGraphAPI(access_token=PAGE_TOKEN), FakeTelegram()
    for fake in (zalo, graph, tg):
        await fake.__aenter__()
        stack.append(fake)
    outages = {}
    for name, fake in (("zalo", zalo), ("messenger", graph), ("telegram", tg)):
        outages[name] = await Outage(name, fake.url, mode, failing).__aenter__()
        stack.append(outages[name])
    s = settings.with_(zalo_app_id=zalo.app_id, zalo_app_secret=zalo.app_secret, zalo_oa_secret_key=zalo.oa_secret_key,
                       zalo_access_token=zalo.access_token, zalo_refresh_token=zalo.refresh_token,
                       zalo_api_base=outages["zalo"].url, zalo_oauth_base=outages["zalo"].url,
                       messenger_app_secret=APP_SECRET, messenger_verify_token="v", messenger_page_token=PAGE_TOKEN,
                       messenger_api_base=outages["messenger"].url, telegram_token=TG_TOKEN, telegram_secret=TG_SECRET,
                       telegram_api_base=outages["telegram"].url)
    client = await aiohttp_client(create_app(s, background=False))
    engine = client.app[SERVICES].engine
    http = aiohttp.ClientSession()
    stack.append(http)
    # the sender the app would build, with short client timeouts and the simulated clock
    channels: dict[str, Any] = {
        "zalo": ZaloChannel(ZaloClient(app_id=zalo.app_id, app_secret=zalo.app_secret, tokens=DbTokenStore(engine),
                                       session=http, base_url=outages["zalo"].url, oauth_url=outages["zalo"].url,
                                       timeout=CLIENT_TIMEOUT)),
        "messenger": MessengerChannel(MessengerClient(PAGE_TOKEN, session=http, graph_url=outages["messenger"].url,
                                                      api_version=s.messenger_api_version, timeout=CLIENT_TIMEOUT)),
        "telegram": TelegramChannel(TelegramSender(TG_TOKEN, base_url=f"{outages['telegram'].url}/bot",
                                                   connect_timeout=CLIENT_TIMEOUT, read_timeout=CLIENT_TIMEOUT,
                                                   write_timeout=CLIENT_TIMEOUT, pool_timeout=CLIENT_TIMEOUT)),
    }
    sender = OutboxSender(repo=client.app[SENDER].repo, channels=channels, max_attempts=max_attempts, backoff=2.0,
                          user_pacing=False, clock=clock.now)
    pump = Pump(sender, engine, clock)
    client.app[SERVICES].inbox.on_outbox = pump.wake
    pump.start()
    stack.append(sender)
    return World(client, {"zalo": zalo, "messenger": graph, "telegram": tg}, outages, sender, pump, clock, http)


@pytest.fixture
async def stack() -> AsyncIterator[list[Any]]:
    items: list[Any] = []
    yield items
    for item in reversed(items):
        if isinstance(item, OutboxSender):
            for ch in item.channels.values():
                await ch.close()
        elif isinstance(item, aiohttp.ClientSession):
            await item.close()
        else:
            await item.__aexit__(None, None, None)


async def run_users(world: World, answers: int) -> list[PlatformUser]:
    gate, progress = Gate(), Progress()
    users = [PlatformUser(p, u, survey(answers=answers, submit=False), world.http, str(world.client.make_url("")).rstrip("/"),
                          gate, progress, zalo=world.fakes["zalo"], app_secret=APP_SECRET, tg_secret=TG_SECRET)
             for p, us in USERS.items() for u in us]
    await asyncio.gather(*(u.run() for u in users))
    await world.services.inbox.drain()
    await world.pump.settled()
    return users


@pytest.mark.parametrize("mode", ["429", "500", "timeout"])
async def test_a_minute_of_platform_errors_delays_but_loses_and_repeats_nothing(
        fault_settings: Settings, aiohttp_client: Any, stack: list[Any], mode: str) -> None:
    world = await open_world(fault_settings, mode, aiohttp_client, max_attempts=8, stack=stack)
    started = world.clock.now()
    users = await run_users(world, answers=4)

    assert world.clock.now() - started >= OUTAGE  # the minute passed, on the simulated clock
    for platform, outage in world.outages.items():
        assert outage.refused >= 2 * 3, (platform, outage.refused)  # each first reply failed several times
    for user in users:
        rid = await world.services.conversation.respondent_id(user.platform, user.user)
        db = await stored(world.services.engine, user.platform, rid)
        assert db.responses == 1 and db.answers == user.script.answers and db.answer_rows == len(user.script.answers)
        assert db.processed == len(user.script.turns)
        assert [r.seq for r in db.outbox] == list(range(1, len(db.outbox) + 1))
        assert len(db.outbox) == sum(t.replies for t in user.script.turns)
        assert {r.status for r in db.outbox} == {"sent"}, [(r.seq, r.status, r.last_error) for r in db.outbox]
        assert db.outbox[0].attempts > 1  # it went through the outage
        channel = world.sender.channels[user.platform]
        # every reply arrived exactly once, in order
        assert world.delivered(user.platform, user.user) == outbound_texts(channel.render, db.outbox)


def _cli(settings: Settings, *args: str) -> str:
    script = Path(sys.executable).with_name("hailong")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env.update(HAILONG_DATABASE_URL=settings.database_url, HAILONG_DATA_DIR=str(settings.data_dir),
               HAILONG_SECRET_KEY=settings.secret_key)
    done = subprocess.run(cmd + list(args), env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_sends_that_outlast_their_attempts_are_failed_listed_and_retryable(
        fault_settings: Settings, aiohttp_client: Any, stack: list[Any]) -> None:
    world = await open_world(fault_settings, "500", aiohttp_client, max_attempts=3, stack=stack)
    users = await run_users(world, answers=1)

    failed: dict[int, str] = {}
    total = 0
    for user in users:
        rid = await world.services.conversation.respondent_id(user.platform, user.user)
        db = await stored(world.services.engine, user.platform, rid)
        assert world.delivered(user.platform, user.user) == []
        # every reply used its three attempts inside the outage (a failed message does not hold
        # back the next one: failure is final until an operator retries)
        assert [(r.status, r.attempts) for r in db.outbox] == [("failed", 3)] * len(db.outbox)
        total += len(db.outbox)
    listed = await world.sender.repo.failed()
    assert len(listed) == total
    for row in listed:
        failed[row["id"]] = row["respondent_id"]
    out = await asyncio.to_thread(_cli, fault_settings, "outbox", "failed")
    assert {int(line.split("\t")[0]) for line in out.splitlines()} == set(failed)

    # an operator retries after the outage: every message reaches its user once, in order
    world.clock.advance_to(world.clock.now() + timedelta(minutes=2))
    out = await asyncio.to_thread(_cli, fault_settings, "outbox", "retry", *map(str, failed))
    assert f"{len(failed)} messages queued again" in out
    await world.pump.settled()
    for user in users:
        rid = await world.services.conversation.respondent_id(user.platform, user.user)
        db = await stored(world.services.engine, user.platform, rid)
        assert {r.status for r in db.outbox} == {"sent"}
        assert world.delivered(user.platform, user.user) == outbound_texts(
            world.sender.channels[user.platform].render, db.outbox)
    assert "no failed messages" in await asyncio.to_thread(_cli, fault_settings, "outbox", "failed")
