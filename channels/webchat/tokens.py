"""Server-signed web session tokens. A client never chooses its session id; it only holds a token
we signed, which expires."""
from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


RECHECK_SECONDS = 60.0  # a token expiring is noticed at most this late


@dataclass(frozen=True)
class TokenError:
    code: str  # session_invalid | session_expired


class SessionTokens:
    def __init__(self, secret: str, max_age: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="hailong.webchat.session")
        self._max_age = max_age
        # a chatting respondent sends the same token with every message: remember good ones briefly
        self._recent: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def issue(self) -> tuple[str, str]:
        sid = secrets.token_urlsafe(18)
        return sid, self._s.dumps(sid)

    def verify(self, token: str) -> str | TokenError:
        if not token or len(token) > 200:
            return TokenError("session_invalid")
        hit = self._recent.get(token)
        now = time.monotonic()
        if hit is not None and now - hit[1] < RECHECK_SECONDS:
            return hit[0]
        sid = self._verify(token)
        if isinstance(sid, str):
            self._recent[token] = (sid, now)
            self._recent.move_to_end(token)
            if len(self._recent) > 50_000:
                self._recent.popitem(last=False)
        return sid

    def _verify(self, token: str) -> str | TokenError:
        try:
            sid = self._s.loads(token, max_age=self._max_age)
        except SignatureExpired:
            return TokenError("session_expired")
        except BadSignature:
            return TokenError("session_invalid")
        return sid if isinstance(sid, str) else TokenError("session_invalid")
