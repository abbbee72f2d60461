"""The only message types channels and the core exchange."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

InboundKind = Literal["text", "choice", "start", "media", "event"]
InputType = Literal["choice", "multi", "text", "number", "date", "phone", "unit", "none"]


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    # a button title for platforms that limit its length (Messenger: 20 characters)
    short: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"id": self.id, "label": self.label}
        if self.short:
            out["short"] = self.short
        return out


@dataclass(frozen=True)
class InputSpec:
    """What the bot expects next, so each channel can render buttons, a numbered list or a field."""

    type: InputType = "none"
    choices: tuple[Choice, ...] = ()
    min: float | int | str | None = None
    max: float | int | str | None = None
    min_choices: int | None = None
    max_choices: int | None = None
    max_length: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "choices": [c.to_json() for c in self.choices]}
        for name in ("min", "max", "min_choices", "max_choices", "max_length"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "InputSpec":
        return cls(
            type=data.get("type", "none"),
            choices=tuple(Choice(c["id"], c["label"], c.get("short")) for c in data.get("choices", ())),
            min=data.get("min"),
            max=data.get("max"),
            min_choices=data.get("min_choices"),
            max_choices=data.get("max_choices"),
            max_length=data.get("max_length"),
        )


NO_INPUT = InputSpec()


@dataclass(frozen=True)
class Outbound:
    text: str
    input: InputSpec = NO_INPUT
    seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "text": self.text, "input": self.input.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Outbound":
        return cls(text=data["text"], input=InputSpec.from_json(data.get("input", {})), seq=data.get("seq"))


@dataclass(frozen=True)
class Inbound:
    """A normalized message from any channel.

    ``respondent_key`` is the platform's user id (or the web session id); the core turns it into a
    pseudonym and never stores it in answer rows. ``message_id`` is what makes redelivery safe.
    """

    channel: str
    respondent_key: str
    kind: InboundKind = "text"
    text: str = ""
    choice: str | tuple[str, ...] | None = None
    flow: str | None = None
    invitation: str | None = None
    context: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None
    raw: Any = None

    def __post_init__(self) -> None:
        # No PostgreSQL text or jsonb column holds NUL: text carrying one (a broken keyboard app, a
        # fuzzer) would fail every insert it reaches, so it is dropped where text enters the core.
        if "\x00" in self.text:
            object.__setattr__(self, "text", self.text.replace("\x00", ""))

    def to_json(self) -> dict[str, Any]:
        """For the inbox, which records platform events before they are handled (``raw`` must be JSON)."""
        return {"channel": self.channel, "respondent_key": self.respondent_key, "kind": self.kind, "text": self.text,
                "choice": list(self.choice) if isinstance(self.choice, tuple) else self.choice, "flow": self.flow,
                "invitation": self.invitation, "context": dict(self.context), "message_id": self.message_id,
                "raw": self.raw}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Inbound":
        choice = d.get("choice")
        return cls(channel=d["channel"], respondent_key=d["respondent_key"], kind=d.get("kind", "text"),
                   text=d.get("text", ""), choice=tuple(choice) if isinstance(choice, list) else choice,
                   flow=d.get("flow"), invitation=d.get("invitation"), context=d.get("context") or {},
                   message_id=d.get("message_id"), raw=d.get("raw"))
