"""One user's events are handled in the order they were received, even when two server processes
received them: here two ``Services`` (own engine, caches, Redis client: what a second process
has) on one PostgreSQL and one Redis, with the interleaving that used to break it."""
from __future__ import annotations

from datetime import timedelta
from typing import AsyncIterator

import pytest
from sqlalchemy import select

from bot.inbox import MAX_ATTEMPTS
from bot.messages import Inbound
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.tables import inbox, outbox, processed

USER = "2512736519000000077"


@pytest.fixture
async def other(settings: Settings, services: Services) -> AsyncIterator[Services]:
    """A second server process's services (``services`` first: it loads the flows)."""
    s = build_services(settings)
    yield s
    await s.close()


def _event(n: int, text: str) -> Inbound:
    return Inbound("zalo", USER, text=text, message_id=f"zalo:order-{n}", raw={"msg_id": f"order-{n}"})


async def _handled_order(services: Services) -> list[str]:
    async with services.engine.connect() as conn:
        rows = (await conn.execute(select(processed.c.message_key).order_by(processed.c.first_seq))).all()
    return [r.message_key for r in rows]


@pytest.mark.parametrize("backend", ["postgres"])
async def test_an_event_received_by_a_slower_process_is_handled_before_the_next_one(
        services: Services, other: Services) -> None:
    a, b = services.inbox, other.inbox
    first, second = _event(1, "sipas"), _event(2, "1")
    # process A records event 1 and answers the platform's webhook, but has not handled it yet
    recorded = await a.record([first])
    # a moment later, process B receives event 2 and gets to it first
    assert await b.accept([second]) == 1
    await b.drain()
    assert await _handled_order(services) == ["zalo:order-1", "zalo:order-2"]  # B handled 1 before 2
    async with services.engine.connect() as conn:
        before = (await conn.execute(select(inbox.c.message_key, inbox.c.status, inbox.c.done_at, inbox.c.sender_key)
                                     .order_by(inbox.c.id))).all()
        replies = len((await conn.execute(select(outbox.c.id))).all())
    assert [(r.status, r.sender_key) for r in before] == [("done", None), ("done", None)]
    # now A's turn comes: event 1 is done, so A skips it (not handled, not even as a duplicate)
    for row_id, ev in recorded:
        a.enqueue(row_id, ev)
    await a.drain()
    async with services.engine.connect() as conn:
        after = (await conn.execute(select(inbox.c.message_key, inbox.c.status, inbox.c.done_at)
                                    .order_by(inbox.c.id))).all()
        assert len((await conn.execute(select(outbox.c.id))).all()) == replies
    assert [tuple(r) for r in after] == [(r.message_key, r.status, r.done_at) for r in before]
    # the conversation went as the user meant it: the survey started, then "1" answered its first question
    rid = await services.conversation.respondent_id("zalo", USER)
    state = await other.conversation.flow_state(rid)
    assert state["flow"] == "sipas" and state["status"] == "in_progress"


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_failing_earlier_event_holds_back_the_later_ones_until_it_finally_fails(services: Services) -> None:
    """A failure must not reorder a conversation: event 2 waits while event 1 is retried, and goes
    on once event 1 is given up (a reply token longer than the column: PostgreSQL refuses it)."""
    poison = Inbound("zalo", USER, text="sipas", message_id="zalo:order-1", raw={"msg_id": "9" * 150})
    recorded = await services.inbox.record([poison, _event(2, "xin chào")])
    for row_id, ev in recorded:
        services.inbox.enqueue(row_id, ev)
    await services.inbox.drain()
    for attempt in range(1, MAX_ATTEMPTS + 1):
        async with services.engine.connect() as conn:
            rows = (await conn.execute(select(inbox.c.status, inbox.c.attempts).order_by(inbox.c.id))).all()
        if attempt < MAX_ATTEMPTS:
            assert [tuple(r) for r in rows] == [("pending", attempt), ("pending", 0)]  # 2 not before 1
        else:
            assert [tuple(r) for r in rows] == [("failed", MAX_ATTEMPTS), ("done", 0)]
        assert await services.inbox.recover(older_than=timedelta(0)) == (2 if attempt < MAX_ATTEMPTS else 0)
        await services.inbox.drain()
    assert await _handled_order(services) == ["zalo:order-2"]
