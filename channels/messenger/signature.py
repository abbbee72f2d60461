"""Webhook authentication for Messenger: the POST signature and the GET subscription handshake.

Meta signs every webhook POST with the app secret over the raw request bytes. Anything that parses
or re-serialises the body first would change the bytes, so the check runs on exactly what arrived,
and the comparison is constant-time so the signature cannot be guessed byte by byte.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Mapping

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta would send for ``body``; used by tests and fakes to sign requests."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify(headers: Mapping[str, str], body: bytes, app_secret: str) -> bool:
    """Whether ``X-Hub-Signature-256`` matches the raw ``body``.

    The legacy SHA-1 ``X-Hub-Signature`` header is ignored on purpose: on its own it is not enough.
    An empty app secret never verifies, so a missing configuration cannot accept forged requests.
    """
    if not app_secret:
        return False
    value = _header(headers, SIGNATURE_HEADER)
    if value is None:
        return False
    value = value.strip()
    if not value.lower().startswith(_PREFIX):
        return False
    received = value[len(_PREFIX):].lower()
    expected = sign(body, app_secret)[len(_PREFIX):]
    return hmac.compare_digest(received.encode("ascii", "replace"), expected.encode("ascii"))


def verify_subscription(query: Mapping[str, str], verify_token: str) -> str | None:
    """The ``hub.challenge`` to echo when Meta's subscription request carries our verify token.

    ``None`` means answer 403. An empty configured token never matches.
    """
    if not verify_token or query.get("hub.mode") != "subscribe":
        return None
    token = query.get("hub.verify_token")
    challenge = query.get("hub.challenge")
    if token is None or challenge is None:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    return challenge
