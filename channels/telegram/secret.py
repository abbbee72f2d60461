"""The webhook secret: Telegram echoes the ``secret_token`` given to ``setWebhook`` in a header.

Telegram signs nothing; the only proof an update comes from Telegram is this shared secret, sent
in ``X-Telegram-Bot-Api-Secret-Token`` on every webhook request. The Bot API allows 1–256
characters from ``A-Z a-z 0-9 _ -``.
"""
from __future__ import annotations

import hmac
import re
from typing import Mapping

HEADER = "X-Telegram-Bot-Api-Secret-Token"

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def valid_secret(secret: object) -> bool:
    """True when ``secret`` is a string the Bot API accepts as ``secret_token``."""
    return isinstance(secret, str) and _SECRET.fullmatch(secret) is not None


def verify(headers: Mapping[str, str], secret_token: str) -> bool:
    """True when the request carries our secret. A missing or wrong header, or an unusable configured
    secret (empty, bad characters), is False: never accept an update when the check cannot be made.

    ``headers`` may be an aiohttp ``CIMultiDictProxy`` (case-insensitive) or a plain dict; for a plain
    dict the header name is looked up case-insensitively too.
    """
    if not valid_secret(secret_token):
        return False
    got = headers.get(HEADER)
    if got is None and not hasattr(headers, "getall"):  # a plain dict: case-insensitive lookup
        lowered = HEADER.lower()
        got = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == lowered), None)
    if not isinstance(got, str):
        return False
    return hmac.compare_digest(got.encode("utf-8"), secret_token.encode("utf-8"))
