"""The pseudonymous respondents invitations are addressed to, created in bulk.

One transaction for a whole batch instead of one per person: on a server whose disk makes every
commit cost milliseconds, 10,000 single-row transactions take a minute. The key hash is the
conversation service's own, so a person who answers is the same respondent the campaign wrote
to. (``ConversationService`` has only a one-at-a-time public method; a public bulk one there
would let this module drop its use of ``_key_hash``.)
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, select

from ..store.db import upsert
from ..store.tables import respondents

if TYPE_CHECKING:
    from ..services import Services


async def respondent_ids(services: "Services", channel: str, keys: list[str], now: datetime) -> dict[str, str]:
    """Platform id → respondent id, creating the respondents that do not exist yet."""
    if not keys:
        return {}
    hashes = {services.conversation._key_hash(channel, k): k for k in dict.fromkeys(keys)}
    async with services.engine.begin() as conn:
        await conn.execute(upsert(conn.dialect.name, respondents, [
            {"id": "r" + secrets.token_hex(8), "channel": channel, "key_hash": h, "created_at": now} for h in hashes],
            ["channel", "key_hash"]))
        rows = (await conn.execute(select(respondents.c.key_hash, respondents.c.id).where(and_(
            respondents.c.channel == channel, respondents.c.key_hash.in_(list(hashes)))))).all()
    return {hashes[r.key_hash]: r.id for r in rows}
