"""Sending through the Bot API with python-telegram-bot, and what each failure means for the outbox.

Exception → :class:`~channels.delivery.SendResult` (ptb raises, it never returns error codes):

* ``RetryAfter`` (HTTP 429 with ``parameters.retry_after``) → ``retry`` with ``retry_after``;
* ``TimedOut``, ``NetworkError`` (connection errors, 5xx, a 429 without ``retry_after``) →
  ``retry``. A read timeout may hide a message that did arrive: the retry can duplicate it;
* ``BadRequest`` (400; a ``NetworkError`` subclass in ptb, so checked first), ``Forbidden`` (403:
  the user blocked the bot or never started it), ``InvalidToken``, ``ChatMigrated`` → ``failed``;
* any other ``TelegramError`` (e.g. an unparsable 200 response) → ``retry``.

``Bot`` needs no ``initialize()`` for ``send_message`` (its HTTP client exists from construction),
but :meth:`TelegramSender.start` (or ``async with``) runs it: it calls ``getMe``, which checks the
token early. :meth:`TelegramSender.close` releases the connection pool, also when ``start`` never
ran (ptb's ``Bot.shutdown()`` alone would leave it open then).
"""
from __future__ import annotations

import datetime as dtm
import logging
import warnings
from typing import Any, Mapping, Sequence

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter,
                            TelegramError, TimedOut)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from ..delivery import SendResult
from .secret import valid_secret

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
# The update types the parser reads; Telegram sends only these when set_webhook lists them.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
_PAYLOAD_KEYS = frozenset({"text", "reply_markup"})


def make_bot(token: str, *, base_url: str = DEFAULT_BASE_URL, connect_timeout: float = 5.0,
             read_timeout: float = 10.0, write_timeout: float = 10.0, pool_timeout: float = 2.0,
             connection_pool_size: int = 16) -> Bot:
    """A ptb ``Bot`` with an ``HTTPXRequest`` using our timeouts. ``base_url`` ends in ``/bot`` (the
    token is appended): ``"http://127.0.0.1:PORT/bot"`` for the fake Bot API server in tests."""
    request = HTTPXRequest(connection_pool_size=connection_pool_size, connect_timeout=connect_timeout,
                           read_timeout=read_timeout, write_timeout=write_timeout, pool_timeout=pool_timeout)
    return Bot(token, base_url=base_url, request=request)


