"""Webhook bodies as Meta sends them, turned into Inbound messages (or rejected precisely)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from channels.messenger import MessengerParseError, parse_webhook

PAGE = "106000000000001"
ALICE = "6780462125377510"
BOB = "7012345678901234"


def item(sender: str = ALICE, timestamp: int = 1701427704837, **event: Any) -> dict[str, Any]:
    return {"sender": {"id": sender}, "recipient": {"id": PAGE}, "timestamp": timestamp, **event}


def body(*entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [{"id": PAGE, "time": 1701427705708, "messaging": messaging} for messaging in entries],
    }


def test_batched_entries_yield_every_item_in_order() -> None:
    raw = json.dumps(
        body(
            [
                item(message={"mid": "m_1", "text": "xin chào"}),
                item(sender=BOB, message={"mid": "m_2", "text": "chào"}),
            ],
            [
                item(timestamp=1701427709999, message={"mid": "m_3", "text": "25"}),
                item(delivery={"mids": ["m_x"], "watermark": 1701427700000}),
                item(sender=BOB, message={"mid": "m_4", "quick_reply": {"payload": "c2"}, "text": "Không"}),
            ],
        )
    ).encode()
    got = parse_webhook(raw)
    assert [(m.respondent_key, m.message_id) for m in got] == [
        (ALICE, "messenger:m_1"),
        (BOB, "messenger:m_2"),
        (ALICE, "messenger:m_3"),
        (BOB, "messenger:m_4"),
    ]
    assert all(m.channel == "messenger" for m in got)
    assert got[0].kind == "text" and got[0].text == "xin chào"
    assert got[2].raw == {"timestamp_ms": 1701427709999}


def test_quick_reply_payload_is_read_before_the_text_title() -> None:
    [inbound] = parse_webhook(body([item(message={"mid": "m_9", "text": "Rất hài lòng", "quick_reply": {"payload": "q1.very_satisfied"}})]))
    assert inbound.kind == "choice"
    assert inbound.choice == "q1.very_satisfied"
    assert inbound.text == "Rất hài lòng"
    assert inbound.message_id == "messenger:m_9"


def test_postback_is_a_choice_with_its_payload() -> None:
    [inbound] = parse_webhook(
        body([item(postback={"mid": "m_pb1", "title": "Có", "payload": "yes"})])
    )
    assert (inbound.kind, inbound.choice, inbound.text) == ("choice", "yes", "Có")
    assert inbound.message_id == "messenger:m_pb1"


def test_postback_without_mid_gets_a_stable_id_from_sender_and_time() -> None:
    [inbound] = parse_webhook(body([item(timestamp=1527459824000, postback={"title": "Có", "payload": "yes"})]))
    assert inbound.message_id == f"messenger:pb:{ALICE}:1527459824000"


def test_get_started_postback_starts_without_invitation() -> None:
    [inbound] = parse_webhook(body([item(postback={"mid": "m_gs", "title": "Bắt đầu", "payload": "GET_STARTED"})]))
    assert inbound.kind == "start" and inbound.invitation is None and inbound.choice is None
    [custom] = parse_webhook(body([item(postback={"title": "Go", "payload": "BEGIN"})]), start_payloads={"BEGIN"})
    assert custom.kind == "start"


def test_postback_referral_of_a_new_thread_starts_with_the_invitation() -> None:
    [inbound] = parse_webhook(
        body(
            [
                item(
                    postback={
                        "mid": "m_new",
                        "title": "Get Started",
                        "payload": "GET_STARTED",
                        "referral": {"ref": "INV-7Q2K", "source": "SHORTLINK", "type": "OPEN_THREAD"},
                    }
                )
            ]
        )
    )
    assert inbound.kind == "start"
    assert inbound.invitation == "INV-7Q2K"
    assert inbound.message_id == "messenger:m_new"
    assert inbound.raw["referral_source"] == "SHORTLINK"


def test_referral_event_of_an_existing_thread_starts_with_the_invitation() -> None:
    [inbound] = parse_webhook(
        body([item(timestamp=1458692752478, referral={"ref": "INV-9ZZ", "source": "SHORTLINK", "type": "OPEN_THREAD"})])
    )
    assert inbound.kind == "start"
    assert inbound.invitation == "INV-9ZZ"
    assert inbound.respondent_key == ALICE
    assert inbound.message_id == f"messenger:ref:{ALICE}:1458692752478"
    assert inbound.raw["timestamp_ms"] == 1458692752478


def test_referral_without_ref_is_ignored() -> None:
    assert parse_webhook(body([item(referral={"source": "SHORTLINK", "type": "OPEN_THREAD"})])) == []


def test_echoes_delivery_and_read_receipts_are_ignored() -> None:
    got = parse_webhook(
        body(
            [
                item(sender=PAGE, message={"mid": "m_echo", "is_echo": True, "app_id": 1517776481860111, "text": "Câu 1"}),
                item(delivery={"mids": ["m_echo"], "watermark": 1458668856253}),
                item(read={"watermark": 1458668856253}),
                item(reaction={"mid": "m_1", "action": "react", "reaction": "love"}),
            ]
        )
    )
    assert got == []


@pytest.mark.parametrize("kind", ["image", "sticker", "audio", "video", "file"])
def test_attachments_are_media(kind: str) -> None:
    url = f"https://scontent.example/{kind}.bin"
    [inbound] = parse_webhook(
        body([item(message={"mid": "m_a", "attachments": [{"type": kind, "payload": {"url": url}}]})])
    )
    assert inbound.kind == "media"
    assert inbound.message_id == "messenger:m_a"
    assert inbound.raw["attachments"] == [{"type": kind, "url": url}]


def test_location_is_media_with_coordinates() -> None:
    attachment = {"type": "location", "payload": {"coordinates": {"lat": 21.0285, "long": 105.8542}}}
    [inbound] = parse_webhook(body([item(message={"mid": "m_loc", "attachments": [attachment]})]))
    assert inbound.kind == "media"
    assert inbound.raw["attachments"] == [{"type": "location", "coordinates": {"lat": 21.0285, "long": 105.8542}}]


def test_ids_sent_as_numbers_and_string_timestamps_are_normalised() -> None:
    raw = body([{"sender": {"id": 6780462125377510}, "recipient": {"id": PAGE}, "timestamp": "1701427704837",
                 "message": {"mid": "m_n", "text": "ok"}}])
    [inbound] = parse_webhook(raw)
    assert inbound.respondent_key == "6780462125377510"
    assert inbound.raw == {"timestamp_ms": 1701427704837}


def test_entries_without_messaging_are_skipped() -> None:
    assert parse_webhook({"object": "page", "entry": [{"id": PAGE, "time": 1, "standby": []}]}) == []


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"\xff\xfe\x00", "body is not valid JSON"),
        (b"[]", "body must be a JSON object"),
        ({"object": "instagram", "entry": []}, "object must be 'page'"),
        ({"object": "page"}, "entry must be a list"),
        ({"object": "page", "entry": ["x"]}, "entry[0] must be an object"),
        ({"object": "page", "entry": [{"messaging": {}}]}, "entry[0].messaging must be a list"),
        ({"object": "page", "entry": [{"messaging": [1]}]}, "entry[0].messaging[0] must be an object"),
        (body([{"message": {"mid": "m", "text": "t"}, "timestamp": 1}]), "entry[0].messaging[0].sender must be an object"),
        (body([{"sender": {}, "message": {"mid": "m", "text": "t"}, "timestamp": 1}]), "sender.id is required"),
        (body([{"sender": {"id": ALICE}, "message": {"mid": "m", "text": "t"}}]), "timestamp must be an integer"),
        (body([item(message={"text": "no mid"})]), "entry[0].messaging[0].message.mid is required"),
        (body([item(message="hello")]), "entry[0].messaging[0].message must be an object"),
        (body([item(message={"mid": "m", "quick_reply": {}})]), "message.quick_reply.payload is required"),
        (body([item(message={"mid": "m", "text": 5})]), "message.text must be a string"),
        (body([item(message={"mid": "m", "attachments": []})]), "message.attachments must be a non-empty list"),
        (body([item(postback={"title": "x"})]), "entry[0].messaging[0].postback.payload is required"),
        (body([], [item(referral={"ref": 7})]), "entry[1].messaging[0].referral.ref must be a string"),
    ],
)
def test_malformed_bodies_raise_a_precise_parse_error(payload: Any, complaint: str) -> None:
    with pytest.raises(MessengerParseError) as caught:
        parse_webhook(payload)
    assert complaint in str(caught.value)
    assert isinstance(caught.value, ValueError)
