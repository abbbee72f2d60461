"""Per-channel sending slots for campaign messages, shared by all campaigns and processes.

Each campaign message gets a slot (the outbox's ``next_attempt_at``): at most ``cap`` a second per
channel, so 10,000 invitations reach Telegram at its bulk rate rather than at once, and the
outbox sender's own real-time pacing rarely has to hold anything back. Caps sit below the
platforms' limits (Telegram about 30/s in bulk, Zalo and Messenger higher) because the same
channel also carries the bot's replies to people answering surveys. Slots are reserved only a
short horizon ahead, so a campaign never parks thousands of rows in front of those replies.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..store.db import upsert
from ..store.tables_campaigns import campaign_pace

# messages per second per channel for all campaigns together (data, not a platform constant:
# pass ``caps`` to ``send_due`` to change them)
CAPS: dict[str, float] = {"telegram": 20.0, "zalo": 10.0, "messenger": 50.0}
HORIZON = timedelta(seconds=30)


async def reserve(conn: AsyncConnection, channel: str, *, now: datetime, until: datetime, want: int,
                  rate: float) -> list[datetime]:
    """Up to ``want`` slots ``1/rate`` s apart, from the channel's next free slot (or now) to
    ``until``. Runs inside the caller's transaction; on PostgreSQL the row is locked, so two
    processes never hand out the same slot."""
    if want <= 0 or rate <= 0:
        return []
    await conn.execute(upsert(conn.dialect.name, campaign_pace, {"channel": channel, "next_slot": now}, ["channel"]))
    q = select(campaign_pace.c.next_slot).where(campaign_pace.c.channel == channel)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    stored = _aware((await conn.execute(q)).scalar_one())
    start = max(stored, now)
    room = math.floor((until - start) / slot_step(rate))
    n = max(0, min(want, room))
    if n == 0:
        return []
    step = slot_step(rate)
    await conn.execute(update(campaign_pace).where(campaign_pace.c.channel == channel)
                       .values(next_slot=start + step * n))
    return [start + step * i for i in range(n)]


def slot_step(rate: float) -> timedelta:
    """Rounded up to the microsecond, so no second ever holds more than ``rate`` slots."""
    return timedelta(microseconds=math.ceil(1_000_000 / rate))


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
