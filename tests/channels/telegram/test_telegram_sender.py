"""TelegramSender against the fake Bot API: every ptb outcome maps to the right SendResult."""
from __future__ import annotations

from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from telegram import Bot
from telegram.error import InvalidToken

from bot.messages import Choice, InputSpec, Outbound
from bot.store.outbox_repo import Contact
from channels.delivery import SendResult
from channels.telegram import TelegramSender, callback_query_id, parse_update, render, verify
from channels.telegram.channel import TelegramChannel
from fakes.telegram import TOKEN, FakeTelegram, callback_update, text_update

CHAT = "5123456789"
SCALE = (Choice("1", "Rất không hài lòng"), Choice("2", "Không hài lòng"), Choice("3", "Bình thường"),
         Choice("4", "Hài lòng"), Choice("5", "Rất hài lòng"))
QUESTION = Outbound("Câu 1/10\nBạn hài lòng với thái độ của cán bộ?", InputSpec("choice", SCALE))


async def test_start_checks_the_token_with_get_me(fake: FakeTelegram, sender: TelegramSender) -> None:
    assert [c.method for c in fake.calls] == ["getMe"]
    assert sender.bot.username == "hailong_test_bot"


async def test_send_success_carries_our_keyboard(fake: FakeTelegram, sender: TelegramSender) -> None:
    [payload] = render(QUESTION)
    result = await sender.send(CHAT, payload)
    assert result == SendResult.sent("1")
    [call] = fake.calls_to("sendMessage")
    assert call.content_type == "application/x-www-form-urlencoded"  # ptb's way; reply_markup a JSON string
    assert call.params["chat_id"] == CHAT and call.params["text"] == QUESTION.text
    data = [b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row]
    assert data == ["c:1", "c:2", "c:3", "c:4", "c:5"]
    assert (await sender.send(CHAT, {"text": "Cảm ơn"})).platform_message_id == "2"


async def test_a_long_question_is_accepted_piece_by_piece(fake: FakeTelegram, sender: TelegramSender) -> None:
    out = Outbound("Thủ tục hành chính được niêm yết công khai, đầy đủ. " * 200, InputSpec("choice", SCALE))
    results = [await sender.send(CHAT, p) for p in render(out)]
    assert [r.status for r in results] == ["sent"] * len(results) and len(results) == 3
    assert ["reply_markup" in p for p in fake.sent] == [False, False, True]


