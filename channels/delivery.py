"""What a platform send came to: the outbox sender decides retry, give-up or wait on this alone."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DeliveryStatus = Literal["sent", "retry", "window_closed", "failed"]


@dataclass(frozen=True)
class SendResult:
    """``retry``: 429, 5xx, timeouts, connection errors (``retry_after`` when the platform said how
    long). ``window_closed``: the platform's messaging window or reply quota rules forbid sending
    now; the message waits for the user's next message. ``failed``: permanent (blocked bot,
    unknown user, bad request); shown to operators."""

    status: DeliveryStatus
    platform_message_id: str | None = None
    retry_after: float | None = None
    error: str | None = None

    @classmethod
    def sent(cls, platform_message_id: str | None = None) -> "SendResult":
        return cls("sent", platform_message_id=platform_message_id)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> "SendResult":
        return cls("retry", retry_after=retry_after, error=error)

    @classmethod
    def window_closed(cls, error: str) -> "SendResult":
        return cls("window_closed", error=error)

    @classmethod
    def failed(cls, error: str) -> "SendResult":
        return cls("failed", error=error)
