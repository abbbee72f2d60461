"""Bot messages as Zalo ``message`` objects: buttons where Zalo can show them, a numbered list where not.

Zalo's consultation messages carry at most a few query buttons; a question with more choices, or a
multiple-choice question (a button press answers once), is sent as text the user answers by number
or by words.
"""
from __future__ import annotations

from typing import Any

from bot.messages import Choice, Outbound
from channels.base import Capabilities
from channels.render import numbered, split_text

# Button title: 100 characters per the partner and SDK documentation of oa.query.* buttons
# (Zalo's own page was not available to check). Text: 2000 characters.
CAPABILITIES = Capabilities(max_buttons=5, max_button_title=100, max_text=2000, window_hours=48)

# A press on an ``oa.query.hide`` button reaches the webhook as a hidden ``user_send_text`` whose
# text is the payload, so the payload carries this prefix to tell a press from typed text.
BUTTON_PAYLOAD_PREFIX = "choice:"
MAX_BUTTON_PAYLOAD = 1000


def button_payload(choice_id: str) -> str:
    """The ``payload`` of the button for ``choice_id``; ``parse_event`` turns it back into the id."""
    return BUTTON_PAYLOAD_PREFIX + choice_id


def render(outbound: Outbound) -> list[dict[str, Any]]:
    """Zalo ``message`` objects for one bot message, in sending order."""
    buttons = _buttons(outbound)
    if buttons is None:
        return [{"text": piece} for piece in split_text(numbered(outbound), CAPABILITIES.max_text)]
    pieces = split_text(outbound.text, CAPABILITIES.max_text)
    messages: list[dict[str, Any]] = [{"text": piece} for piece in pieces]
    messages[-1]["attachment"] = {"type": "template", "payload": {"buttons": buttons}}
    return messages


def _buttons(outbound: Outbound) -> list[dict[str, str]] | None:
    spec = outbound.input
    if spec.type != "choice" or not spec.choices or len(spec.choices) > CAPABILITIES.max_buttons:
        return None
    if not outbound.text.strip():
        return None  # a button template needs a text to hang under
    titles = [_title(c) for c in spec.choices]
    if len(set(titles)) != len(titles) or not all(titles):
        return None  # shortened titles that collide would make the buttons ambiguous
    payloads = [button_payload(c.id) for c in spec.choices]
    if any(len(p) > MAX_BUTTON_PAYLOAD for p in payloads):
        return None
    return [{"title": t, "type": "oa.query.hide", "payload": p} for t, p in zip(titles, payloads)]


def _title(choice: Choice) -> str:
    limit = CAPABILITIES.max_button_title
    label = choice.label.strip()
    if len(label) <= limit:
        return label
    if choice.short and len(choice.short.strip()) <= limit:
        return choice.short.strip()
    return _shorten(label, limit)


def _shorten(text: str, limit: int) -> str:
    cut = text.rfind(" ", 0, limit)
    head = text[:cut] if cut > limit // 2 else text[: limit - 1]
    return head.rstrip(" ,;:.-/") + "…"
