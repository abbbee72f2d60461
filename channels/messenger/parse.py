"""Messenger webhook bodies turned into the core's ``Inbound`` messages.

One POST can batch several entries, each with several ``messaging`` items, so every item is read in
order. Only what a respondent did becomes an ``Inbound``; echoes of our own sends, delivery and read
receipts and other platform notices are dropped here so the core never sees them. A body that does
not have the documented shape raises ``MessengerParseError`` naming the offending path, so the
webhook can answer 400 instead of crashing or silently losing answers.
"""
from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from bot.messages import Inbound

CHANNEL = "messenger"

# The payload we give the Get Started button (Messenger Profile API); tapping it opens a survey.
DEFAULT_START_PAYLOADS: frozenset[str] = frozenset({"GET_STARTED"})

# Ids become database keys (inbox.message_key: 160 characters, contacts.address: 100; PostgreSQL
# text holds no NUL). Real mids are about 60-100 characters and PSIDs 16 digits: anything longer, or
# a PSID with NUL, is garbage to acknowledge, not an event that fails for ever in the inbox.
MAX_MID = 120
MAX_PSID = 64

_MEDIA_TYPES = frozenset({"image", "sticker", "audio", "video", "file", "location", "fallback", "reel", "ig_reel"})


class MessengerParseError(ValueError):
    """The webhook body is not a Messenger ``page`` notification of the documented shape."""


def parse_webhook(body: bytes | dict[str, Any], start_payloads: Collection[str] = DEFAULT_START_PAYLOADS) -> list[Inbound]:
    """Every respondent action in one webhook POST, in the order Meta sent them.

    ``start_payloads`` are postback payloads that mean "start" (the Get Started button).
    """
    data = _load(body)
    if data.get("object") != "page":
        raise MessengerParseError(f"object must be 'page', got {data.get('object')!r}")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise MessengerParseError("entry must be a list")
    out: list[Inbound] = []
    for i, entry in enumerate(entries):
        where = f"entry[{i}]"
        if not isinstance(entry, dict):
            raise MessengerParseError(f"{where} must be an object")
        items = entry.get("messaging")
        if items is None:
            continue  # e.g. "standby" or "changes" notifications: nothing addressed to this app
        if not isinstance(items, list):
            raise MessengerParseError(f"{where}.messaging must be a list")
        for j, item in enumerate(items):
            inbound = _item(item, f"{where}.messaging[{j}]", start_payloads)
            if inbound is not None:
                out.append(inbound)
    return out


def _load(body: bytes | dict[str, Any]) -> dict[str, Any]:
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            data = json.loads(bytes(body))
        except (ValueError, RecursionError) as exc:
            raise MessengerParseError(f"body is not valid JSON: {type(exc).__name__}") from None
    else:
        data = body
    if not isinstance(data, dict):
        raise MessengerParseError(f"body must be a JSON object, got {type(data).__name__}")
    return data


def _item(item: Any, where: str, start_payloads: Collection[str]) -> Inbound | None:
    if not isinstance(item, dict):
        raise MessengerParseError(f"{where} must be an object")
    message = _optional_object(item, "message", where)
    postback = _optional_object(item, "postback", where)
    referral = _optional_object(item, "referral", where)
    if message is not None and message.get("is_echo") is True:
        return None
    if message is None and postback is None and referral is None:
        return None  # delivery, read, reaction, optin, …: not a respondent's answer
    sender = _sender(item, where)
    if sender is None:
        return None
    timestamp = _timestamp(item, where)
    if message is not None:
        return _message(message, sender, timestamp, f"{where}.message")
    if postback is not None:
        return _postback(postback, sender, timestamp, f"{where}.postback", start_payloads)
    assert referral is not None
    return _referral(referral, sender, timestamp, f"{where}.referral")


def _message(message: dict[str, Any], sender: str, timestamp: int, where: str) -> Inbound | None:
    mid = _id_string(message, "mid", where, MAX_MID, required=True)
    raw: dict[str, Any] = {"timestamp_ms": timestamp}
    base = {"channel": CHANNEL, "respondent_key": sender, "message_id": f"{CHANNEL}:{mid}"}
    text = _string(message, "text", where)
    quick_reply = _optional_object(message, "quick_reply", where)
    if quick_reply is not None:
        payload = _string(quick_reply, "payload", f"{where}.quick_reply", required=True)
        return Inbound(**base, kind="choice", choice=payload, text=text or "", raw=raw)
    attachments = message.get("attachments")
    if text or (text is not None and attachments is None):
        return Inbound(**base, kind="text", text=text, raw=raw)
    if attachments is None:
        return None  # e.g. a deleted or unsupported message: nothing the survey can use
    raw["attachments"] = _attachments(attachments, f"{where}.attachments")
    return Inbound(**base, kind="media", raw=raw)


