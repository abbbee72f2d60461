"""Rendering shared by channels: numbered choice lists where buttons are missing or too few."""
from __future__ import annotations

from bot.messages import Outbound


def numbered(outbound: Outbound) -> str:
    """The message text with its choices as a numbered list the user can answer by number or text."""
    choices = outbound.input.choices
    if not choices:
        return outbound.text
    lines = [outbound.text, ""] + [f"{i}. {c.label}" for i, c in enumerate(choices, 1)]
    if outbound.input.type == "multi":
        lines.append("(Có thể chọn nhiều, ví dụ: 1, 3)")
    return "\n".join(lines)
