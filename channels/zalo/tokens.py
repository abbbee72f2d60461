"""The OA's access token, kept fresh without losing the single-use refresh token.

An access token lives about 25 hours; refreshing it consumes the refresh token and returns a new
pair. If two processes both refreshed with the same refresh token, Zalo would reject the second
and, worse, a process that stored an older pair after a newer one would leave a dead refresh token
behind: the OA would then need an administrator to authorize the app again. So the pair is
stored by compare-and-set on the refresh token, and a process that loses the race uses the winner's
pair.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Protocol

import aiohttp

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime  # timezone-aware, when the access token stops working

    def __repr__(self) -> str:
        return f"TokenPair(access_token=…, refresh_token=…, expires_at={self.expires_at.isoformat()})"


class TokenStore(Protocol):
    """Where the current pair lives, shared by every process that sends to Zalo."""

    async def load(self, *, fresh: bool = False) -> TokenPair | None:
        """The stored pair, or None before the OA was ever authorized (``fresh``: bypass any cache)."""
        ...

    async def replace(self, old_refresh_token: str | None, new: TokenPair) -> bool:
        """Store ``new`` only if the stored refresh token is still ``old_refresh_token`` (None: the
        store is empty); False when another process changed the pair first."""
        ...


class ZaloTokenError(Exception):
    """No usable access token. ``transient``: the refresh may work later (network, 5xx, 429)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


async def exchange_refresh_token(
    session: aiohttp.ClientSession, *, oauth_url: str, app_id: str, app_secret: str, refresh_token: str,
    timeout: float, now: datetime,
) -> TokenPair:
    """One call to Zalo's OAuth endpoint: the refresh token buys a new pair (and is spent)."""
    try:
        async with session.post(
            f"{oauth_url.rstrip('/')}/v4/oa/access_token",
            headers={"secret_key": app_secret},
            data={"refresh_token": refresh_token, "app_id": app_id, "grant_type": "refresh_token"},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            status = resp.status
            raw = await resp.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise ZaloTokenError(f"Zalo token refresh did not complete: {type(exc).__name__} {exc}".rstrip(),
                             transient=True) from None
    if status == 429 or status >= 500:
        raise ZaloTokenError(f"Zalo token refresh got HTTP {status}", transient=True)
    try:
        data: Any = json.loads(raw)
    except ValueError:
        raise ZaloTokenError(f"Zalo token refresh got HTTP {status} with a body that is not JSON") from None
    if not isinstance(data, dict) or not data.get("access_token") or not data.get("refresh_token"):
        raise ZaloTokenError(f"Zalo token refresh was refused: {_oauth_error(data, status)}")
    try:
        expires_in = int(data.get("expires_in", 0))
    except (TypeError, ValueError):
        raise ZaloTokenError(f"Zalo token refresh returned expires_in={data.get('expires_in')!r}") from None
    return TokenPair(str(data["access_token"]), str(data["refresh_token"]), now + timedelta(seconds=expires_in))


def _oauth_error(data: Any, status: int) -> str:
    if not isinstance(data, dict):
        return f"HTTP {status}, unexpected body"
    code = data.get("error")
    words = [str(data[k]) for k in ("error_name", "error_description", "error_reason", "message") if data.get(k)]
    return f"error {code}: {'; '.join(words) or 'no description'} (HTTP {status})"


class TokenKeeper:
    """Hands out a usable access token and refreshes it at most once per expiry across processes."""

    def __init__(
        self, store: TokenStore, exchange: Callable[[str], Awaitable[TokenPair]], *, clock: Clock = utc_now,
        refresh_margin: timedelta = timedelta(minutes=5), race_grace: float = 3.0, race_poll: float = 0.1,
    ) -> None:
        self._store = store
        self._exchange = exchange
        self._clock = clock
        self._margin = refresh_margin
        self._race_grace = race_grace
        self._race_poll = race_poll
        self._lock = asyncio.Lock()

    async def current(self) -> TokenPair:
        """The stored pair, refreshed first when its access token is about to expire."""
        pair = await self._store.load()
        if pair is None:
            raise ZaloTokenError("no Zalo token pair is stored: an OA administrator must authorize the app")
        if pair.expires_at - self._margin <= self._clock():
            return await self.refreshed(pair)
        return pair

    async def refreshed(self, stale: TokenPair) -> TokenPair:
        """A pair newer than ``stale``: ours from a refresh, or one another task or process stored."""
        async with self._lock:
            current = await self._store.load(fresh=True)
            if current is None:
                raise ZaloTokenError("the Zalo token pair vanished from the store")
            if current.access_token != stale.access_token:
                return current
            spent = current.refresh_token
            try:
                new = await self._exchange(spent)
            except ZaloTokenError as exc:
                if exc.transient:
                    raise
                winner = await self._other_refresh(spent)
                if winner is None:
                    raise
                return winner
            if await self._store.replace(spent, new):
                return new
            stored = await self._store.load(fresh=True)
            if stored is None:
                raise ZaloTokenError("the Zalo token pair vanished from the store")
            return stored

    async def _other_refresh(self, spent: str) -> TokenPair | None:
        """Zalo refused our refresh token: if another process spent it first, its new pair reaches
        the store within moments. Wait that long before calling the refresh failed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._race_grace
        while True:
            stored = await self._store.load(fresh=True)
            if stored is not None and stored.refresh_token != spent:
                return stored
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(self._race_poll)
