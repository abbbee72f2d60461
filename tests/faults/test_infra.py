"""Redis and PostgreSQL failing under the running application, mid-traffic.

The application runs in-process (so the outbox sender can be pumped on a simulated clock, see
harness.Pump) against the private Redis and PostgreSQL of services.py, with six web chat
respondents and four Zalo users writing at once; Zalo users read each reply before typing on.

- Redis is SIGKILLed and later started again empty: Redis is a cache and a lock, so no client may
  even notice (not one failed request), and nothing is lost or repeated.
- PostgreSQL is shut down immediately (``pg_ctl -m immediate``, a crash) and started again: requests
  in flight fail with 5xx and are resent by their clients (same cid, same msg_id) once it is back;
  events whose handling failed meanwhile are picked up by the inbox sweep (run at once, with
  ``older_than=0``, instead of a minute later).
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from bot.app import SERVICES, create_app
from bot.settings import Settings
from channels.platforms import SENDER
from fakes.zalo import FakeZalo

from .harness import Gate, PlatformUser, Progress, Pump, SimClock, WebUser, check_nothing_lost_or_repeated, zalo_reader
from .script import survey
from .services import PrivatePostgres, PrivateRedis

WEB_USERS, ZALO_USERS = 6, 4


@pytest.mark.parametrize("fault", ["redis", "postgres"])
async def test_a_store_failing_mid_traffic_loses_and_duplicates_nothing(
        fault: str, fault_settings: Settings, private_pg: PrivatePostgres, private_redis: PrivateRedis,
        aiohttp_client: Any) -> None:
    async with FakeZalo() as zalo, aiohttp.ClientSession() as http:
        s = fault_settings.with_(zalo_app_id=zalo.app_id, zalo_app_secret=zalo.app_secret,
                                 zalo_oa_secret_key=zalo.oa_secret_key, zalo_access_token=zalo.access_token,
                                 zalo_refresh_token=zalo.refresh_token, zalo_api_base=zalo.url,
                                 zalo_oauth_base=zalo.url)
        client = await aiohttp_client(create_app(s, background=False))
        services = client.app[SERVICES]
        sender = client.app[SENDER]
        clock = SimClock()
        sender.clock = clock.now  # the app's own sender, stepped on the simulated clock
        pump = Pump(sender, services.engine, clock)
        services.inbox.on_outbox = pump.wake
        pump.start()
        base = str(client.make_url("")).rstrip("/")
        gate, progress = Gate(), Progress()
        web = [WebUser(http, base, gate, progress, f"w{i}") for i in range(WEB_USERS)]
        users = [PlatformUser("zalo", f"25127365190000003{i:02d}", survey(answers=8, submit=False), http, base,
                              gate, progress, zalo=zalo) for i in range(ZALO_USERS)]

        total = WEB_USERS * 11 + sum(len(u.script.turns) for u in users)

        async def inject() -> None:
            await progress.until(total // 3)
            if fault == "redis":
                await asyncio.to_thread(private_redis.kill)
                await progress.until(2 * total // 3)  # a third of the traffic without Redis
                await asyncio.to_thread(private_redis.start)
                return
            gate.open.clear()  # clients whose message fails wait for the database to be back
            await asyncio.to_thread(private_pg.stop)
            await asyncio.to_thread(private_pg.start)
            gate.open.set()
            await services.inbox.recover(older_than=timedelta(0))
            pump.wake()

        try:
            await asyncio.gather(inject(), *(w.run(10) for w in web), *(u.run(zalo_reader(zalo, u.user)) for u in users))
            await services.inbox.drain()
            await pump.settled()
        finally:
            await pump.stop()

        print(f"{fault}: {gate.failed.count} client sends failed and were resent")
        if fault == "redis":
            assert gate.failed.count == 0  # a cache going away is invisible to clients
        await check_nothing_lost_or_repeated(services, web, users, zalo)
