"""Zalo as a ``PlatformChannel``: replies quote the user's last message id (free inside 48 h)."""
from __future__ import annotations

from typing import Any

from bot.messages import Outbound

from ..base import Capabilities, Contact, Pace
from ..delivery import SendResult
from .client import ZaloClient
from .render import CAPABILITIES, render


class ZaloChannel:
    name = "zalo"
    capabilities: Capabilities = CAPABILITIES
    # Zalo publishes no rate; its error -32 (rate limited) makes the sender back off
    pace = Pace(per_second=20, burst=20)

    def __init__(self, client: ZaloClient) -> None:
        self.client = client

    def render(self, outbound: Outbound) -> list[dict[str, Any]]:
        return render(outbound)

    async def send(self, contact: Contact, payload: dict[str, Any], *, part: int) -> SendResult:
        return await self.client.send(contact.address, payload, reply_to=contact.reply_token)

    async def close(self) -> None:
        await self.client.close()
