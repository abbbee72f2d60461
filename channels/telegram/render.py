"""Outbound → keyword arguments for ``Bot.send_message``.

Each payload is a plain, JSON-serialisable dict ``{"text": str, "reply_markup": {...}}`` (the
``reply_markup`` key only on the piece that carries buttons). ``reply_markup`` is the Bot API's
dict form of an inline keyboard, ``{"inline_keyboard": [[{"text", "callback_data"}, ...], ...]}``,
so payloads can be stored in an outbox as JSON; :class:`~channels.telegram.sender.TelegramSender`
turns it into a ptb ``InlineKeyboardMarkup``. No ``parse_mode``: survey text is sent as plain
text, so ``*``, ``_`` or ``<`` in a question never breaks a send.

Choices:

* a single choice with at most :data:`MAX_BUTTONS` choices whose titles (``label``, else ``short``)
  are at most :data:`MAX_BUTTON_TITLE` characters → one inline button per choice, one per row, or
  two per row when every title is at most :data:`SHORT_TITLE` characters;
* a single choice whose titles are too long → the numbered list text plus number buttons
  ``1``, ``2``, … (the user may also type the number or the label);
* multiple choice, or more than :data:`MAX_BUTTONS` choices → the numbered list text only,
  answered by typing (``1, 3``).

``callback_data`` is limited to 64 **bytes**: it is ``"c:" + choice id`` when that fits, else
``"h:" + 22 base64url characters`` of the id's SHA-256 (stable across processes). Every choice id
in our flows is short ASCII, so the hashed form is only a guard; :func:`decode_callback` maps
either form back given the choices.
"""
from __future__ import annotations

import base64
import hashlib
from typing import Any, Iterable

from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from bot.messages import Choice, Outbound

from ..base import Capabilities
from ..render import numbered, split_text

MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096
MAX_CALLBACK_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)  # 64 bytes
# Our choices, not Telegram limits (the Bot API documents none for these): a survey question with
# more than 12 buttons is hard to scan on a phone, and mobile clients cut a one-per-row button
# title at about 40 characters.
MAX_BUTTONS = 12
MAX_BUTTON_TITLE = 40
SHORT_TITLE = 16
NUMBER_ROW = 5

CAPABILITIES = Capabilities(max_buttons=MAX_BUTTONS, max_button_title=MAX_BUTTON_TITLE, max_text=MAX_TEXT,
                            window_hours=None)

ID_PREFIX = "c:"
HASH_PREFIX = "h:"


def callback_data(choice_id: str) -> str:
    """The ``callback_data`` for a choice: ``c:<id>`` when it fits in 64 UTF-8 bytes, else ``h:<hash>``."""
    data = ID_PREFIX + choice_id
    if len(data.encode("utf-8", "surrogatepass")) <= MAX_CALLBACK_BYTES:
        return data
    return HASH_PREFIX + _hash(choice_id)


def _hash(choice_id: str) -> str:
    digest = hashlib.sha256(choice_id.encode("utf-8", "surrogatepass")).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def decode_callback(data: str, choices: Iterable[Choice | str] | None = None) -> str | None:
    """The choice id behind ``callback_data``, or None when it is not ours or not among ``choices``.

    Without ``choices`` only the ``c:<id>`` form can be decoded. With ``choices`` (``Choice`` objects
    or ids) the result is always one of them, so a button left on an old message that does not
    belong to the current question decodes to None.
    """
    if not isinstance(data, str):
        return None
    ids = None if choices is None else [c.id if isinstance(c, Choice) else c for c in choices]
    if data.startswith(ID_PREFIX):
        choice_id = data[len(ID_PREFIX):]
        if not choice_id:
            return None
        return choice_id if ids is None or choice_id in ids else None
    if data.startswith(HASH_PREFIX) and ids is not None:
        return next((i for i in ids if callback_data(i) == data), None)
    return None


def render(outbound: Outbound) -> list[dict[str, Any]]:
    """``send_message`` keyword arguments (without ``chat_id``) for one bot message, in order.

    Long text is split at line and sentence ends into pieces of at most 4096 characters (and 4096
    UTF-16 code units, in case Telegram counts those); the keyboard goes on the last piece, right
    under the question. An Outbound with neither text nor choices renders to ``[]``.
    """
    spec = outbound.input
    choices = spec.choices
    text = outbound.text
    keyboard: dict[str, Any] | None = None
    if choices:
        if spec.type == "multi" or len(choices) > MAX_BUTTONS:
            text = numbered(outbound)
        else:
            titles = [_title(c) for c in choices]
            if all(t is not None for t in titles):
                keyboard = _label_keyboard(choices, [t for t in titles if t is not None])
            else:
                text = numbered(outbound)
                keyboard = _number_keyboard(choices)
    pieces = _split(text)
    if not pieces and choices:
        pieces = _split(numbered(outbound))
    payloads: list[dict[str, Any]] = [{"text": piece} for piece in pieces]
    if keyboard is not None and payloads:
        payloads[-1]["reply_markup"] = keyboard
    return payloads


def _title(choice: Choice) -> str | None:
    for candidate in (choice.label, choice.short):
        title = (candidate or "").strip()
        if title and len(title) <= MAX_BUTTON_TITLE:
            return title
    return None


def _label_keyboard(choices: tuple[Choice, ...], titles: list[str]) -> dict[str, Any]:
    buttons = [{"text": t, "callback_data": callback_data(c.id)} for c, t in zip(choices, titles)]
    per_row = 2 if len(buttons) > 1 and all(len(t) <= SHORT_TITLE for t in titles) else 1
    return {"inline_keyboard": _rows(buttons, per_row)}


def _number_keyboard(choices: tuple[Choice, ...]) -> dict[str, Any]:
    buttons = [{"text": str(i), "callback_data": callback_data(c.id)} for i, c in enumerate(choices, 1)]
    rows = -(-len(buttons) // NUMBER_ROW)
    return {"inline_keyboard": _rows(buttons, -(-len(buttons) // rows))}


def _rows(buttons: list[dict[str, str]], per_row: int) -> list[list[dict[str, str]]]:
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _split(text: str) -> list[str]:
    # 4096 characters; if a piece is longer in UTF-16 code units (astral emoji count twice), split at
    # half the limit, which can never exceed 4096 code units.
    for limit in (MAX_TEXT, MAX_TEXT // 2):
        pieces = split_text(text, limit)
        if all(_utf16_len(p) <= MAX_TEXT for p in pieces):
            return pieces
    return pieces
