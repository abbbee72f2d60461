"""The inbox: an event recorded before a crash is handled after restart, once; the background
sender delivers without being stepped."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from bot.app import SERVICES, create_app
from bot.messages import Inbound
from bot.services import Services
from bot.store.tables import inbox, outbox
from fakes.zalo import FakeZalo


async def test_an_event_left_pending_by_a_crash_is_handled_by_recover(services: Services) -> None:
    ev = Inbound("zalo", "2512736519000000001", text="sipas", message_id="zalo:crash-1", raw={"msg_id": "crash-1"})
    async with services.engine.begin() as conn:  # what a process that died right after the 200 left behind
        await conn.execute(inbox.insert().values(channel="zalo", message_key=ev.message_id, payload=ev.to_json(),
                                                 status="pending", attempts=0,
                                                 received_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
    assert await services.inbox.recover() == 1
    await services.inbox.drain()
    assert await services.inbox.recover() == 0  # nothing left
    async with services.engine.connect() as conn:
        row = (await conn.execute(select(inbox.c.status, inbox.c.payload))).one()
        sent = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
    assert row.status == "done" and row.payload is None  # the platform user id is not kept once handled
    assert sent >= 1
    # a redelivery of the same event later changes nothing
    assert await services.inbox.accept([ev]) == 0


async def test_recent_pending_events_are_left_to_the_process_handling_them(services: Services) -> None:
    ev = Inbound("zalo", "2512736519000000002", text="sipas", message_id="zalo:live-1")
    async with services.engine.begin() as conn:
        await conn.execute(inbox.insert().values(channel="zalo", message_key=ev.message_id, payload=ev.to_json(),
                                                 status="pending", attempts=0, received_at=datetime.now(timezone.utc)))
    assert await services.inbox.recover() == 0


async def test_the_background_sender_delivers_on_its_own(settings: Any, services: Services, aiohttp_client: Any) -> None:
    async with FakeZalo() as zalo:
        s = settings.with_(zalo_app_id=zalo.app_id, zalo_app_secret=zalo.app_secret,
                           zalo_oa_secret_key=zalo.oa_secret_key, zalo_access_token=zalo.access_token,
                           zalo_refresh_token=zalo.refresh_token, zalo_api_base=zalo.url, zalo_oauth_base=zalo.url)
        client = await aiohttp_client(create_app(s))  # background loops on, as in `hailong run`
        body, headers = zalo.user_event("2512736519000000003", "sipas")
        assert (await client.post("/webhooks/zalo", data=body, headers=headers)).status == 200
        await zalo.arrivals.until(1)
        assert client.app[SERVICES] is not None
        await client.close()
