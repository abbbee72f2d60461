"""Rendering shared by channels: numbered choice lists where buttons are missing or too few."""
from __future__ import annotations

import re

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


_BREAK = re.compile(r"((?<=[.!?…:;])[ \t]+|\n+)")


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line or sentence ends, then at spaces, then hard.

    Platforms reject or truncate long texts (Messenger 2000, Zalo 2000, Telegram 4096); a question
    must arrive whole and readable, so never cut inside a word when a space exists. Line breaks
    inside a piece are kept (numbered choice lists rely on them).
    """
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts = _BREAK.split(text)
    pieces: list[str] = []
    current = ""
    sep = ""
    for i, part in enumerate(parts):
        if i % 2 == 1:
            sep = part
            continue
        for chunk in _fit(part.strip(), limit):
            if not chunk:
                continue
            joined = f"{current}{sep}{chunk}" if current else chunk
            if len(joined) <= limit:
                current = joined
            else:
                pieces.append(current.strip())
                current = chunk
            sep = " "
    if current.strip():
        pieces.append(current.strip())
    return pieces


def _fit(sentence: str, limit: int) -> list[str]:
    out: list[str] = []
    while len(sentence) > limit:
        cut = sentence.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        out.append(sentence[:cut].rstrip())
        sentence = sentence[cut:].lstrip()
    out.append(sentence)
    return out
