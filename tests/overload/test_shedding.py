"""Past capacity a process refuses some requests at once (503, Retry-After, a short Vietnamese
message) instead of answering all of them late, and nothing it refused is half-recorded.

The overload is made exactly, without timing: the web chat's only admission slot is taken, or a
user's events are held behind their sender's lock so that the inbox has an event waiting."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.app import GATE, SERVICES, create_app
from bot.inbox import sender_key
from bot.messages import Inbound
from bot.overload import Gate
from bot.services import Services
from bot.settings import Settings
from bot.store.tables import inbox
from fakes.zalo import FakeZalo

API = "/api/v1/chat/sessions"
HELD, OTHER, THIRD = "2512736519000000301", "2512736519000000302", "2512736519000000303"


async def test_a_gate_lets_the_next_waiter_in_when_a_slot_frees() -> None:
    gate = Gate(limit=1, max_wait=30.0)
    assert await gate.enter()
    waiting = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)  # let it queue (one loop turn, not a wait for time)
    assert not waiting.done()
    gate.leave()
    assert await waiting is True and gate.inflight == 1
    gate.leave()
    assert gate.inflight == 0


async def test_a_gate_refuses_a_caller_that_waited_too_long() -> None:
    gate = Gate(limit=1, max_wait=0.01)
    assert await gate.enter()
    assert await gate.enter() is False  # the slot never came: refused, not queued for ever
    gate.leave()
    assert gate.inflight == 0 and await gate.enter()


async def test_a_caller_cancelled_just_as_its_slot_came_passes_the_slot_on() -> None:
    gate = Gate(limit=1, max_wait=30.0)
    assert await gate.enter()
    first, second = asyncio.create_task(gate.enter()), asyncio.create_task(gate.enter())
    await asyncio.sleep(0)  # both queue
    gate.leave()  # the slot goes to the first waiter...
    first.cancel()  # ...whose client goes away before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second is True and gate.inflight == 1  # nothing leaked: the second got the slot
    gate.leave()
    assert gate.inflight == 0


@pytest.fixture
async def chat(services: Services, settings: Settings, aiohttp_client: Any) -> Any:
    return await aiohttp_client(create_app(settings.with_(shed_max_inflight=1, shed_max_wait=0.01), background=False))


async def test_web_chat_gets_503_in_vietnamese_while_the_server_is_full_and_is_served_after(chat: Any) -> None:
    session = await chat.post(API, json={"flow": "sipas"})
    assert session.status == 200, await session.text()
    token = (await session.json())["session"]
    gate = chat.app[GATE]
    assert await gate.enter()  # every admission slot busy
    try:
        refused = await chat.post(f"{API}/{token}/messages", json={"cid": "c1", "choice": "yes"})
        assert refused.status == 503 and refused.headers["Retry-After"] == "1"
        body = await refused.json()
        assert body["error"] == "overloaded" and "quá tải" in body["message"]
        # health checks and the console are never shed: operators must see what is happening
        assert (await chat.get("/healthz")).status == 200
    finally:
        gate.leave()
    # the refused message was not half-handled: the same cid is answered normally now
    again = await chat.post(f"{API}/{token}/messages", json={"cid": "c1", "choice": "yes"})
    assert again.status == 200, await again.text()
    assert (await again.json())["messages"]


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo() as fake:
        yield fake


@pytest.fixture
async def webhooks(services: Services, settings: Settings, zalo: FakeZalo, aiohttp_client: Any) -> Any:
    s = settings.with_(zalo_app_id=zalo.app_id, zalo_app_secret=zalo.app_secret, zalo_oa_secret_key=zalo.oa_secret_key,
                       zalo_access_token=zalo.access_token, zalo_refresh_token=zalo.refresh_token,
                       zalo_api_base=zalo.url, zalo_oauth_base=zalo.url, shed_inbox_delay=1e-6)
    return await aiohttp_client(create_app(s, background=False))


async def _post(client: Any, zalo: FakeZalo, user: str, text: str) -> Any:
    body, headers = zalo.user_event(user, text)
    return await client.post("/webhooks/zalo", data=body, headers=headers)


async def _recorded(client: Any) -> int:
    async with client.app[SERVICES].engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(inbox))).scalar_one()


async def test_webhooks_get_503_while_events_wait_in_the_inbox_and_nothing_is_recorded(
        webhooks: Any, zalo: FakeZalo) -> None:
    services = webhooks.app[SERVICES]
    lock = services.state.lock(f"inbox:{sender_key('zalo', HELD)}")
    await lock.__aenter__()  # the user's events cannot be handled: the first blocks, the second waits
    try:
        assert (await _post(webhooks, zalo, HELD, "sipas")).status == 200
        assert (await _post(webhooks, zalo, HELD, "xin chao")).status == 200
        assert services.inbox.delay() > 0
        refused = await _post(webhooks, zalo, OTHER, "sipas")
        assert refused.status == 503 and refused.headers["Retry-After"] == "1"
        assert await _recorded(webhooks) == 2  # the refused event is not recorded: Zalo redelivers it
    finally:
        await lock.__aexit__(None, None, None)
    await services.inbox.drain()
    assert services.inbox.delay() == 0
    assert (await _post(webhooks, zalo, OTHER, "sipas")).status == 200
    await services.inbox.drain()
    async with services.engine.connect() as conn:
        statuses = (await conn.execute(select(inbox.c.status))).scalars().all()
    assert statuses == ["done"] * 3


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_sender_whose_event_failed_leaves_no_phantom_backlog(services: Services) -> None:
    """A failed event holds back its sender's later ones (they wait for the sweep, in order); the
    inbox must not go on counting them as waiting here, or every webhook after would be refused."""
    user = "2512736519000000309"
    failing = Inbound("zalo", user, text="a", message_id="zalo:phantom-1", raw={"msg_id": "x" * 300})
    later = Inbound("zalo", user, text="b", message_id="zalo:phantom-2", raw={"msg_id": "m2"})
    assert await services.inbox.accept([failing, later]) == 2
    await services.inbox.drain()
    async with services.engine.connect() as conn:
        rows = (await conn.execute(select(inbox.c.status, inbox.c.attempts).order_by(inbox.c.id))).all()
    assert [(r.status, r.attempts) for r in rows] == [("pending", 1), ("pending", 0)]  # left to the sweep
    assert services.inbox.delay() == 0
