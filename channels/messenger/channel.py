"""Messenger as a ``PlatformChannel`` (standard messaging, RESPONSE type inside the 24 h window)."""
from __future__ import annotations

from typing import Any

from bot.messages import Outbound

from ..base import Capabilities, Contact, Pace
from ..delivery import SendResult
from .client import MessengerClient
from .render import CAPABILITIES, render


class MessengerChannel:
    name = "messenger"
    capabilities: Capabilities = CAPABILITIES
    pace = Pace(per_second=250, burst=50)  # Meta: 300 calls/s per page

    def __init__(self, client: MessengerClient) -> None:
        self.client = client

    def render(self, outbound: Outbound) -> list[dict[str, Any]]:
        return render(outbound)

    async def send(self, contact: Contact, payload: dict[str, Any], *, part: int) -> SendResult:
        return await self.client.send(contact.address, payload)

    async def close(self) -> None:
        await self.client.close()
