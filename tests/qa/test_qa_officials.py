"""An official's answer goes back to the chat the question came from and can join the knowledge base."""
from __future__ import annotations

from typing import Any, AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import SERVICES, create_app
from bot.nlu.kb import import_file
from bot.qa import TicketError, answer_ticket, list_tickets
from bot.services import Services
from bot.settings import REPO_ROOT
from bot.store.tables import qa_tickets
from channels.platforms import SENDER
from fakes.telegram import TOKEN, FakeTelegram, callback_update, text_update

QUESTION = "Tôi muốn hỏi về chế độ trợ cấp cho người nuôi ong ở vùng cao?"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def app(settings: Any, services: Services, tg: FakeTelegram, aiohttp_client: Any) -> Any:
    await import_file(services.engine, REPO_ROOT / "nlu_data" / "kb" / "seed.jsonl")
    s = settings.with_(telegram_token=TOKEN, telegram_secret="secret_1", telegram_api_base=tg.url,
                       send_backoff_seconds=0.0, send_user_pacing=False)
    client = await aiohttp_client(create_app(s, background=False))
    return client


async def say(client: Any, update: dict[str, Any]) -> None:
    resp = await client.post("/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "secret_1"})
    assert resp.status == 200
    await client.app[SERVICES].inbox.drain()
    await client.app[SENDER].send_due()


async def forward(client: Any, tg: FakeTelegram, chat: int, text: str) -> str:
    await say(client, text_update(chat, text))
    last = tg.delivered[-1]
    if "kb:_none" in str(last.get("reply_markup")):
        await say(client, callback_update(chat, "c:kb:_none"))
    [ticket] = await list_tickets(client.app[SERVICES])
    return ticket["id"]


async def test_the_answer_reaches_the_same_chat_and_is_published(app: Any, tg: FakeTelegram) -> None:
    services = app.app[SERVICES]
    ticket = await forward(app, tg, 7001, QUESTION)
    assert "chuyển đến cán bộ" in tg.delivered[-1]["text"]
    before = len(tg.delivered)
    done = await answer_ticket(services, ticket, "Theo quy định hiện hành, Ông/Bà liên hệ phòng nông nghiệp cấp xã.",
                               publish=True)
    await app.app[SENDER].send_due()
    got = [p["text"] for p in tg.delivered[before:]]
    assert "đã trả lời câu hỏi" in got[0] and "phòng nông nghiệp" in got[1]
    assert all(str(d["chat_id"]) == "7001" for d in tg.delivered[before:])
    assert done.kb_id == f"q.{ticket}"
    # the next citizen asking the same gets the answer at once, nothing forwarded
    await say(app, text_update(7002, QUESTION))
    assert "phòng nông nghiệp" in tg.delivered[-2]["text"]
    assert len(await list_tickets(services, status="open")) == 0


async def test_a_ticket_is_answered_once_and_only_within_scope(app: Any, tg: FakeTelegram) -> None:
    services = app.app[SERVICES]
    ticket = await forward(app, tg, 7003, QUESTION)
    with pytest.raises(TicketError):
        await answer_ticket(services, ticket, "x", scope={"p.hue"})  # another province's official
    assert await list_tickets(services, scope={"p.hue"}) == []
    await answer_ticket(services, ticket, "Trả lời.")
    with pytest.raises(TicketError):
        await answer_ticket(services, ticket, "Trả lời lần hai.")
    async with services.engine.connect() as conn:
        assert (await conn.execute(select(qa_tickets.c.status))).scalar_one() == "answered"
