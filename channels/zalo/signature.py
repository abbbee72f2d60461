"""Zalo webhook signatures: a request whose ``X-ZEvent-Signature`` does not match is not processed.

Zalo signs each webhook POST; anyone can reach the webhook URL, so the check is what stops a forged
"user answered" event from entering a survey.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Mapping

SIGNATURE_HEADER = "X-ZEvent-Signature"
_PREFIX = "mac="


def _mac(body: bytes, oa_secret_key: str) -> str | None:
    """The hex MAC Zalo sends for ``body``, or None when the body lacks what the recipe needs.

    The whole recipe lives here so it is easy to correct.
    """
    # Source caveat: this recipe (plain SHA-256 of app_id + raw body + timestamp + OA secret key,
    # app_id and timestamp taken from the body) comes from production code and third-party
    # write-ups, not from a page of Zalo's own documentation.
    fields = _signed_fields(body)
    if fields is None:
        return None
    app_id, timestamp = fields
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode())
    return digest.hexdigest()


def verify(headers: Mapping[str, str], body: bytes, oa_secret_key: str) -> bool:
    """True only when the request carries a well-formed signature matching the raw ``body``."""
    if not oa_secret_key:
        return False  # an empty key would make the MAC computable by anyone
    received = _header(headers, SIGNATURE_HEADER)
    if received is None:
        return False
    received = received.strip()
    if not received.startswith(_PREFIX):
        return False
    expected = _mac(body, oa_secret_key)
    if expected is None:
        return False
    return hmac.compare_digest(received[len(_PREFIX):].strip().lower().encode(), expected.encode())


def sign(body: bytes, oa_secret_key: str) -> str:
    """The ``X-ZEvent-Signature`` header value Zalo would send with ``body`` (for fakes and tests)."""
    mac = _mac(body, oa_secret_key)
    if mac is None:
        raise ValueError("body must be a JSON object with app_id and timestamp to be signed")
    return _PREFIX + mac


def _signed_fields(body: bytes) -> tuple[str, str] | None:
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    app_id, timestamp = _scalar(data.get("app_id")), _scalar(data.get("timestamp"))
    if app_id is None or timestamp is None:
        return None
    return app_id, timestamp


def _scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, item in headers.items():
        if key.lower() == wanted:
            return item
    return None
