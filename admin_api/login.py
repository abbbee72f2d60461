"""Password login for the API and the console alike, with one failure counter per username and
address in the state store (Redis when configured): guessing is slow in every process of a
deployment, and switching from the console's form to the API buys no extra attempts.

The count is read and written under the state store's lock for that key, so parallel guesses
cannot all read "4 failures" and all get a fifth try. While locked the password is not even
checked, so a correct guess inside the window gives nothing away.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from . import accounts, audit
from .accounts import User

if TYPE_CHECKING:
    from bot.services import Services

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60


@dataclass(frozen=True)
class LoginOutcome:
    """A session (token, expiry, user), or why not: wrong credentials, or ``locked``."""

    token: str | None = None
    expires_at: datetime | None = None
    user: User | None = None
    locked: bool = False
    max_age: int = 0


def _failures_key(username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()[:32]
    return f"admin:login_failures:{digest}"


async def log_in(services: "Services", username: str, password: str, address: str, *, via: str) -> LoginOutcome:
    """``via`` ("api", "console") goes to the audit record of a successful login."""
    async with services.state.hold(_failures_key(username, address)) as slot:
        failures = int((slot.value or {}).get("n", 0))
        if failures >= MAX_FAILURES:
            return LoginOutcome(locked=True)
        user = await accounts.check_password(services.engine, username, password) if username and password else None
        if user is None:
            slot.save({"n": failures + 1}, ttl=LOCKOUT_SECONDS)
            return LoginOutcome(locked=failures + 1 >= MAX_FAILURES)
        slot.drop()
    hours = services.settings.admin_session_hours
    async with services.engine.begin() as conn:
        token, expires = await accounts.issue_token(conn, user.id, kind="session", ttl=timedelta(hours=hours))
        await audit.record(conn, None, "login", "user", user.id, user.unit_code, via=via)
    return LoginOutcome(token=token, expires_at=expires, user=user, max_age=hours * 3600)
