"""Telegram as a ``PlatformChannel`` for the outbox sender (no messaging window on Telegram)."""
from __future__ import annotations

from typing import Any

from bot.messages import Outbound

from ..base import Capabilities, Contact, Pace
from ..delivery import SendResult
from .render import CAPABILITIES, render
from .sender import TelegramSender


class TelegramChannel:
    name = "telegram"
    capabilities: Capabilities = CAPABILITIES
    # Telegram's flood limits: about 30 messages/s in bulk, about 1 message/s in one chat (short
    # bursts pass; more gets 429 with retry_after, which the outbox sender honours).
    pace = Pace(per_second=25, burst=25, per_user=1.0, per_user_burst=3)

    def __init__(self, sender: TelegramSender) -> None:
        self.sender = sender

    def render(self, outbound: Outbound) -> list[dict[str, Any]]:
        return render(outbound)

    async def send(self, contact: Contact, payload: dict[str, Any], *, part: int) -> SendResult:
        return await self.sender.send(contact.address, payload)

    async def answer_callbacks(self, inbounds: list[Any]) -> None:
        """For ``Webhook.after``: answer every callback query among the parsed updates."""
        for inbound in inbounds:
            raw = inbound.raw if isinstance(inbound.raw, dict) else {}
            if raw.get("callback_query_id"):
                await self.sender.answer_callback(raw["callback_query_id"])

    async def close(self) -> None:
        await self.sender.close()
