"""Zalo Official Account (Open API v3) adapter.

What it offers, each piece usable on its own so the integrator can wire it into the app:

- ``verify`` / ``sign``: the ``X-ZEvent-Signature`` check on a webhook's raw body.
- ``parse_event``: one webhook body as ``Inbound`` messages (``ZaloParseError`` on a bad body).
- ``render`` and ``CAPABILITIES``: an ``Outbound`` as Zalo ``message`` objects.
- ``ZaloClient``: sends a ``message`` and reports a ``SendResult``, refreshing the OA's tokens.
- ``TokenPair``, ``TokenStore`` and ``MemoryTokenStore``: the token pair and where it is kept.
"""
from __future__ import annotations

from .client import ZaloClient
from .memory_tokens import MemoryTokenStore
from .parse import ZaloParseError, parse_event
from .render import BUTTON_PAYLOAD_PREFIX, CAPABILITIES, button_payload, render
from .signature import SIGNATURE_HEADER, sign, verify
from .tokens import TokenPair, TokenStore, ZaloTokenError

__all__ = [
    "BUTTON_PAYLOAD_PREFIX", "CAPABILITIES", "MemoryTokenStore", "SIGNATURE_HEADER", "TokenPair", "TokenStore",
    "ZaloClient", "ZaloParseError", "ZaloTokenError", "button_payload", "parse_event", "render", "sign", "verify",
]
