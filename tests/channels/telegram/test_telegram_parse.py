"""Webhook updates → Inbound: private chats only, /start deep links, buttons, media, blocking."""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from telegram import Bot

from bot.messages import Choice, InputSpec, Inbound, Outbound
from channels.telegram import (TelegramParseError, callback_query_id, decode_callback, parse_body, parse_update,
                               render)
from fakes.telegram import (TOKEN, blocked_update, callback_update, message_update, photo_update,
                            text_update)

CHAT = 5_123_456_789  # user ids exceed 32 bits


def one(update: dict[str, Any]) -> Inbound:
    inbounds = parse_update(update)
    assert len(inbounds) == 1, inbounds
    return inbounds[0]


def keyboard(outbound: Outbound) -> list[dict[str, str]]:
    payload = render(outbound)[-1]
    return [b for row in payload["reply_markup"]["inline_keyboard"] for b in row]


def test_text_message() -> None:
    inbound = one(text_update(CHAT, "Hài lòng", update_id=900))
    assert inbound == Inbound(channel="telegram", respondent_key=str(CHAT), kind="text", text="Hài lòng",
                              message_id="telegram:900", raw={"update_id": 900})


def test_start_with_invitation_payload() -> None:
    inbound = one(text_update(CHAT, "/start AB3K-9x_Z", update_id=901))
    assert (inbound.kind, inbound.invitation, inbound.respondent_key) == ("start", "AB3K-9x_Z", str(CHAT))
    assert inbound.message_id == "telegram:901"


def test_start_alone() -> None:
    inbound = one(text_update(CHAT, "/start"))
    assert (inbound.kind, inbound.invitation) == ("start", None)


def test_start_addressed_to_the_bot_by_name() -> None:
    assert one(text_update(CHAT, "/start@hailong_bot CODE42")).invitation == "CODE42"


def test_longest_payload_is_kept() -> None:
    assert one(text_update(CHAT, "/start " + "a" * 64)).invitation == "a" * 64


@pytest.mark.parametrize("text", ["/start " + "a" * 65, "/start mã mời", "/start two words", "/start a+b"])
def test_start_with_a_payload_telegram_would_never_send_starts_without_invitation(text: str) -> None:
    inbound = one(text_update(CHAT, text))
    assert (inbound.kind, inbound.invitation, inbound.text) == ("start", None, text)


@pytest.mark.parametrize("text", ["/startx", "start ABC", "/help", "/menu"])
def test_other_commands_are_text(text: str) -> None:
    inbound = one(text_update(CHAT, text))
    assert (inbound.kind, inbound.text) == ("text", text)


def test_callback_query_round_trips_the_rendered_choice_id() -> None:
    choices = (Choice("1", "Rất không hài lòng"), Choice("5", "Rất hài lòng"), Choice("_skip", "Bỏ qua"),
               Choice("flow:one_stop_rating", "Đánh giá bộ phận một cửa"))
    for button, choice in zip(keyboard(Outbound("Bạn hài lòng không?", InputSpec("choice", choices))), choices):
        inbound = one(callback_update(CHAT, button["callback_data"], update_id=902, query_id="q-77"))
        assert (inbound.kind, inbound.choice, inbound.respondent_key) == ("choice", choice.id, str(CHAT))
        assert inbound.raw["callback_query_id"] == "q-77"
        assert inbound.message_id == "telegram:902"


def test_callback_without_the_message_uses_the_user_id() -> None:
    update = callback_update(CHAT, "c:yes", with_message=False)
    assert one(update).respondent_key == str(CHAT)


