"""A webhook update (the JSON body Telegram POSTs) → the core's ``Inbound`` messages.

Only private chats are surveyed: updates from groups, supergroups and channels give ``[]``. What
becomes what:

* ``message`` with text → ``text``; ``/start`` → ``start``, and ``/start <payload>`` (the deep link
  ``t.me/<bot>?start=<payload>``) → ``start`` with ``invitation=payload`` when the payload matches
  ``[A-Za-z0-9_-]{1,64}`` (an invalid payload still starts, without invitation);
* ``message`` with a photo, sticker, document, voice, video, location, contact, … → ``media``
  (``text`` = the caption, ``raw["media"]`` = the kind); service messages (pins, …) → ``[]``;
* ``callback_query`` (an inline button) → ``choice`` with the choice id decoded from
  ``callback_data`` (see :mod:`.render`). A hashed ``h:`` id cannot be decoded without the
  question's choices: it becomes ``text`` with the tapped button's title (read from the keyboard of
  the message it was on) so the core matches it like a typed label, or, when that message is not
  included, ``choice`` with the raw ``callback_data`` for :func:`.render.decode_callback`.
  ``raw["callback_query_id"]`` is set: **every** callback query must be answered
  (``TelegramSender.answer_callback``), also those this function ignores — use
  :func:`callback_query_id` on the update for that;
* ``my_chat_member`` with the user blocking the bot (status ``kicked``) → ``event`` with
  ``text="unfollow"``; unblocking → ``[]`` (the user's own ``/start`` follows);
* ``edited_message`` → ``[]``: an edit cannot change an answer already recorded;
* any other update type (``channel_post``, ``inline_query``, …) → ``[]``.

``respondent_key`` is the chat id (equal to the user id in a private chat) as a string;
``message_id`` is ``"telegram:<update_id>"``, the key for de-duplicating redeliveries.
A body that is not a well-formed update raises :class:`TelegramParseError` (answer 200 anyway, or
Telegram redelivers it for hours; log it).
"""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType, MessageAttachmentType

from bot.messages import Inbound

from .render import HASH_PREFIX, decode_callback

if TYPE_CHECKING:
    from telegram import Bot

CHANNEL = "telegram"
_START = re.compile(r"/start(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?", re.DOTALL)
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MEDIA = tuple(str(t) for t in MessageAttachmentType)


class TelegramParseError(ValueError):
    """The body is not a Telegram update this adapter can read; the message says which field is wrong."""


def callback_query_id(data: object) -> str | None:
    """The id to answer, for any update carrying a callback query (even one :func:`parse_update` ignores)."""
    if isinstance(data, dict):
        query = data.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str) and query["id"]:
            return query["id"]
    return None


