"""Everything one handled message changes, as data, so the fastest writer for the database can apply it.

The conversation service decides; a ``MessageWriter`` applies the whole ``MessageWrite`` atomically
(one transaction) or not at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class NewResponse:
    id: str
    flow_id: str
    flow_version: int
    channel: str
    unit_code: str | None
    invitation_code: str | None
    preview: bool


@dataclass(frozen=True)
class ResponseState:
    id: str
    disposition: str
    state: dict[str, Any]
    context: dict[str, Any] | None
    unit_code: str | None
    completed: bool


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class Processed:
    message_key: str
    first_seq: int
    last_seq: int
    flow_state: dict[str, Any]


@dataclass(frozen=True)
class NewTicket:
    """A question forwarded to officials."""

    id: str
    text: str
    unit_code: str | None
    topic: str | None
    candidates: list[dict[str, Any]]
    message_key: str | None


@dataclass
class MessageWrite:
    respondent_id: str
    channel: str
    now: datetime
    new_response: NewResponse | None = None
    response: ResponseState | None = None
    # final value per key after the step (a key set then cleared in one step is only cleared)
    answers_set: dict[str, Any] = field(default_factory=dict)
    answers_cleared: list[str] = field(default_factory=list)
    outbox: list[OutboxRow] = field(default_factory=list)
    outbox_status: str = "pending"
    processed: Processed | None = None
    ticket: NewTicket | None = None

    @property
    def simple(self) -> bool:
        """No new response, invitation claim or ticket: the shape every answer after the first has."""
        return self.new_response is None and self.ticket is None


class DuplicateMessage(Exception):
    """The message id was already recorded (an older redelivery or another process got there first)."""


class InvitationTaken(Exception):
    """Another respondent claimed the invitation between our check and our commit."""


class MessageWriter(Protocol):
    async def write(self, w: MessageWrite) -> None:
        """Apply ``w`` atomically; raise ``DuplicateMessage`` or ``InvitationTaken`` and write nothing."""
        ...

    async def close(self) -> None: ...
