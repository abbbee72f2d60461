"""Zalo OA webhook events as the core's ``Inbound`` messages.

Zalo posts one event per request. The user's id becomes ``respondent_key`` (kept as a string: ids
are 18-19 digits and lose precision as floats), the Zalo ``msg_id`` becomes ``message_id`` so a
redelivered event is recognised, and ``raw`` keeps what the sender needs to reply for free.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from bot.messages import Inbound

from .render import BUTTON_PAYLOAD_PREFIX

CHANNEL = "zalo"

MEDIA_EVENTS = frozenset({
    "user_send_image", "user_send_sticker", "user_send_file", "user_send_gif", "user_send_audio",
    "user_send_video", "user_send_location", "user_send_link", "user_send_business_card",
})
TEXT_EVENTS = frozenset({"user_send_text", "user_click_button"})
FOLLOW_EVENTS = frozenset({"follow", "unfollow"})

InvitationTest = Callable[[str], bool]
# Ids become database keys (inbox.message_key: 160 characters, contacts.address: 100; PostgreSQL
# text holds no NUL). Real ones are 18-19 digits or 32 hex characters: anything far longer, or with
# NUL, is garbage to acknowledge, not an event that would fail for ever in the inbox.
MAX_ID = 64


class ZaloParseError(ValueError):
    """The body is not a Zalo event we can read; the webhook answers 400."""


def parse_event(body: bytes | Mapping[str, Any], is_invitation_code: InvitationTest | None = None) -> list[Inbound]:
    """The ``Inbound`` messages in one webhook body: one for a handled event, none for echoes of
    the OA's own messages (``oa_send_*``), delivery receipts and events we do not handle.

    ``is_invitation_code`` decides whether a typed text is an invitation code (the Zalo chat link
    carries no parameter, so a user binds an invitation by sending its code as a message).
    """
    event = _load(body)
    name = event.get("event_name")
    if not isinstance(name, str) or not name:
        raise ZaloParseError("event_name is missing or not a string")
    if name in TEXT_EVENTS or name in MEDIA_EVENTS:
        return [_message(event, name, is_invitation_code)]
    if name in FOLLOW_EVENTS:
        return [_follow(event, name)]
    if name == "user_submit_info":
        return [_submit_info(event)]
    return []


def _message(event: Mapping[str, Any], name: str, is_invitation_code: InvitationTest | None) -> Inbound:
    user = _id(_object(event, "sender"), "sender.id")
    timestamp = _timestamp(event)
    message = _object(event, "message")
    msg_id = _text(message, "msg_id", "message.msg_id")
    if not msg_id:
        raise ZaloParseError("message.msg_id is empty")
    if not _storable(msg_id):
        raise ZaloParseError(f"message.msg_id is not an id (over {MAX_ID} characters or NUL)")
    common: dict[str, Any] = {
        "channel": CHANNEL, "respondent_key": user, "message_id": f"{CHANNEL}:{msg_id}",
        "raw": {"msg_id": msg_id, "timestamp_ms": timestamp},
    }
    if name in MEDIA_EVENTS:
        caption = message.get("text")
        return Inbound(kind="media", text=_clean(caption) if isinstance(caption, str) else "", **common)
    text = _clean(_text(message, "text", "message.text"))
    choice = _pressed_choice(text, button_event=name == "user_click_button")
    if choice is not None:
        return Inbound(kind="choice", text=choice, choice=choice, **common)
    code = text.strip()
    if is_invitation_code is not None and code and is_invitation_code(code):
        return Inbound(kind="start", text=code, invitation=code, **common)
    return Inbound(kind="text", text=text, **common)


def _pressed_choice(text: str, *, button_event: bool) -> str | None:
    """The choice id behind a button press: Zalo delivers an ``oa.query.hide`` press as a hidden
    ``user_send_text`` carrying the payload (``user_click_button`` is handled the same way)."""
    if text.startswith(BUTTON_PAYLOAD_PREFIX):
        choice = text[len(BUTTON_PAYLOAD_PREFIX):]
        return choice or None
    if button_event and text:
        return text
    return None


def _follow(event: Mapping[str, Any], name: str) -> Inbound:
    user = _id(_object(event, "follower"), "follower.id")
    timestamp = _timestamp(event)
    return Inbound(channel=CHANNEL, respondent_key=user, kind="event", text=name,
                   message_id=f"{CHANNEL}:{name}:{user}:{timestamp}",
                   raw={"msg_id": None, "timestamp_ms": timestamp})


def _submit_info(event: Mapping[str, Any]) -> Inbound:
    # The submitted name, phone and address are personal data the survey core must not receive.
    user = _id(_object(event, "sender"), "sender.id")
    timestamp = _timestamp(event)
    return Inbound(channel=CHANNEL, respondent_key=user, kind="event", text="submit_info",
                   message_id=f"{CHANNEL}:submit_info:{user}:{timestamp}",
                   raw={"msg_id": None, "timestamp_ms": timestamp})


def _load(body: bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(body, (bytes, bytearray)):
        try:
            data: Any = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise ZaloParseError(f"body is not valid JSON: {exc}") from None
    else:
        data = body
    if not isinstance(data, Mapping):
        raise ZaloParseError(f"body must be a JSON object, not {type(data).__name__}")
    return data


def _object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise ZaloParseError(f"{key} is missing or not an object")
    return value


def _text(parent: Mapping[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str):
        raise ZaloParseError(f"{where} is missing or not a string")
    return value


def _clean(text: str) -> str:
    """What the user typed, without NUL: no PostgreSQL text column can hold it."""
    return text.replace("\x00", "")


def _storable(value: str) -> bool:
    return len(value) <= MAX_ID and "\x00" not in value


def _id(parent: Mapping[str, Any], where: str) -> str:
    value = parent.get("id")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**MAX_ID:
        return str(value)
    if isinstance(value, str) and value.strip() and _storable(value.strip()):
        return value.strip()
    raise ZaloParseError(f"{where} is missing or not an id (a digit string)")


def _timestamp(event: Mapping[str, Any]) -> int:
    value = event.get("timestamp")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**18:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    raise ZaloParseError("timestamp is missing or not milliseconds since the epoch")
