"""Allowed hours in Vietnam's time, whatever the server's zone: nothing before the window, the
queue stops at its end and resumes the next (week)day."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from bot.app import SERVICES
from bot.campaigns import send_due
from bot.campaigns.hours import SendingHours
from bot.store.tables import outbox
from channels.platforms import SENDER
from fakes.telegram import FakeTelegram

from .conftest import MONDAY_9, new_campaign, tg, tg_app  # noqa: F401  (fixtures)

FRIDAY_8 = datetime(2025, 9, 5, 1, 0, tzinfo=timezone.utc)  # 08:00 in Hà Nội


def test_the_window_is_vietnam_time() -> None:
    h = SendingHours.of("08:00", "17:30", weekdays_only=True)
    assert h.window_end(MONDAY_9) == MONDAY_9.replace(hour=10, minute=30)
    assert h.window_end(MONDAY_9.replace(hour=0, minute=59)) is None  # 07:59
    assert h.window_end(MONDAY_9.replace(hour=10, minute=30)) is None  # 17:30
    saturday = MONDAY_9 + timedelta(days=5)
    assert h.window_end(saturday) is None
    assert h.next_start(saturday) == MONDAY_9.replace(day=8, hour=1, minute=0)


async def count(services: Any) -> int:
    async with services.engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()


async def test_sending_stops_at_the_end_of_the_window_and_goes_on_next_weekday(campaign_services: Any) -> None:
    services = campaign_services
    lines = [f"Người {i},p.hue,telegram,{600_000_000 + i},," for i in range(1_500)]
    await new_campaign(services, ("p.hue",), start=True, lines=lines, send_from="08:00", send_until="08:01",
                       weekdays_only=True, now=FRIDAY_8)
    now = FRIDAY_8
    while now < FRIDAY_8 + timedelta(minutes=3):
        await send_due(services, now)
        now += timedelta(seconds=10)
    assert await count(services) == 1_200  # 60 s at 20/s; the rest waits
    assert await send_due(services, FRIDAY_8 + timedelta(days=1)) == 0  # Saturday
    assert await send_due(services, FRIDAY_8 + timedelta(days=3, seconds=30)) > 0  # Monday 08:00:30


# ---- the outbox keeps to the hours too: retries and messages delayed by an outage ----------------

CLOSING = MONDAY_9.replace(hour=9, minute=59, second=0)  # Monday 16:59 in Hà Nội
TUESDAY_8 = MONDAY_9 + timedelta(days=1, hours=-1)  # Tuesday 08:00 in Hà Nội


async def _row(services: Any) -> Any:
    async with services.engine.connect() as conn:
        row = (await conn.execute(select(outbox.c.status, outbox.c.attempts, outbox.c.next_attempt_at))).one()
    due = row.next_attempt_at
    return row, (due if due is None or due.tzinfo else due.replace(tzinfo=timezone.utc))


async def _invite_one(services: Any) -> None:
    await new_campaign(services, ("p.hue",), start=True, lines=["Người 1,p.hue,telegram,600000001,,"],
                       send_from="08:00", send_until="17:00", weekdays_only=True, now=CLOSING)
    assert await send_due(services, CLOSING) == 1


async def test_an_invitation_that_failed_at_closing_time_is_retried_next_morning_not_at_night(
        tg_app: Any, tg: FakeTelegram) -> None:
    services, sender = tg_app.app[SERVICES], tg_app.app[SENDER]
    await _invite_one(services)
    tg.fail_next("sendMessage", 500)
    sender.clock, sender.backoff = (lambda: CLOSING + timedelta(seconds=1)), 60.0  # the retry falls after 17:00
    await sender.send_due()
    row, due = await _row(services)
    assert (row.status, row.attempts, due) == ("pending", 1, TUESDAY_8)
    assert tg.delivered == []
    sender.clock = lambda: TUESDAY_8 + timedelta(seconds=1)
    await sender.send_due()
    assert (await _row(services))[0].status == "sent" and len(tg.delivered) == 1


async def test_an_invitation_delayed_past_closing_time_waits_for_the_next_window(
        tg_app: Any, tg: FakeTelegram) -> None:
    services, sender = tg_app.app[SERVICES], tg_app.app[SENDER]
    await _invite_one(services)
    sender.clock = lambda: CLOSING + timedelta(hours=5)  # the sender was down until 22:00
    await sender.send_due()
    row, due = await _row(services)
    assert (row.status, row.attempts, due) == ("pending", 0, TUESDAY_8)  # held, not an attempt
    assert tg.delivered == []
