"""The seams every channel implements, and the capability profile its renderer follows."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from bot.messages import Inbound, Outbound
from bot.store.outbox_repo import Contact

from .delivery import SendResult

OnMessage = Callable[[Inbound], Awaitable[Any]]


@dataclass(frozen=True)
class Capabilities:
    max_buttons: int
    max_button_title: int
    max_text: int
    window_hours: float | None = None


@dataclass(frozen=True)
class Pace:
    """Sending limits: for the whole channel, and per user (bursts allowed, then ``per_user`` a second)."""

    per_second: float
    burst: int
    per_user: float | None = None
    per_user_burst: int = 3


class Channel(Protocol):
    name: str
    capabilities: Capabilities

    def render(self, outbound: Outbound) -> list[dict[str, Any]]:
        """Platform payloads for one bot message (several when the text must be split)."""
        ...


class PlatformChannel(Channel, Protocol):
    """A channel the outbox sender delivers to (the web chat's clients fetch their messages instead)."""

    pace: Pace

    async def send(self, contact: Contact, payload: dict[str, Any], *, part: int) -> SendResult:
        """Send one rendered payload; ``part`` > 0 for the later pieces of a split message."""
        ...

    async def close(self) -> None: ...
