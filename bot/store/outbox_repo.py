"""Queries of the outbox sender: claim due messages with a lease, record each result, list failures.

Claiming moves ``next_attempt_at`` forward in one conditional UPDATE, so several processes can
send from one database without sending a message twice; a process that dies mid-send leaves a
lease that expires, and the row is tried again. A user's later message is not claimed while an
earlier one is pending or held by a closed messaging window: order per user holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..jsonio import loads
from ..sealing import Sealer
from .tables import contacts, outbox

# SQLite: one writer at a time, so the plain form is exact there
_CLAIM = """
UPDATE outbox SET next_attempt_at = :lease
WHERE id IN (
  SELECT o.id FROM outbox o
  WHERE o.status = 'pending' AND o.channel IN ({channels})
    AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= :now)
    AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.respondent_id = o.respondent_id AND e.seq < o.seq
                    AND e.status IN ('pending', 'window_closed'))
  ORDER BY o.id LIMIT :limit
)
AND status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= :now)
RETURNING id, respondent_id, seq, channel, payload, attempts, parts_sent
"""


# PostgreSQL: the candidates are locked once in a materialized CTE. As ``WHERE id IN (SELECT …
# LIMIT n FOR UPDATE SKIP LOCKED)`` the planner may rescan the subquery and claim several times
# ``n`` rows, so one process took a whole backlog while the others idled.
_CLAIM_PG = """
WITH due AS MATERIALIZED (
  SELECT o.id FROM outbox o
  WHERE o.status = 'pending' AND o.channel IN ({channels})
    AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= :now)
    AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.respondent_id = o.respondent_id AND e.seq < o.seq
                    AND e.status IN ('pending', 'window_closed'))
  ORDER BY o.id LIMIT :limit FOR UPDATE OF o SKIP LOCKED
)
UPDATE outbox SET next_attempt_at = :lease FROM due
WHERE outbox.id = due.id AND outbox.status = 'pending'
  AND (outbox.next_attempt_at IS NULL OR outbox.next_attempt_at <= :now)
RETURNING outbox.id, outbox.respondent_id, outbox.seq, outbox.channel, outbox.payload, outbox.attempts,
          outbox.parts_sent
"""


@dataclass(frozen=True)
class DueMessage:
    id: int
    respondent_id: str
    seq: int
    channel: str
    payload: dict[str, Any]
    attempts: int
    parts_sent: int


@dataclass(frozen=True)
class Contact:
    """Where and how a respondent can be reached on their platform."""

    respondent_id: str
    address: str
    last_inbound_at: datetime | None
    reply_token: str | None


class OutboxRepo:
    def __init__(self, engine: AsyncEngine, sealer: Sealer) -> None:
        self.engine = engine
        self._sealer = sealer
        self._claim_sql = _CLAIM_PG if engine.dialect.name == "postgresql" else _CLAIM

    async def claim(self, channels: list[str], *, now: datetime, lease: timedelta, limit: int) -> list[DueMessage]:
        names = ", ".join(f":ch{i}" for i in range(len(channels)))
        params: dict[str, Any] = {f"ch{i}": c for i, c in enumerate(channels)}
        params.update(lease=now + lease, now=now, limit=limit)
        sql = text(self._claim_sql.format(channels=names))
        async with self.engine.begin() as conn:
            rows = (await conn.execute(sql, params)).all()
        return sorted((DueMessage(r.id, r.respondent_id, r.seq, r.channel,
                                  r.payload if isinstance(r.payload, dict) else loads(r.payload), r.attempts,
                                  r.parts_sent) for r in rows), key=lambda m: m.id)

    async def contact(self, respondent_id: str) -> Contact | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(contacts).where(contacts.c.respondent_id == respondent_id))).first()
        if row is None:
            return None
        last = row.last_inbound_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=timezone.utc)
        return Contact(respondent_id, self._sealer.open(row.address, respondent_id), last, row.reply_token)

    async def progress(self, message_id: int, parts_sent: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(outbox).where(outbox.c.id == message_id).values(parts_sent=parts_sent))

    async def record(self, message_id: int, **values: Any) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(outbox).where(and_(outbox.c.id == message_id, outbox.c.status == "pending"))
                               .values(**values))

    async def failed(self, limit: int = 100) -> list[dict[str, Any]]:
        """Messages that finally failed, newest first: what operators must see."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.id, outbox.c.respondent_id, outbox.c.seq, outbox.c.channel,
                                              outbox.c.attempts, outbox.c.last_error, outbox.c.created_at)
                                       .where(outbox.c.status == "failed").order_by(outbox.c.id.desc())
                                       .limit(limit))).all()
        return [dict(r._mapping) for r in rows]

    async def requeue(self, ids: list[int]) -> int:
        """Failed messages back to the queue (an operator fixed the token, the user unblocked us)."""
        async with self.engine.begin() as conn:
            done = await conn.execute(update(outbox).where(and_(outbox.c.id.in_(ids), outbox.c.status == "failed"))
                                      .values(status="pending", attempts=0, next_attempt_at=None))
        return done.rowcount
