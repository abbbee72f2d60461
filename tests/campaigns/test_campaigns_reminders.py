"""Reminders: after N days without completion, at most K times, never to someone who refused in
the chat or whom an official recorded as opted out. Delivery by the real outbox sender on an
injected clock, to the fake Telegram."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.app import SERVICES
from bot.campaigns import send_due, service
from bot.campaigns.reports import list_invitees
from bot.store.outbox_repo import OutboxRepo
from channels.outbox_sender import OutboxSender
from channels.platforms import SENDER
from fakes.telegram import FakeTelegram

from .conftest import MONDAY_9, buttons, new_campaign, sayer, to_chat


async def test_reminders_after_n_days_at_most_k_times_skipping_who_said_no(tg_app: Any, tg: FakeTelegram) -> None:
    app = tg_app.app
    services = app[SERVICES]
    cid = await new_campaign(services, ("p.hue",), start=True, reminder_after_days=2, max_reminders=2, lines=[
        "Xuân,p.hue,telegram,400001,,", "Yến,p.hue,telegram,400002,,", "Zung,p.hue,telegram,400003,,"])
    clock = [MONDAY_9]
    outbox = OutboxSender(repo=OutboxRepo(services.engine, services.sealer), channels=app[SENDER].channels,
                          user_pacing=False, clock=lambda: clock[0])

    async def day(n: int) -> int:
        clock[0] = MONDAY_9 + timedelta(days=n, minutes=10 * n)  # a little later each day: N full days pass
        queued = await send_due(services, clock[0])
        clock[0] += timedelta(seconds=30)  # the slots have come
        await outbox.send_due()
        return queued

    assert await day(0) == 3
    codes = {i["name"]: i["code"] for i in await list_invitees(services, cid, scope=None)}
    xuan = sayer(tg_app, tg, 400001)
    consent = await xuan(codes["Xuân"])
    await xuan(buttons(consent[-1])[1], button=True)  # declines in the chat
    yen = next(i for i in await list_invitees(services, cid, scope=None) if i["name"] == "Yến")
    await service.opt_out(services, cid, yen["id"], scope=None, now=clock[0])  # told the unit by phone

    assert await day(1) == 0  # not yet
    assert await day(2) == 1  # Zung only
    assert await day(3) == 0
    assert await day(4) == 1
    assert await day(6) == 0  # two reminders were the limit
    assert await day(30) == 0
    zung = to_chat(tg, 400003)
    assert len(zung) == 3 and zung[1].startswith("Nhắc lại") and codes["Zung"] in zung[2]
    assert len(to_chat(tg, 400002)) == 1
    assert sum(codes["Xuân"] in t for t in to_chat(tg, 400001)) == 1
    statuses = {i["name"]: (i["status"], i["messages"]) for i in await list_invitees(services, cid, scope=None)}
    assert statuses == {"Xuân": ("refused", 1), "Yến": ("refused", 1), "Zung": ("delivered", 3)}
