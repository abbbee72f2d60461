"""A token store in process memory: for tests and single-process development, where no database
holds the pair. Production needs a shared, durable store (the refresh token lasts months)."""
from __future__ import annotations

from .tokens import TokenPair


class MemoryTokenStore:
    """``TokenStore`` with compare-and-set on the refresh token; atomic because it never awaits."""

    def __init__(self, initial: TokenPair | None = None) -> None:
        self._pair = initial

    async def load(self, *, fresh: bool = False) -> TokenPair | None:
        return self._pair

    async def replace(self, old_refresh_token: str | None, new: TokenPair) -> bool:
        stored = self._pair.refresh_token if self._pair is not None else None
        if stored != old_refresh_token:
            return False
        self._pair = new
        return True
