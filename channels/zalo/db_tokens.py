"""The OA's token pair in the database, shared by every server process, replaced by compare-and-set."""
from __future__ import annotations

import time
from datetime import datetime, timezone

from bot.store.db import AsyncEngine
from bot.store.tokens_repo import StoredTokens, load_tokens, replace_tokens

from .tokens import TokenPair


class DbTokenStore:
    """Reads are cached for a few seconds (every send asks for the pair); a refresh always goes to
    the database, and another process's refresh is seen at most ``CACHE_SECONDS`` late — a send
    with the old token then gets "token expired" and the client reloads."""

    CACHE_SECONDS = 10.0

    def __init__(self, engine: AsyncEngine, channel: str = "zalo") -> None:
        self._engine = engine
        self._channel = channel
        self._cached: tuple[float, TokenPair | None] | None = None

    async def load(self, *, fresh: bool = False) -> TokenPair | None:
        now = time.monotonic()
        if not fresh and self._cached is not None and now - self._cached[0] < self.CACHE_SECONDS:
            return self._cached[1]
        stored = await load_tokens(self._engine, self._channel)
        pair = None if stored is None else TokenPair(stored.access_token, stored.refresh_token,
                                                     stored.expires_at or datetime.now(timezone.utc))
        self._cached = (now, pair)
        return pair

    async def replace(self, old_refresh_token: str | None, new: TokenPair) -> bool:
        self._cached = None
        return await replace_tokens(self._engine, self._channel, old_refresh_token,
                                    StoredTokens(new.access_token, new.refresh_token, new.expires_at))