@pytest.mark.parametrize("timedelta_mode", [False, True])
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_is_retry_after_3(fake: FakeTelegram, sender: TelegramSender, timedelta_mode: bool,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if timedelta_mode:
        monkeypatch.setenv("PTB_TIMEDELTA", "true")
    else:
        monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    fake.fail_next("sendMessage", 429)
    result = await sender.send(CHAT, {"text": "x"})
    assert (result.status, result.retry_after) == ("retry", 3.0)
    assert (await sender.send(CHAT, {"text": "x"})).status == "sent"


async def test_429_without_retry_after_is_still_retry(fake: FakeTelegram, sender: TelegramSender) -> None:
    fake.fail_next("sendMessage", 429, retry_after=0)
    result = await sender.send(CHAT, {"text": "x"})
    assert (result.status, result.retry_after) == ("retry", None)


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_are_retry(fake: FakeTelegram, sender: TelegramSender, status: int) -> None:
    fake.fail_next("sendMessage", status)
    result = await sender.send(CHAT, {"text": "x"})
    assert result.status == "retry" and result.error


async def test_timeout_is_retry(fake: FakeTelegram) -> None:
    release = fake.hang_next("sendMessage")
    async with TelegramSender(TOKEN, base_url=fake.base_url, read_timeout=0.1) as quick:
        result = await quick.send(CHAT, {"text": "x"})
        assert result.status == "retry" and "timed out" in (result.error or "")
        release.set()
        assert (await quick.send(CHAT, {"text": "y"})).status == "sent"


async def test_unreachable_api_is_retry() -> None:
    server = await FakeTelegram().start()
    base_url = server.base_url
    await server.close()  # nothing listens on the port any more
    sender = TelegramSender(TOKEN, base_url=base_url, connect_timeout=2.0)
    try:
        result = await sender.send(CHAT, {"text": "x"})
    finally:
        await sender.close()
    assert result.status == "retry" and "network error" in (result.error or "")


async def test_blocked_bot_is_failed(fake: FakeTelegram, sender: TelegramSender) -> None:
    fake.fail_next("sendMessage", 403)
    result = await sender.send(CHAT, {"text": "x"})
    assert result.status == "failed" and "bot was blocked by the user" in (result.error or "")
    fake.blocked.add(CHAT)
    assert (await sender.send(CHAT, {"text": "x"})).status == "failed"


async def test_bad_request_is_failed_with_the_message(fake: FakeTelegram, sender: TelegramSender) -> None:
    fake.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    result = await sender.send(CHAT, {"text": "x"})
    assert result.status == "failed" and "chat not found" in (result.error or "").lower()


async def test_callback_data_over_64_bytes_would_be_refused(fake: FakeTelegram, sender: TelegramSender) -> None:
    markup = {"inline_keyboard": [[{"text": "Có", "callback_data": "c:" + "ý" * 32}]]}
    result = await sender.send(CHAT, {"text": "?", "reply_markup": markup})
    assert result.status == "failed" and "button_data_invalid" in (result.error or "").lower()


@pytest.mark.parametrize("payload", [{}, {"text": ""}, {"text": "x", "parse_mode": "HTML"},
                                     {"text": "x", "reply_markup": "[]"}, {"text": "x", "reply_markup": {}}])
async def test_bad_payload_is_failed_without_a_request(fake: FakeTelegram, sender: TelegramSender,
                                                       payload: dict) -> None:
    result = await sender.send(CHAT, payload)
    assert result.status == "failed" and (result.error or "").startswith("bad payload")
    assert fake.calls_to("sendMessage") == []


async def test_unknown_token(fake: FakeTelegram) -> None:
    bad = TelegramSender("999:not-a-token", base_url=fake.base_url)
    with pytest.raises(InvalidToken):
        await bad.start()
    assert (await bad.send(CHAT, {"text": "x"})).status == "failed"
    await bad.close()


async def test_answer_callback(fake: FakeTelegram, sender: TelegramSender) -> None:
    assert await sender.answer_callback("4382bfdwdsb323b2d9") is True
    assert fake.calls_to("answerCallbackQuery")[0].params == {"callback_query_id": "4382bfdwdsb323b2d9"}


async def test_answer_callback_never_raises(fake: FakeTelegram, sender: TelegramSender) -> None:
    fake.fail_next("answerCallbackQuery", 400, description="Bad Request: query is too old")
    assert await sender.answer_callback("old") is False
    fake.fail_next("answerCallbackQuery", 500)
    assert await sender.answer_callback("q") is False


async def test_set_webhook(fake: FakeTelegram, sender: TelegramSender) -> None:
    assert await sender.set_webhook("https://khaosat.example.vn/telegram/webhook", "hook_Secret-1")
    assert fake.webhook["url"] == "https://khaosat.example.vn/telegram/webhook"
    assert fake.webhook["secret_token"] == "hook_Secret-1"
    assert fake.webhook["allowed_updates"] == ["message", "edited_message", "callback_query", "my_chat_member"]


async def test_set_webhook_refuses_a_secret_telegram_would_reject(fake: FakeTelegram, sender: TelegramSender) -> None:
    with pytest.raises(ValueError):
        await sender.set_webhook("https://example.vn/hook", "bad secret!")
    assert fake.calls_to("setWebhook") == []


async def test_a_borrowed_bot_is_not_shut_down(fake: FakeTelegram) -> None:
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        async with TelegramSender(bot=bot) as borrowed:
            assert (await borrowed.send(CHAT, {"text": "x"})).status == "sent"
        assert (await TelegramSender(bot=bot).send(CHAT, {"text": "still open"})).status == "sent"
    with pytest.raises(ValueError):
        TelegramSender()


@pytest.fixture
async def webhook(fake: FakeTelegram) -> AsyncIterator[tuple[str, list]]:
    """A webhook endpoint wired the way the integrator will: verify, answer callbacks, parse."""
    secret = "hook_Secret-1"
    received: list = []
    answerer = TelegramSender(TOKEN, base_url=fake.base_url)

    async def handle(request: web.Request) -> web.Response:
        if not verify(request.headers, secret):
            return web.Response(status=401)
        data = await request.json()
        query_id = callback_query_id(data)
        if query_id:
            await answerer.answer_callback(query_id)
        received.extend(parse_update(data))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/telegram/webhook", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/telegram/webhook"))
    await answerer.set_webhook(url, secret)
    yield url, received
    await server.close()
    await answerer.close()


async def test_updates_delivered_to_the_webhook(fake: FakeTelegram, webhook: tuple[str, list]) -> None:
    url, received = webhook
    assert await fake.deliver(text_update(int(CHAT), "/start INV12345", update_id=1)) == (200, "ok")
    assert await fake.deliver(callback_update(int(CHAT), "c:4", update_id=2, query_id="cq-1")) == (200, "ok")
    assert (await fake.deliver(text_update(int(CHAT), "x"), secret_token="wrong"))[0] == 401
    assert [(i.kind, i.invitation, i.choice, i.message_id) for i in received] == [
        ("start", "INV12345", None, "telegram:1"), ("choice", None, "4", "telegram:2")]
    assert [c.params["callback_query_id"] for c in fake.calls_to("answerCallbackQuery")] == ["cq-1"]


async def test_as_a_platform_channel(fake: FakeTelegram, sender: TelegramSender) -> None:
    channel = TelegramChannel(sender)
    contact = Contact(respondent_id="r1", address=CHAT, last_inbound_at=None, reply_token=None)
    payloads = channel.render(QUESTION)
    assert [(await channel.send(contact, p, part=i)).status for i, p in enumerate(payloads)] == ["sent"]
    assert fake.sent[0]["chat_id"] == CHAT
    taps = parse_update(callback_update(int(CHAT), "c:5", query_id="cq-9")) + parse_update(text_update(int(CHAT), "5"))
    await channel.answer_callbacks(taps)
    assert [c.params["callback_query_id"] for c in fake.calls_to("answerCallbackQuery")] == ["cq-9"]
    assert channel.capabilities.max_text == 4096 and channel.pace.per_user == 1.0