def test_hashed_callback_becomes_the_tapped_button_title() -> None:
    long_id = "ý_kiến_về_thủ_tục_đăng_ký_kinh_doanh_và_cấp_giấy_phép_xây_dựng"
    choices = (Choice(long_id, "Thủ tục kinh doanh"), Choice("other", "Khác"))
    rendered = render(Outbound("Lĩnh vực?", InputSpec("choice", choices)))[-1]
    data = rendered["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert data.startswith("h:")
    message = {"message_id": 9, "chat": {"id": CHAT, "type": "private"}, "date": 1_717_200_000,
               "text": rendered["text"], "reply_markup": rendered["reply_markup"]}
    inbound = one(callback_update(CHAT, data, message=message))
    assert (inbound.kind, inbound.text, inbound.raw["callback_data"]) == ("text", "Thủ tục kinh doanh", data)


def test_hashed_callback_without_the_keyboard_is_left_for_decode_callback() -> None:
    long_id = "lựa_chọn_" * 8
    choices = (Choice(long_id, "Một"), Choice("b", "Hai"))
    data = keyboard(Outbound("?", InputSpec("choice", choices)))[0]["callback_data"]
    inbound = one(callback_update(CHAT, data))
    assert (inbound.kind, inbound.choice) == ("choice", data)
    assert decode_callback(inbound.choice, choices) == long_id


def test_foreign_callback_data_is_passed_through() -> None:
    inbound = one(callback_update(CHAT, "something-else"))
    assert (inbound.kind, inbound.choice) == ("choice", "something-else")


@pytest.mark.parametrize("media", [
    {"photo": [{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}]},
    {"sticker": {"file_id": "a", "file_unique_id": "b", "type": "regular", "width": 512, "height": 512,
                 "is_animated": False, "is_video": False}},
    {"document": {"file_id": "a", "file_unique_id": "b", "file_name": "don.pdf"}},
    {"voice": {"file_id": "a", "file_unique_id": "b", "duration": 3}},
    {"video": {"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1, "duration": 2}},
    {"location": {"latitude": 21.0285, "longitude": 105.8542}},
    {"contact": {"phone_number": "+84901234567", "first_name": "Lan"}},
])
def test_media_messages(media: dict[str, Any]) -> None:
    inbound = one(message_update(CHAT, media))
    assert (inbound.kind, inbound.text, inbound.raw["media"]) == ("media", "", next(iter(media)))


def test_media_caption_is_the_text() -> None:
    inbound = one(photo_update(CHAT, caption="ảnh hồ sơ"))
    assert (inbound.kind, inbound.text) == ("media", "ảnh hồ sơ")


def test_service_message_is_ignored() -> None:
    assert parse_update(message_update(CHAT, {"pinned_message": {"message_id": 1, "date": 0,
                                                                "chat": {"id": CHAT, "type": "private"}}})) == []


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
def test_non_private_chats_are_ignored(chat_type: str) -> None:
    assert parse_update(text_update(-1001234567890, "/start ABC", chat_type=chat_type, user_id=CHAT)) == []


def test_group_callback_is_ignored_but_can_still_be_answered() -> None:
    update = callback_update(-100123, "c:yes", chat_type="group", query_id="q-group")
    assert parse_update(update) == []
    assert callback_query_id(update) == "q-group"
    assert callback_query_id(text_update(CHAT, "hi")) is None
    assert callback_query_id("not an update") is None


def test_channel_posts_and_other_update_types_are_ignored() -> None:
    post = text_update(-100777, "tin", chat_type="channel")
    assert parse_update({"update_id": 5, "channel_post": post["message"]}) == []
    assert parse_update({"update_id": 6, "inline_query": {"id": "1", "from": {"id": 1, "is_bot": False,
                                                                              "first_name": "A"},
                                                          "query": "", "offset": ""}}) == []
    assert parse_update({"update_id": 7}) == []


def test_edited_message_is_ignored() -> None:
    update = text_update(CHAT, "sửa")
    update["edited_message"] = update.pop("message") | {"edit_date": 1_717_200_100}
    assert parse_update(update) == []


def test_blocking_the_bot_is_an_unfollow_event() -> None:
    inbound = one(blocked_update(CHAT, update_id=950))
    assert (inbound.kind, inbound.text, inbound.respondent_key, inbound.message_id) == (
        "event", "unfollow", str(CHAT), "telegram:950")


def test_unblocking_is_ignored() -> None:
    assert parse_update(blocked_update(CHAT, blocked=False)) == []


def test_a_bot_can_be_attached() -> None:
    bot = Bot(TOKEN, base_url="http://127.0.0.1:9/bot")  # never contacted: parsing makes no request
    assert one(text_update(CHAT, "xin chào")).text == parse_update(text_update(CHAT, "xin chào"), bot)[0].text


def test_the_input_dict_is_not_modified() -> None:
    update = callback_update(CHAT, "c:yes")
    before = copy.deepcopy(update)
    parse_update(update)
    assert update == before


def _without(update: dict[str, Any], *path: str) -> dict[str, Any]:
    node = update
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return update


def _with(update: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    node = update
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return update


@pytest.mark.parametrize("update, message", [
    ([1, 2], "update: expected a JSON object, got array"),
    ({}, "update: 'update_id' must be an integer, got nothing (missing)"),
    ({"update_id": "1"}, "update: 'update_id' must be an integer, got string"),
    ({"update_id": True}, "update: 'update_id' must be an integer, got boolean"),
    ({"update_id": 3, "message": "hi"}, "update 3: 'message' must be an object, got string"),
    (_without(text_update(CHAT, "x", update_id=4), "message", "chat"),
     "update 4: message: 'chat' must be an object, got nothing (missing)"),
    (_with(text_update(CHAT, "x", update_id=5), "5123", "message", "chat", "id"),
     "update 5: message.chat: 'id' must be an integer, got string"),
    (_with(text_update(CHAT, "x", update_id=6), 42, "message", "text"),
     "update 6: message: 'text' must be a string, got number"),
    (_without(text_update(CHAT, "x", update_id=7), "message", "date"),
     "update 7: message: 'date' must be an integer, got nothing (missing)"),
    (_without(callback_update(CHAT, "c:1", update_id=8), "callback_query", "id"),
     "update 8: callback_query: 'id' must be a string, got nothing (missing)"),
    (_with(callback_update(CHAT, "c:1", update_id=9), None, "callback_query", "from"),
     "update 9: callback_query: 'from' must be an object, got null"),
    (_with(blocked_update(CHAT, update_id=10), 1, "my_chat_member", "new_chat_member", "status"),
     "update 10: my_chat_member.new_chat_member: 'status' must be a string, got number"),
])
def test_malformed_updates_say_what_is_wrong(update: Any, message: str) -> None:
    with pytest.raises(TelegramParseError) as info:
        parse_update(update)
    assert str(info.value) == message


def test_shapes_ptb_rejects_are_parse_errors() -> None:
    update = _without(callback_update(CHAT, "c:1", update_id=11), "callback_query", "chat_instance")
    with pytest.raises(TelegramParseError, match=r"^update 11: not a valid Telegram Update \(TypeError: .*chat_instance"):
        parse_update(update)


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(TelegramParseError, ValueError)


def test_parse_body_reads_the_raw_webhook_bytes() -> None:
    body = json.dumps(text_update(CHAT, "Có", update_id=990), ensure_ascii=False).encode("utf-8")
    assert parse_body(body)[0].text == "Có"


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe", b"[1]", b"null"])
def test_parse_body_rejects_what_is_not_an_update(body: bytes) -> None:
    with pytest.raises(TelegramParseError):
        parse_body(body)