def parse_body(body: bytes, bot: "Bot | None" = None) -> list[Inbound]:
    """:func:`parse_update` on the raw webhook body (UTF-8 JSON); bad JSON is a TelegramParseError too."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError; deep nesting
        raise TelegramParseError(f"update: body is not UTF-8 JSON ({exc})") from exc
    return parse_update(data, bot)


def parse_update(data: dict[str, Any], bot: "Bot | None" = None) -> list[Inbound]:
    """The Inbound messages in one update: zero or one (a list, like the other channels' parsers)."""
    if not isinstance(data, dict):
        raise TelegramParseError(f"update: expected a JSON object, got {_kind(data)}")
    update_id = _int(data, "update_id", "update")
    path = f"update {update_id}"
    kind = next((k for k in ("message", "edited_message", "callback_query", "my_chat_member") if k in data), None)
    # Check the fields we read before ptb turns the dict into objects (ptb checks presence, not types).
    if kind == "message":
        _check_message(_obj(data, "message", path), f"{path}: message")
    elif kind == "edited_message":
        _obj(data, "edited_message", path)
    elif kind == "callback_query":
        _check_callback(_obj(data, "callback_query", path), f"{path}: callback_query")
    elif kind == "my_chat_member":
        _check_member(_obj(data, "my_chat_member", path), f"{path}: my_chat_member")
    try:
        update = Update.de_json(data, bot)
    except Exception as exc:  # ptb raises TypeError/KeyError/AttributeError/ValueError on bad shapes
        raise TelegramParseError(f"{path}: not a valid Telegram Update ({type(exc).__name__}: {exc})") from exc

    message_id = f"{CHANNEL}:{update_id}"
    raw: dict[str, Any] = {"update_id": update_id}
    if kind == "message" and update.message is not None:
        msg = update.message
        if msg.chat.type != ChatType.PRIVATE:
            return []
        key = str(msg.chat.id)
        if msg.text is not None:
            start = _START.fullmatch(msg.text.strip())
            if start:
                payload = (start.group(1) or "").strip()
                invitation = payload if _PAYLOAD.fullmatch(payload) else None
                return [Inbound(CHANNEL, key, kind="start", text=_clean(msg.text), invitation=invitation,
                                message_id=message_id, raw=raw)]
            return [Inbound(CHANNEL, key, kind="text", text=_clean(msg.text), message_id=message_id, raw=raw)]
        media = next((m for m in _MEDIA if data["message"].get(m) is not None), None)
        if media is None:
            return []  # a service message (pinned, chat background, …): nothing the user said
        raw["media"] = media
        return [Inbound(CHANNEL, key, kind="media", text=_clean(msg.caption or ""), message_id=message_id, raw=raw)]

    if kind == "callback_query" and update.callback_query is not None:
        query = update.callback_query
        raw["callback_query_id"] = query.id
        if query.message is not None:
            if query.message.chat.type != ChatType.PRIVATE:
                return []
            key = str(query.message.chat.id)
        else:  # no message attached: in a private chat the chat id is the user id
            key = str(query.from_user.id)
        if query.data is None:
            return []  # a game button: not ours
        raw["callback_data"] = query.data
        choice = decode_callback(query.data)
        if choice is None and query.data.startswith(HASH_PREFIX):
            title = _button_title(data["callback_query"].get("message"), query.data)
            if title:
                return [Inbound(CHANNEL, key, kind="text", text=_clean(title), message_id=message_id, raw=raw)]
        return [Inbound(CHANNEL, key, kind="choice", choice=choice or query.data, message_id=message_id, raw=raw)]

    if kind == "my_chat_member" and update.my_chat_member is not None:
        member = update.my_chat_member
        if member.chat.type != ChatType.PRIVATE or member.new_chat_member.status != ChatMemberStatus.BANNED:
            return []
        return [Inbound(CHANNEL, str(member.chat.id), kind="event", text="unfollow", message_id=message_id,
                        raw=raw)]
    return []


# ---- checks on the raw dict -----------------------------------------------------------------


def _check_message(msg: dict[str, Any], path: str) -> None:
    _check_chat(_obj(msg, "chat", path), f"{path}.chat")
    _int(msg, "message_id", path)
    _int(msg, "date", path)
    for name in ("text", "caption"):
        _opt_str(msg, name, path)


def _check_callback(query: dict[str, Any], path: str) -> None:
    _str(query, "id", path)
    _int(_obj(query, "from", path), "id", f"{path}.from")
    _opt_str(query, "data", path)
    if query.get("message") is not None:
        msg = _obj(query, "message", path)
        _check_chat(_obj(msg, "chat", f"{path}.message"), f"{path}.message.chat")
        _int(msg, "message_id", f"{path}.message")
        _int(msg, "date", f"{path}.message")


def _check_member(member: dict[str, Any], path: str) -> None:
    _check_chat(_obj(member, "chat", path), f"{path}.chat")
    _str(_obj(member, "new_chat_member", path), "status", f"{path}.new_chat_member")


def _check_chat(chat: dict[str, Any], path: str) -> None:
    _int(chat, "id", path)
    _str(chat, "type", path)


def _button_title(message: object, data: str) -> str | None:
    """The title of the button carrying ``data`` in the message's inline keyboard, if it is there."""
    if not isinstance(message, dict):
        return None
    markup = message.get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    for row in rows if isinstance(rows, list) else ():
        for button in row if isinstance(row, list) else ():
            if isinstance(button, dict) and button.get("callback_data") == data and isinstance(button.get("text"), str):
                return button["text"]
    return None


def _clean(text: str) -> str:
    """What the user typed, without NUL: no PostgreSQL text column can hold it."""
    return text.replace("\x00", "")


def _kind(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)


def _obj(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise TelegramParseError(f"{path}: {key!r} must be an object, got {_missing_or(parent, key)}")
    return value


def _int(parent: dict[str, Any], key: str, path: str) -> int:
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TelegramParseError(f"{path}: {key!r} must be an integer, got {_missing_or(parent, key)}")
    # Bot API integers fit 64 bits (ids: 52); a longer one would make an unstorable message or chat key
    if not -(2**63) <= value < 2**63:
        raise TelegramParseError(f"{path}: {key!r} is out of the 64-bit range")
    return value


def _str(parent: dict[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str):
        raise TelegramParseError(f"{path}: {key!r} must be a string, got {_missing_or(parent, key)}")
    return value


def _opt_str(parent: dict[str, Any], key: str, path: str) -> None:
    if parent.get(key) is not None:
        _str(parent, key, path)


def _missing_or(parent: dict[str, Any], key: str) -> str:
    return _kind(parent[key]) if key in parent else "nothing (missing)"
