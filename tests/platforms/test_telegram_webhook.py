"""Telegram end to end: secret-token webhook in, conversation, replies out through the fake Bot API."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import func, select

from bot.app import SERVICES, create_app
from bot.invitations import create_invitations, invitation_links
from bot.store.tables import answers, inbox, outbox, responses
from channels.platforms import SENDER
from fakes.telegram import TOKEN, FakeTelegram, callback_update, photo_update, text_update

from .driver import run_survey, settle

SECRET = "hailong-webhook-secret_1"
CHAT = 5123456789


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def app_client(platform_settings: Any, tg: FakeTelegram, aiohttp_client: Any) -> Any:
    s = platform_settings.with_(telegram_token=TOKEN, telegram_secret=SECRET, telegram_api_base=tg.url,
                                telegram_bot_username="hailong_test_bot", send_backoff_seconds=0.0,
                                send_user_pacing=False)
    return await aiohttp_client(create_app(s, background=False))


def markup(params: dict[str, Any]) -> dict[str, Any]:
    m = params.get("reply_markup")
    return json.loads(m) if isinstance(m, str) else (m or {})


def buttons(params: dict[str, Any]) -> list[str]:
    return [b["callback_data"] for row in markup(params).get("inline_keyboard", []) for b in row]


def text_of(params: dict[str, Any]) -> str:
    return params.get("text", "")


async def post(client: Any, update: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    resp = await client.post("/webhooks/telegram", json=update, headers=headers)
    return resp.status


def sayer(client: Any, tg: FakeTelegram, chat: int = CHAT) -> Any:
    async def say(answer: str, button: bool = False) -> list[dict[str, Any]]:
        before = len(tg.delivered)
        update = callback_update(chat, answer) if button else text_update(chat, answer)
        assert await post(client, update) == 200
        await settle(client.app)
        return tg.delivered[before:]
    return say


async def count(app: Any, table: Any, *where: Any) -> int:
    async with app[SERVICES].engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


async def test_a_full_sipas_survey_over_telegram(app_client: Any, tg: FakeTelegram) -> None:
    await run_survey(app_client.app, "telegram", str(CHAT), "sipas", sayer(app_client, tg), buttons, text_of)
    assert await count(app_client.app, responses, responses.c.disposition == "completed",
                       responses.c.channel == "telegram") == 1
    assert all(len(d.encode()) <= 64 for p in tg.delivered for d in buttons(p))
    await tg.answered.until(1)  # button taps are answered (the spinner stops)


async def test_start_link_binds_the_invitation(app_client: Any, tg: FakeTelegram) -> None:
    services = app_client.app[SERVICES]
    [code] = await create_invitations(services, flow_id="par_index", unit="p.hue")
    link = invitation_links(services.settings.with_(telegram_bot_username="hailong_test_bot"), code)["telegram"]
    assert link == f"https://t.me/hailong_test_bot?start={code}"
    assert await post(app_client, text_update(CHAT, f"/start {code}")) == 200
    await settle(app_client.app)
    rid = await services.conversation.respondent_id("telegram", str(CHAT))
    assert (await services.conversation.flow_state(rid))["flow"] == "par_index"


async def test_wrong_or_missing_secret_is_refused_and_stores_nothing(app_client: Any, tg: FakeTelegram) -> None:
    assert await post(app_client, text_update(CHAT, "sipas"), secret="wrong") == 401
    assert await post(app_client, text_update(CHAT, "sipas"), secret=None) == 401
    await settle(app_client.app)
    assert await count(app_client.app, inbox) == 0 and tg.delivered == []


async def test_the_same_update_three_times_stores_one_answer(app_client: Any, tg: FakeTelegram) -> None:
    say = sayer(app_client, tg)
    await say("sipas")
    await say("c:yes", button=True)
    update = text_update(CHAT, "ha noi")
    for _ in range(3):
        assert await post(app_client, update) == 200
    await settle(app_client.app)
    assert await count(app_client.app, answers) == 1


async def test_a_photo_gets_a_polite_request_for_text(app_client: Any, tg: FakeTelegram) -> None:
    await sayer(app_client, tg)("sipas")
    before = len(tg.delivered)
    assert await post(app_client, photo_update(CHAT)) == 200
    await settle(app_client.app)
    replies = [text_of(p) for p in tg.delivered[before:]]
    assert replies and "bằng chữ hoặc bấm nút" in replies[0]
    assert len(replies) == 2  # then the question again


async def test_429_with_retry_after_is_retried_and_delivered_once(app_client: Any, tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", 429, retry_after=30)
    tg.fail_next("sendMessage", 500)
    assert await sayer(app_client, tg)("sipas") == []  # Telegram said: not before 30 s
    async with app_client.app[SERVICES].engine.connect() as conn:
        due = (await conn.execute(select(outbox.c.next_attempt_at).where(outbox.c.seq == 1))).scalar_one()
    now = datetime.now(timezone.utc)
    assert (due if due.tzinfo else due.replace(tzinfo=timezone.utc)) >= now + timedelta(seconds=25)
    sender = app_client.app[SENDER]
    sender.clock = lambda: datetime.now(timezone.utc) + timedelta(seconds=60)  # a minute later
    await sender.send_due()
    sent = tg.delivered
    assert sent and len(tg.sent) == len(sent) + 2
    assert await count(app_client.app, outbox, outbox.c.status == "sent") == len(sent)


async def test_a_blocked_bot_fails_visibly(app_client: Any, tg: FakeTelegram) -> None:
    tg.blocked.add(str(CHAT))
    await sayer(app_client, tg)("sipas")
    failed = await app_client.app[SENDER].repo.failed()
    assert failed and failed[0]["channel"] == "telegram"

