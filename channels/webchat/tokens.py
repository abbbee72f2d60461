"""Server-signed web session tokens. A client never chooses its session id; it only holds a token
we signed, which expires."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


@dataclass(frozen=True)
class TokenError:
    code: str  # session_invalid | session_expired


class SessionTokens:
    def __init__(self, secret: str, max_age: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="hailong.webchat.session")
        self._max_age = max_age

    def issue(self) -> tuple[str, str]:
        sid = secrets.token_urlsafe(18)
        return sid, self._s.dumps(sid)

    def verify(self, token: str) -> str | TokenError:
        if not token or len(token) > 200:
            return TokenError("session_invalid")
        try:
            sid = self._s.loads(token, max_age=self._max_age)
        except SignatureExpired:
            return TokenError("session_expired")
        except BadSignature:
            return TokenError("session_invalid")
        return sid if isinstance(sid, str) else TokenError("session_invalid")
