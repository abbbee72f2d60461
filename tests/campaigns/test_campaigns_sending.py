"""Sending: 10,000 invitations paced per channel, inside allowed hours, resumed after a crash in
the middle with nobody messaged twice; reminders after N days at most K times, never to people
who completed, refused or opted out. The clock is injected: ``send_due(services, now)``."""
from __future__ import annotations

from collections import Counter
from datetime import time, timedelta
from typing import Any

from sqlalchemy import event, func, select

from bot.campaigns import send_due
from bot.campaigns.hours import TZ
from bot.campaigns.pacing import CAPS
from bot.services import build_services
from bot.settings import Settings
from bot.store.tables import outbox
from bot.store.tables_campaigns import campaign_sends

from .conftest import MONDAY_9, new_campaign, with_platforms

TELEGRAM, ZALO = 6_000, 4_000


def big_list() -> list[str]:
    tg = [f"Cán bộ {i},{'p.ha_noi' if i % 2 else 'p.hue'},telegram,{700_000_000 + i},," for i in range(TELEGRAM)]
    zl = [f"Công chức {i},p.hue,zalo,{4_000_000_000_000 + i},," for i in range(ZALO)]
    return tg + zl


async def queued(services: Any) -> list[Any]:
    async with services.engine.connect() as conn:
        return (await conn.execute(select(outbox.c.respondent_id, outbox.c.channel, outbox.c.next_attempt_at,
                                          outbox.c.created_at).order_by(outbox.c.next_attempt_at))).all()


class LostConnection(Exception):
    pass


def crash_after(services: Any, inserts: int) -> Any:
    """The database goes away in the middle of a tick: the n-th batch of sends never commits
    (the ones before it in the same tick did)."""
    seen = {"n": 0}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO CAMPAIGN_SENDS"):
            seen["n"] += 1
            if seen["n"] == inserts:
                raise LostConnection("server closed the connection unexpectedly")

    event.listen(services.engine.sync_engine, "before_cursor_execute", before)
    return before


def assert_paced(rows: list[Any], channel: str) -> None:
    """No second holds more than the channel's cap, and nothing leaves outside 08:00–20:00."""
    times = sorted(r.next_attempt_at for r in rows if r.channel == channel)
    cap = int(CAPS[channel])
    assert all(times[i + cap] - times[i] >= timedelta(seconds=1) for i in range(len(times) - cap)), channel
    local = [(t if t.tzinfo else t.replace(tzinfo=MONDAY_9.tzinfo)).astimezone(TZ).time() for t in times]
    assert min(local) >= time(8, 0) and max(local) < time(20, 0)


async def test_ten_thousand_invitations_paced_resumed_after_a_crash_none_twice(settings: Settings,
                                                                               campaign_services: Any) -> None:
    services = campaign_services
    start = MONDAY_9.replace(hour=0, minute=55)  # 07:55 in Hà Nội: before the window opens
    await new_campaign(services, ("p.ha_noi", "p.hue"), start=True, lines=big_list(), now=start)
    assert await send_due(services, start) == 0

    now = MONDAY_9.replace(hour=1, minute=0)  # 08:00
    total = await send_due(services, now)
    assert 0 < total < TELEGRAM + ZALO  # a horizon's worth, not everything at once
    for _ in range(10):
        now += timedelta(seconds=10)
        total += await send_due(services, now)

    crash_after(services, 2)
    now += timedelta(seconds=10)
    try:
        await send_due(services, now)
        raise AssertionError("the tick should have died with the connection")
    except LostConnection:
        pass
    await services.close()

    restarted = build_services(with_platforms(settings))  # a new process: nothing carried over in memory
    try:
        for _ in range(200):
            now += timedelta(seconds=10)
            if await send_due(restarted, now) == 0 and len(await queued(restarted)) == TELEGRAM + ZALO:
                break
        rows = await queued(restarted)
        async with restarted.engine.connect() as conn:
            sends = (await conn.execute(select(func.count()).select_from(campaign_sends))).scalar_one()
    finally:
        await restarted.close()
    assert sends == len(rows) == TELEGRAM + ZALO
    assert max(Counter(r.respondent_id for r in rows).values()) == 1  # nobody twice
    assert Counter(r.channel for r in rows) == {"telegram": TELEGRAM, "zalo": ZALO}
    assert_paced(rows, "telegram")
    assert_paced(rows, "zalo")
    # the slowest channel sets the length: 4,000 on Zalo at 10/s take 400 s
    last = max(r.next_attempt_at for r in rows)
    last = last if last.tzinfo else last.replace(tzinfo=MONDAY_9.tzinfo)
    assert timedelta(seconds=399) <= last - MONDAY_9.replace(hour=1, minute=0) < timedelta(seconds=480)
    # a slot is never before the tick that queued it, and never more than the horizon after
    assert all(timedelta(0) <= r.next_attempt_at - r.created_at <= timedelta(seconds=30) for r in rows)
