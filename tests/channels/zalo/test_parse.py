"""Webhook events as the core sees them."""
from __future__ import annotations

import json
from typing import Any

import pytest

from channels.zalo import ZaloParseError, button_payload, parse_event

USER = "2468458835296117922"
OA = "4318253617123456789"
APP = "1496501574123456789"


def message_event(event_name: str, message: dict[str, Any], *, user: Any = USER, timestamp: Any = "1741248000123") -> dict[str, Any]:
    return {"app_id": APP, "user_id_by_app": "5510736513123456789", "event_name": event_name,
            "timestamp": timestamp, "sender": {"id": user}, "recipient": {"id": OA}, "message": message}


def as_bytes(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def test_text() -> None:
    [inbound] = parse_event(as_bytes(message_event("user_send_text", {"text": "Có ạ", "msg_id": "cb31dff1c39642cc1b83"})))
    assert inbound.channel == "zalo"
    assert inbound.respondent_key == USER
    assert inbound.kind == "text"
    assert inbound.text == "Có ạ"
    assert inbound.message_id == "zalo:cb31dff1c39642cc1b83"
    assert inbound.raw == {"msg_id": "cb31dff1c39642cc1b83", "timestamp_ms": 1741248000123}


def test_ids_sent_as_json_numbers_stay_exact_strings() -> None:
    body = b'{"app_id": 1496501574123456789, "event_name": "user_send_text", "timestamp": 1741248000123, ' \
           b'"sender": {"id": 2468458835296117922}, "recipient": {"id": 4318253617123456789}, ' \
           b'"message": {"text": "2", "msg_id": "a1"}}'
    [inbound] = parse_event(body)
    assert inbound.respondent_key == "2468458835296117922"
    assert inbound.raw == {"msg_id": "a1", "timestamp_ms": 1741248000123}


def test_a_dict_body_is_accepted() -> None:
    [inbound] = parse_event(message_event("user_send_text", {"text": "xin chào", "msg_id": "m1"}))
    assert inbound.text == "xin chào"


def test_hidden_button_press_arrives_as_text_and_becomes_the_choice() -> None:
    event = message_event("user_send_text", {"text": button_payload("q3_yes"), "msg_id": "m2"})
    [inbound] = parse_event(as_bytes(event))
    assert inbound.kind == "choice"
    assert inbound.choice == "q3_yes"
    assert inbound.text == "q3_yes"
    assert inbound.message_id == "zalo:m2"


def test_click_button_event_carries_the_payload() -> None:
    [plain] = parse_event(message_event("user_click_button", {"text": "flow:ksdn", "msg_id": "m3"}))
    [prefixed] = parse_event(message_event("user_click_button", {"text": button_payload("flow:ksdn"), "msg_id": "m4"}))
    assert (plain.kind, plain.choice, plain.text) == ("choice", "flow:ksdn", "flow:ksdn")
    assert (prefixed.kind, prefixed.choice) == ("choice", "flow:ksdn")


def test_typed_text_that_only_looks_like_a_prefix_stays_text() -> None:
    [inbound] = parse_event(message_event("user_send_text", {"text": "choice:", "msg_id": "m5"}))
    assert inbound.kind == "text"


@pytest.mark.parametrize("event_name,attachment", [
    ("user_send_image", {"type": "image", "payload": {"url": "https://f1.example/i.jpg", "thumbnail": "https://f1.example/t.jpg"}}),
    ("user_send_sticker", {"type": "sticker", "payload": {"id": "21794", "url": "https://f1.example/s.png"}}),
    ("user_send_file", {"type": "file", "payload": {"url": "https://f1.example/a.pdf", "name": "a.pdf", "size": "1024", "type": "pdf"}}),
    ("user_send_gif", {"type": "gif", "payload": {"url": "https://f1.example/g.gif", "thumbnail": "https://f1.example/g.jpg"}}),
    ("user_send_audio", {"type": "audio", "payload": {"url": "https://f1.example/v.aac"}}),
    ("user_send_video", {"type": "video", "payload": {"url": "https://f1.example/v.mp4", "thumbnail": "https://f1.example/v.jpg"}}),
    ("user_send_location", {"type": "location", "payload": {"coordinates": {"latitude": "21.0285", "longitude": "105.8542"}}}),
])
def test_media(event_name: str, attachment: dict[str, Any]) -> None:
    event = message_event(event_name, {"msg_id": "m6", "attachments": [attachment]})
    [inbound] = parse_event(as_bytes(event))
    assert (inbound.kind, inbound.text, inbound.respondent_key, inbound.message_id) == ("media", "", USER, "zalo:m6")


def test_image_caption_is_kept_as_text() -> None:
    event = message_event("user_send_image", {"text": "ảnh giấy tờ", "msg_id": "m7",
                                              "attachments": [{"type": "image", "payload": {"url": "https://x/i.jpg"}}]})
    [inbound] = parse_event(event)
    assert (inbound.kind, inbound.text) == ("media", "ảnh giấy tờ")


def test_follow_and_unfollow() -> None:
    for name in ("follow", "unfollow"):
        event = {"app_id": APP, "oa_id": OA, "user_id_by_app": "5510736513123456789", "event_name": name,
                 "timestamp": "1741248000999", "source": "oa_profile", "follower": {"id": USER}}
        [inbound] = parse_event(as_bytes(event))
        assert (inbound.kind, inbound.text, inbound.respondent_key) == ("event", name, USER)
        assert inbound.message_id == f"zalo:{name}:{USER}:1741248000999"
        assert inbound.raw == {"msg_id": None, "timestamp_ms": 1741248000999}


def test_follower_id_as_number() -> None:
    event = {"app_id": APP, "oa_id": OA, "event_name": "follow", "timestamp": 1741248000999,
             "follower": {"id": 2468458835296117922}}
    [inbound] = parse_event(event)
    assert inbound.respondent_key == USER


def test_submit_info_is_an_event_without_the_personal_data() -> None:
    event = {"app_id": APP, "oa_id": OA, "user_id_by_app": "5510736513123456789", "event_name": "user_submit_info",
             "timestamp": "1741248001000", "sender": {"id": USER}, "recipient": {"id": OA},
             "info": {"name": "Nguyễn Văn A", "phone": "84912345678", "address": "1 Tràng Tiền", "city": "Hà Nội",
                      "district": "Hoàn Kiếm", "ward": "Tràng Tiền"}}
    [inbound] = parse_event(as_bytes(event))
    assert (inbound.kind, inbound.text, inbound.respondent_key) == ("event", "submit_info", USER)
    assert "84912345678" not in repr(inbound)


def test_invitation_code_starts_a_survey() -> None:
    codes = {"K7M2Q9XA"}
    [inbound] = parse_event(message_event("user_send_text", {"text": "  K7M2Q9XA ", "msg_id": "m8"}),
                            is_invitation_code=codes.__contains__)
    assert (inbound.kind, inbound.invitation, inbound.text) == ("start", "K7M2Q9XA", "K7M2Q9XA")
    [other] = parse_event(message_event("user_send_text", {"text": "K7M2Q9XB", "msg_id": "m9"}),
                          is_invitation_code=codes.__contains__)
    assert (other.kind, other.invitation) == ("text", None)


def test_without_a_code_test_nothing_is_an_invitation() -> None:
    [inbound] = parse_event(message_event("user_send_text", {"text": "K7M2Q9XA", "msg_id": "m10"}))
    assert inbound.kind == "text"


@pytest.mark.parametrize("event_name", ["oa_send_text", "oa_send_image", "oa_send_list", "oa_send_file"])
def test_echo_of_the_oas_own_messages_is_ignored(event_name: str) -> None:
    event = {"app_id": APP, "event_name": event_name, "timestamp": "1741248000123", "sender": {"id": OA},
             "recipient": {"id": USER}, "message": {"text": "Câu hỏi 1", "msg_id": "m11"}}
    assert parse_event(as_bytes(event)) == []


@pytest.mark.parametrize("event_name", ["user_received_message", "user_seen_message", "anonymous_send_text",
                                        "user_reacted_message", "something_new"])
def test_unknown_events_are_ignored(event_name: str) -> None:
    assert parse_event({"event_name": event_name, "timestamp": "1", "sender": {"id": OA}}) == []


@pytest.mark.parametrize("body,message", [
    (b"", "not valid JSON"),
    (b"{", "not valid JSON"),
    (b"\xff\xfe\x00", "not valid JSON"),
    (b"[]", "must be a JSON object"),
    (b'"user_send_text"', "must be a JSON object"),
    (b"{}", "event_name"),
    (b'{"event_name": 7}', "event_name"),
    (as_bytes({**message_event("user_send_text", {"text": "a", "msg_id": "m"}), "sender": None}), "sender is missing"),
    (as_bytes(message_event("user_send_text", {"text": "a", "msg_id": "m"}, user="")), "sender.id"),
    (as_bytes(message_event("user_send_text", {"text": "a", "msg_id": "m"}, user=1.5e18)), "sender.id"),
    (as_bytes(message_event("user_send_text", {"text": "a", "msg_id": "m"}, user=True)), "sender.id"),
    (as_bytes(message_event("user_send_text", {"text": "a", "msg_id": "m"}, timestamp=None)), "timestamp"),
    (as_bytes(message_event("user_send_text", {"text": "a", "msg_id": "m"}, timestamp="12a")), "timestamp"),
    (as_bytes(message_event("user_send_text", {"text": "a"})), "message.msg_id"),
    (as_bytes(message_event("user_send_text", {"text": "a", "msg_id": ""})), "message.msg_id is empty"),
    (as_bytes(message_event("user_send_text", {"msg_id": "m"})), "message.text"),
    (as_bytes(message_event("user_send_text", {"text": 5, "msg_id": "m"})), "message.text"),
    (as_bytes({k: v for k, v in message_event("user_send_image", {"msg_id": "m"}).items() if k != "message"}), "message is missing"),
    (as_bytes({"event_name": "follow", "timestamp": "1", "oa_id": OA}), "follower is missing"),
])
def test_malformed_bodies_raise_a_precise_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ZaloParseError, match=message):
        parse_event(body)


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(ZaloParseError, ValueError)
