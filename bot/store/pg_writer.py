"""The PostgreSQL fast path: a message's whole write as ONE prepared statement on asyncpg.

Answering a survey question is the hot path (about 45 writes per response, thousands per second
in a national survey week). Through SQLAlchemy it costs a checkout, BEGIN, five statements and
COMMIT: about 8 round trips and 2 ms of CPU. Here data-modifying CTEs do the same in one
autocommitted statement, which PostgreSQL runs atomically. Rare shapes (a new response, an
invitation claim) go through the portable writer.
"""
from __future__ import annotations

import asyncpg

from ..jsonio import dumps as _json
from .sa_writer import SqlAlchemyWriter
from .writes import DuplicateMessage, MessageWrite

_WRITE = """
WITH r AS (
  UPDATE responses SET disposition = $3, state = $4::json, unit_code = $5, updated_at = $2::timestamptz,
         completed_at = CASE WHEN $6::bool THEN $2::timestamptz ELSE NULL END
  WHERE id = $7::varchar AND $8::bool
  RETURNING 1
), d AS (
  DELETE FROM answers WHERE response_id = $7::varchar AND key = ANY($9::varchar[])
  RETURNING 1
), a AS (
  INSERT INTO answers (response_id, key, value, answered_at)
  SELECT $7::varchar, k, v::json, $2::timestamptz FROM unnest($10::varchar[], $11::text[]) AS t(k, v)
  ON CONFLICT (response_id, key) DO UPDATE SET value = EXCLUDED.value, answered_at = EXCLUDED.answered_at
  RETURNING 1
), o AS (
  INSERT INTO outbox (respondent_id, seq, channel, payload, status, attempts, created_at, sent_at)
  SELECT $1::varchar, s, $12::varchar, p::json, $13::varchar, 0, $2::timestamptz, CASE WHEN $13::varchar = 'sent' THEN $2::timestamptz END
  FROM unnest($14::int[], $15::text[]) AS t(s, p)
  RETURNING 1
)
INSERT INTO processed_messages (respondent_id, message_key, first_seq, last_seq, flow_state, created_at)
SELECT $1::varchar, $16::varchar, $17::int, $18::int, $19::json, $2::timestamptz WHERE $16::varchar IS NOT NULL
"""


async def _no_reset(_: asyncpg.Connection) -> None:
    """By default asyncpg sends RESET ALL, UNLISTEN *, CLOSE ALL… on every release: one more round
    trip per message. This pool only runs the single autocommitted statement above and never sets
    session state, so there is nothing to reset."""


class AsyncpgWriter:
    def __init__(self, dsn: str, fallback: SqlAlchemyWriter, *, pool_size: int = 10) -> None:
        self._dsn = dsn
        self._fallback = fallback
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=self._pool_size,
                                                   max_inactive_connection_lifetime=300, reset=_no_reset)
        return self._pool

    async def write(self, w: MessageWrite) -> None:
        if not w.simple:
            await self._fallback.write(w)
            return
        r, p = w.response, w.processed
        args = (
            w.respondent_id, w.now,
            r.disposition if r else None, _json(r.state) if r else None, r.unit_code if r else None,
            bool(r and r.completed), r.id if r else None, r is not None,
            list(w.answers_cleared), list(w.answers_set), [_json(v) for v in w.answers_set.values()],
            w.channel, w.outbox_status, [o.seq for o in w.outbox], [_json(o.payload) for o in w.outbox],
            p.message_key if p else None, p.first_seq if p else None, p.last_seq if p else None,
            _json(p.flow_state) if p else None,
        )
        pool = await self._get_pool()
        try:
            await pool.execute(_WRITE, *args)
        except asyncpg.UniqueViolationError as e:
            raise DuplicateMessage(str(e)) from e

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
