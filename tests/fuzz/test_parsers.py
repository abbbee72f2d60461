"""Every webhook parser, fed well-formed, damaged and random bodies: it returns events the rest of
the system can store, or raises its own parse error, never anything else.

"Storable" matters as much as "no exception": an event whose message id or user id does not fit
the database (``inbox.message_key`` is 160 characters, ``contacts.address`` 100, PostgreSQL text
cannot hold NUL) passes the webhook and then fails for ever inside the inbox. The existing
property tests in tests/channels check the exception contract on random shapes; these add the
damaged-real-event strategy and the storability contract.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.messages import Inbound
from channels.messenger import MessengerParseError, parse_webhook
from channels.telegram import TelegramParseError, parse_body
from channels.zalo import ZaloParseError, parse_event

from .strategies import damaged, deep, encode, json_values, messenger_body, telegram_update, zalo_event

MESSAGE_KEY_MAX = 160  # bot/store/tables.py: inbox.message_key, processed.message_key
ADDRESS_MAX = 100  # contacts.address: where replies go
PARSERS: dict[str, tuple[Callable[[bytes], list[Inbound]], type[Exception]]] = {
    "zalo": (parse_event, ZaloParseError),
    "messenger": (parse_webhook, MessengerParseError),
    "telegram": (parse_body, TelegramParseError),
}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_reject(channel: str, body: bytes) -> list[Inbound] | None:
    """The parsed events, or None when the parser refused the body with its own error."""
    parse, error = PARSERS[channel]
    try:
        events = parse(body)
    except error:
        return None
    for ev in events:
        assert_storable(channel, ev)
    return events


def assert_storable(channel: str, ev: Inbound) -> None:
    assert ev.channel == channel
    assert ev.message_id and len(ev.message_id) <= MESSAGE_KEY_MAX, ev.message_id
    assert "\x00" not in ev.message_id
    assert ev.respondent_key and len(ev.respondent_key) <= ADDRESS_MAX and "\x00" not in ev.respondent_key
    assert ev.kind in ("text", "choice", "start", "media", "event")
    ev.to_json()  # what the inbox records


@FUZZ
@given(zalo_event())
def test_well_formed_zalo_events_parse(event: dict[str, Any]) -> None:
    events = parse_or_reject("zalo", encode(event))
    assert events is not None
    handled = event["event_name"] not in ("oa_send_text", "user_seen_message")
    assert len(events) == (1 if handled else 0)


@FUZZ
@given(messenger_body())
def test_well_formed_messenger_bodies_parse(body: dict[str, Any]) -> None:
    events = parse_or_reject("messenger", encode(body))
    assert events is not None
    actions = [i for i in body["entry"][0]["messaging"]
               if "postback" in i or "referral" in i or ("message" in i and not i["message"].get("is_echo"))]
    assert len(events) <= len(actions)


@FUZZ
@given(telegram_update())
def test_well_formed_telegram_updates_parse(update: dict[str, Any]) -> None:
    events = parse_or_reject("telegram", encode(update))
    assert events is not None and len(events) == 1


@FUZZ
@given(st.sampled_from(sorted(PARSERS)), st.data())
def test_damaged_events_are_parsed_or_rejected(channel: str, data: st.DataObject) -> None:
    source = {"zalo": zalo_event(), "messenger": messenger_body(), "telegram": telegram_update()}[channel]
    parse_or_reject(channel, encode(data.draw(damaged(source))))


@FUZZ
@given(st.sampled_from(sorted(PARSERS)), json_values | st.binary(max_size=300).map(lambda b: b))
def test_any_json_or_bytes_is_parsed_or_rejected(channel: str, value: Any) -> None:
    parse_or_reject(channel, value if isinstance(value, bytes) else encode(value))


@pytest.mark.parametrize("channel", sorted(PARSERS))
@pytest.mark.parametrize("body", [deep(100_000), b"\xff\xfe\x00", "{\"a\": \"\ud800\"}".encode("utf-8", "surrogatepass"),
                                  b"[" * 50_000, b"1e999999", b'{"update_id": 1e400}', b"", b"null"],
                         ids=["deep", "not-utf8", "lone-surrogate", "open-brackets", "huge-float", "inf-id", "empty", "null"])
def test_pathological_bytes_are_rejected(channel: str, body: bytes) -> None:
    assert parse_or_reject(channel, body) is None
