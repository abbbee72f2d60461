"""STOP typed in the chat outside a survey: the citizen is told, in Vietnamese, that no more
campaign messages will come, and the reminders really skip them. Through the Telegram webhook,
the real sender and outbox, to the fake Bot API."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.app import SERVICES
from bot.campaigns import send_due
from bot.campaigns.reports import list_invitees
from bot.store.outbox_repo import OutboxRepo
from channels.outbox_sender import OutboxSender
from channels.platforms import SENDER
from fakes.telegram import FakeTelegram

from .conftest import MONDAY_9, new_campaign, sayer, text_of, to_chat


@pytest.mark.parametrize("word", ["STOP", "dừng", "Hủy nhận tin"])
async def test_stop_outside_a_survey_opts_out_of_the_reminders(tg_app: Any, tg: FakeTelegram, word: str) -> None:
    app = tg_app.app
    services = app[SERVICES]
    cid = await new_campaign(services, ("p.hue",), start=True, reminder_after_days=2, max_reminders=2, lines=[
        "Xuân,p.hue,telegram,400001,,", "Yến,p.hue,telegram,400002,,"])
    clock = [MONDAY_9]
    outbox = OutboxSender(repo=OutboxRepo(services.engine, services.sealer), channels=app[SENDER].channels,
                          user_pacing=False, clock=lambda: clock[0])

    async def day(n: int) -> int:
        clock[0] = MONDAY_9 + timedelta(days=n, minutes=10 * n)
        queued = await send_due(services, clock[0])
        clock[0] += timedelta(seconds=30)
        await outbox.send_due()
        return queued

    assert await day(0) == 2
    replies = await sayer(tg_app, tg, 400001)(word)

    assert [text_of(r) for r in replies] == [
        "Vâng. Ông/Bà sẽ không nhận thêm lời mời hay tin nhắc khảo sát nào nữa. "
        "Khi cần, Ông/Bà chỉ việc nhắn lại cho tôi."]
    assert await day(2) == 1  # Yến's reminder only
    assert len(to_chat(tg, 400002)) == 2
    assert len(to_chat(tg, 400001)) == 2  # the invitation and the confirmation, no reminder
    statuses = {i["name"]: i["status"] for i in await list_invitees(services, cid, scope=None)}
    assert statuses == {"Xuân": "refused", "Yến": "delivered"}


async def test_a_yes_without_diacritics_in_mind_is_not_an_opt_out(tg_app: Any, tg: FakeTelegram) -> None:
    """"đúng" (right) and "dừng" (stop) fold to the same letters: only the second one opts out."""
    services = tg_app.app[SERVICES]
    cid = await new_campaign(services, ("p.hue",), start=True, lines=["Xuân,p.hue,telegram,400001,,"])
    assert await send_due(services, MONDAY_9) == 1
    await sayer(tg_app, tg, 400001)("đúng")
    [xuan] = await list_invitees(services, cid, scope=None)
    assert xuan["opted_out_at"] is None


async def test_stop_from_someone_no_campaign_wrote_to_gets_the_usual_answer(tg_app: Any, tg: FakeTelegram) -> None:
    replies = await sayer(tg_app, tg, 400009)("STOP")
    assert [text_of(r) for r in replies] == ["Vâng. Tôi sẽ không gửi thêm tin nhắn nào cho đến khi Ông/Bà nhắn lại."]
