"""Rotating platform credentials (Zalo's single-use refresh token), replaced by compare-and-set."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from .tables import channel_tokens


@dataclass(frozen=True)
class StoredTokens:
    access_token: str
    refresh_token: str
    expires_at: datetime | None


async def load_tokens(engine: AsyncEngine, channel: str) -> StoredTokens | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(channel_tokens).where(channel_tokens.c.channel == channel))).first()
    if row is None:
        return None
    expires = row.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=timezone.utc)
    return StoredTokens(row.access_token, row.refresh_token, expires)


async def replace_tokens(engine: AsyncEngine, channel: str, old_refresh_token: str | None, new: StoredTokens) -> bool:
    """Store ``new`` only if the stored refresh token is still ``old_refresh_token`` (None: none stored yet)."""
    values = {"access_token": new.access_token, "refresh_token": new.refresh_token, "expires_at": new.expires_at,
              "updated_at": datetime.now(timezone.utc)}
    async with engine.begin() as conn:
        if old_refresh_token is None:
            try:
                await conn.execute(insert(channel_tokens).values(channel=channel, **values))
            except IntegrityError:
                return False
            return True
        changed = await conn.execute(update(channel_tokens).where(and_(
            channel_tokens.c.channel == channel, channel_tokens.c.refresh_token == old_refresh_token)).values(**values))
        return changed.rowcount == 1