def _attachments(attachments: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(attachments, list) or not attachments:
        raise MessengerParseError(f"{where} must be a non-empty list")
    out: list[dict[str, Any]] = []
    for k, attachment in enumerate(attachments):
        here = f"{where}[{k}]"
        if not isinstance(attachment, dict):
            raise MessengerParseError(f"{here} must be an object")
        kind = _string(attachment, "type", here, required=True)
        if kind not in _MEDIA_TYPES:
            kind = "unsupported"
        summary: dict[str, Any] = {"type": kind}
        payload = attachment.get("payload")
        if isinstance(payload, dict):
            url = payload.get("url")
            if isinstance(url, str):
                summary["url"] = url
            coordinates = payload.get("coordinates")
            if isinstance(coordinates, dict):
                lat, lon = coordinates.get("lat"), coordinates.get("long")
                if _is_number(lat) and _is_number(lon):
                    summary["coordinates"] = {"lat": lat, "long": lon}
        out.append(summary)
    return out


def _postback(
    postback: dict[str, Any], sender: str, timestamp: int, where: str, start_payloads: Collection[str]
) -> Inbound:
    payload = _string(postback, "payload", where)
    mid = _id_string(postback, "mid", where, MAX_MID)
    message_id = f"{CHANNEL}:{mid}" if mid else f"{CHANNEL}:pb:{sender}:{timestamp}"
    raw: dict[str, Any] = {"timestamp_ms": timestamp}
    base = {"channel": CHANNEL, "respondent_key": sender, "message_id": message_id}
    referral = _optional_object(postback, "referral", where)
    if referral is not None:
        ref = _string(referral, "ref", f"{where}.referral")
        raw["referral_source"] = _string(referral, "source", f"{where}.referral")
        if payload is not None:
            raw["payload"] = payload
        return Inbound(**base, kind="start", invitation=ref or None, raw=raw)
    if payload is None:
        raise MessengerParseError(f"{where}.payload is required")
    if payload in start_payloads:
        return Inbound(**base, kind="start", raw=raw)
    return Inbound(**base, kind="choice", choice=payload, text=_string(postback, "title", where) or "", raw=raw)


def _referral(referral: dict[str, Any], sender: str, timestamp: int, where: str) -> Inbound | None:
    ref = _string(referral, "ref", where)
    if not ref:
        return None  # an existing thread reopened without a ref: nothing to start
    raw = {"timestamp_ms": timestamp, "referral_source": _string(referral, "source", where)}
    return Inbound(
        channel=CHANNEL,
        respondent_key=sender,
        kind="start",
        invitation=ref,
        message_id=f"{CHANNEL}:ref:{sender}:{timestamp}",
        raw=raw,
    )


def _sender(item: dict[str, Any], where: str) -> str | None:
    sender = item.get("sender")
    if not isinstance(sender, dict):
        raise MessengerParseError(f"{where}.sender must be an object")
    psid = sender.get("id")
    if psid is None:
        if "user_ref" in sender:
            return None  # checkbox/chat plugin visitor without a PSID yet: we cannot reply by id
        raise MessengerParseError(f"{where}.sender.id is required")
    if isinstance(psid, int) and not isinstance(psid, bool) and 0 < psid < 10**30:
        psid = str(psid)
    if not isinstance(psid, str):
        raise MessengerParseError(f"{where}.sender.id must be a string")
    if not psid:
        raise MessengerParseError(f"{where}.sender.id must not be empty")
    if len(psid) > MAX_PSID or "\x00" in psid:
        raise MessengerParseError(f"{where}.sender.id is not a page-scoped id")
    return psid


def _timestamp(item: dict[str, Any], where: str) -> int:
    value = item.get("timestamp")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**20:
        raise MessengerParseError(f"{where}.timestamp must be an integer (milliseconds)")
    return value


def _optional_object(parent: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MessengerParseError(f"{where}.{key} must be an object")
    return value


def _string(parent: dict[str, Any], key: str, where: str, required: bool = False) -> str | None:
    value = parent.get(key)
    if value is None:
        if required:
            raise MessengerParseError(f"{where}.{key} is required")
        return None
    if not isinstance(value, str):
        raise MessengerParseError(f"{where}.{key} must be a string")
    if required and not value:
        raise MessengerParseError(f"{where}.{key} must not be empty")
    return value.replace("\x00", "")  # no PostgreSQL text column can hold NUL


def _id_string(parent: dict[str, Any], key: str, where: str, limit: int, required: bool = False) -> str | None:
    value = _string(parent, key, where, required)
    if value is not None and len(value) > limit:  # _string has dropped any NUL
        raise MessengerParseError(f"{where}.{key} is not an id (over {limit} characters)")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
