"""The core's ``Outbound`` turned into Send API ``message`` objects within Messenger's limits.

A single-choice question with few enough, distinguishable options becomes quick replies, which are
one tap for the respondent and come back as the choice id. Anything a quick reply cannot carry
faithfully (too many options, titles that would look alike once shortened, multi-select) becomes a
numbered list the respondent answers by number or by text, so no question is ever unanswerable.
"""
from __future__ import annotations

import unicodedata
from typing import Any

from bot.messages import Choice, Outbound
from channels.base import Capabilities
from channels.render import numbered, split_text

CAPABILITIES = Capabilities(max_buttons=13, max_button_title=20, max_text=2000, window_hours=24)
MAX_PAYLOAD = 1000
_ELLIPSIS = "…"


def render(outbound: Outbound, capabilities: Capabilities = CAPABILITIES) -> list[dict[str, Any]]:
    """Send API ``message`` objects for one bot message, in sending order (several if split)."""
    spec = outbound.input
    if spec.type == "choice" and spec.choices:
        titles = quick_reply_titles(spec.choices, capabilities)
        if titles is not None and outbound.text.strip():
            pieces = split_text(outbound.text, capabilities.max_text)
            messages: list[dict[str, Any]] = [{"text": piece} for piece in pieces]
            messages[-1]["quick_replies"] = [
                {"content_type": "text", "title": title, "payload": choice.id}
                for title, choice in zip(titles, spec.choices)
            ]
            return messages
        return [{"text": piece} for piece in split_text(numbered(outbound), capabilities.max_text)]
    if spec.choices:
        return [{"text": piece} for piece in split_text(numbered(outbound), capabilities.max_text)]
    return [{"text": piece} for piece in split_text(outbound.text, capabilities.max_text)]


def quick_reply_titles(choices: tuple[Choice, ...], capabilities: Capabilities = CAPABILITIES) -> list[str] | None:
    """One button title per choice, or ``None`` when quick replies cannot show these choices.

    ``None`` when there are too many choices, a payload (the choice id) is empty or too long, or
    two titles would read the same after shortening: a respondent must be able to tell them apart.
    """
    if len(choices) > capabilities.max_buttons:
        return None
    titles: list[str] = []
    seen: set[str] = set()
    for choice in choices:
        if not choice.id or len(choice.id) > MAX_PAYLOAD:
            return None
        title = button_title(choice, capabilities.max_button_title)
        key = title.casefold()
        if not title or key in seen:
            return None
        seen.add(key)
        titles.append(title)
    return titles


def button_title(choice: Choice, limit: int) -> str:
    """The label if it fits, else the author's short form, else the label cut with an ellipsis."""
    label = _clean(choice.label)
    if len(label) <= limit:
        return label
    if choice.short:
        short = _clean(choice.short)
        if short and len(short) <= limit:
            return short
        if short:
            label = short
    return label[: limit - len(_ELLIPSIS)].rstrip() + _ELLIPSIS


def _clean(text: str) -> str:
    # NFC so Vietnamese letters with stacked marks count as one character each
    return " ".join(unicodedata.normalize("NFC", text).split())