class TelegramSender:
    """Sends rendered payloads (see :func:`channels.telegram.render.render`) to one chat at a time.

    Give either a ``token`` (the sender builds and owns the ``Bot``) or a ``bot`` (e.g. an
    ``Application``'s ``app.bot``, which stays owned by its creator: :meth:`close` leaves it open).
    """

    def __init__(self, token: str | None = None, *, bot: Bot | None = None, base_url: str = DEFAULT_BASE_URL,
                 connect_timeout: float = 5.0, read_timeout: float = 10.0, write_timeout: float = 10.0,
                 pool_timeout: float = 2.0, connection_pool_size: int = 16) -> None:
        if (token is None) == (bot is None):
            raise ValueError("give exactly one of token and bot")
        self._owned = bot is None
        self.bot: Bot = bot if bot is not None else make_bot(
            token or "", base_url=base_url, connect_timeout=connect_timeout, read_timeout=read_timeout,
            write_timeout=write_timeout, pool_timeout=pool_timeout, connection_pool_size=connection_pool_size)

    async def start(self) -> None:
        """``Bot.initialize()``: calls ``getMe`` (raises ``InvalidToken`` for a rejected token)."""
        await self.bot.initialize()

    async def close(self) -> None:
        if self._owned:
            await self.bot.shutdown()
            # Bot.shutdown() skips the request objects when initialize() never ran, but HTTPXRequest
            # opens its client at construction: close it here (a no-op when already closed).
            await self.bot.request.shutdown()

    async def __aenter__(self) -> "TelegramSender":
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(self, chat_id: str, payload: Mapping[str, Any]) -> SendResult:
        """Send one rendered payload; never raises for platform or network failures."""
        try:
            kwargs = _send_kwargs(payload)
        except (TypeError, ValueError) as exc:
            return SendResult.failed(f"bad payload: {exc}")
        try:
            message = await self.bot.send_message(chat_id=_chat_id(chat_id), **kwargs)
        except RetryAfter as exc:
            seconds = _seconds(exc)
            return SendResult.retry(f"rate limited: {exc.message}", retry_after=seconds)
        except TimedOut as exc:
            return SendResult.retry(f"timed out: {exc.message}")
        except BadRequest as exc:  # before NetworkError: BadRequest subclasses it
            return SendResult.failed(f"bad request: {exc.message}")
        except Forbidden as exc:
            return SendResult.failed(f"forbidden: {exc.message}")
        except (InvalidToken, ChatMigrated) as exc:
            return SendResult.failed(f"{type(exc).__name__}: {exc.message}")
        except NetworkError as exc:
            return SendResult.retry(f"network error: {exc.message}")
        except TelegramError as exc:
            return SendResult.retry(f"{type(exc).__name__}: {exc.message}")
        except Exception as exc:  # e.g. a 200 without "result": not worth retrying forever
            log.exception("telegram send failed unexpectedly")
            return SendResult.failed(f"unexpected {type(exc).__name__}: {exc}")
        return SendResult.sent(str(message.message_id))

    async def answer_callback(self, callback_query_id: str, text: str | None = None) -> bool:
        """Stop the button's loading spinner. Errors (an expired query, a network failure) are logged
        and give False: answering is a courtesy and must never break handling the choice."""
        try:
            return bool(await self.bot.answer_callback_query(callback_query_id, text=text))
        except Exception as exc:
            log.warning("telegram answerCallbackQuery %s failed: %s: %s", callback_query_id,
                        type(exc).__name__, exc)
            return False

    async def set_webhook(self, url: str, secret_token: str, *,
                          allowed_updates: Sequence[str] | None = ALLOWED_UPDATES,
                          drop_pending_updates: bool | None = None, max_connections: int | None = None) -> bool:
        """Register our webhook URL (https in production) and the secret Telegram will send back in
        ``X-Telegram-Bot-Api-Secret-Token``. Raises ``ValueError`` for a secret the Bot API rejects
        and ptb's ``TelegramError`` when Telegram refuses."""
        if not valid_secret(secret_token):
            raise ValueError("secret_token must be 1-256 characters from A-Z, a-z, 0-9, _ and -")
        return await self.bot.set_webhook(
            url, secret_token=secret_token,
            allowed_updates=list(allowed_updates) if allowed_updates is not None else None,
            drop_pending_updates=drop_pending_updates, max_connections=max_connections)


def _chat_id(chat_id: str | int) -> int | str:
    """Chat ids are stored as strings; the Bot API takes integers (or ``@channelusername``)."""
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id).strip()
    try:
        return int(text)
    except ValueError:
        return text


def _send_kwargs(payload: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(payload) - _PAYLOAD_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}")
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string")
    kwargs: dict[str, Any] = {"text": text}
    markup = payload.get("reply_markup")
    if isinstance(markup, InlineKeyboardMarkup):
        kwargs["reply_markup"] = markup
    elif isinstance(markup, dict):
        try:
            parsed = InlineKeyboardMarkup.de_json(markup, None)
        except Exception as exc:  # ptb raises KeyError/TypeError on bad shapes
            raise ValueError(f"reply_markup is not an inline keyboard ({type(exc).__name__}: {exc})") from exc
        if parsed is None:
            raise ValueError("reply_markup is not an inline keyboard")
        kwargs["reply_markup"] = parsed
    elif markup is not None:
        raise ValueError(f"reply_markup must be a dict or InlineKeyboardMarkup, got {type(markup).__name__}")
    return kwargs


def _seconds(exc: RetryAfter) -> float:
    # ptb 22.2+ returns int seconds with a deprecation warning, or a timedelta with PTB_TIMEDELTA=true
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)
