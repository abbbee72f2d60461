"""The seam every channel implements, and the capability profile its renderer follows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from bot.messages import Inbound, Outbound

OnMessage = Callable[[Inbound], Awaitable[Any]]


@dataclass(frozen=True)
class Capabilities:
    max_buttons: int
    max_button_title: int
    max_text: int
    window_hours: float | None = None


class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def render(self, outbound: Outbound) -> list[dict[str, Any]]:
        """Platform payloads for one bot message (several when the text must be split)."""
        ...
