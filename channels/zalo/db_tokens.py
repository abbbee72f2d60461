"""The OA's token pair in the database, shared by every server process, replaced by compare-and-set."""
from __future__ import annotations

from datetime import datetime, timezone

from bot.store.db import AsyncEngine
from bot.store.tokens_repo import StoredTokens, load_tokens, replace_tokens

from .tokens import TokenPair


class DbTokenStore:
    def __init__(self, engine: AsyncEngine, channel: str = "zalo") -> None:
        self._engine = engine
        self._channel = channel

    async def load(self) -> TokenPair | None:
        stored = await load_tokens(self._engine, self._channel)
        if stored is None:
            return None
        return TokenPair(stored.access_token, stored.refresh_token, stored.expires_at or datetime.now(timezone.utc))

    async def replace(self, old_refresh_token: str | None, new: TokenPair) -> bool:
        return await replace_tokens(self._engine, self._channel, old_refresh_token,
                                    StoredTokens(new.access_token, new.refresh_token, new.expires_at))
