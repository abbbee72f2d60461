"""Encryption at rest for the personal identifiers we must keep in clear to do our job (a
citizen's platform user id, needed to reply to them). Everything else is pseudonymised (HMAC).

AES-256-GCM with a random nonce; the row's id is authenticated with the value, so a value
copied onto another row does not decrypt. The key is HAILONG_DATA_KEY (32 bytes, base64), or
derived from the signing key on a bare machine. Values are prefixed with the key version, so
keys can be rotated by re-encrypting; values written before encryption existed read as they are."""
from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1:"


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the data key must be 32 bytes (HAILONG_DATA_KEY, base64)")
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, data_key: str, secret_key: str) -> "Sealer":
        if data_key:
            return cls(base64.urlsafe_b64decode(data_key + "=" * (-len(data_key) % 4)))
        return cls(hashlib.sha256(b"hailong data key\x00" + secret_key.encode()).digest())

    def seal(self, value: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode(), context.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, stored: str, context: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption at rest
        body = stored[len(PREFIX):]
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
