"""Telegram adapter on python-telegram-bot 22: webhook secret check, update parsing, rendering to
``send_message`` arguments with inline keyboards, and a sender mapping ptb errors to ``SendResult``.

Wiring into ``channels.webhooks.Webhook`` (the integrator's part)::

    sender = TelegramSender(token, base_url=f"{settings.telegram_api_base}/bot")
    await sender.start()                      # Bot.initialize(): getMe checks the token
    await sender.set_webhook(public_url, secret)   # once, at deploy
    channel = TelegramChannel(sender)         # channels.telegram.channel: a PlatformChannel
    Webhook("telegram", lambda headers, body: verify(headers, secret), parse_body, TelegramParseError,
            after=channel.answer_callbacks)   # every callback query must be answered

Sending: ``for payload in render(outbound): await sender.send(chat_id, payload)``.
"""
from .parse import CHANNEL, TelegramParseError, callback_query_id, parse_body, parse_update
from .render import CAPABILITIES, callback_data, decode_callback, render
from .secret import HEADER, valid_secret, verify
from .sender import ALLOWED_UPDATES, TelegramSender, make_bot

__all__ = [
    "ALLOWED_UPDATES", "CAPABILITIES", "CHANNEL", "HEADER", "TelegramParseError", "TelegramSender",
    "callback_data", "callback_query_id", "decode_callback", "make_bot", "parse_body", "parse_update", "render",
    "valid_secret", "verify",
]
