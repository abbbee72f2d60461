"""The audit log: every change made through the admin API is written in the same transaction as
the change itself, so there is no change without its record and no record of a change that failed."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.tables import audit_log

from .roles import Principal, within


async def record(conn: AsyncConnection, who: Principal | None, action: str, object_type: str, object_id: str | None,
                 unit_code: str | None = None, **details: Any) -> None:
    await conn.execute(audit_log.insert().values(
        at=datetime.now(timezone.utc), user_id=who.user_id if who else None, action=action,
        object_type=object_type, object_id=object_id, unit_code=unit_code, details=details or None))


async def entries(conn: AsyncConnection, scope: frozenset[str] | None, *, limit: int, offset: int,
                  object_type: str | None = None, object_id: str | None = None) -> list[dict[str, Any]]:
    q = select(audit_log).where(within(audit_log.c.unit_code, scope))
    if object_type:
        q = q.where(audit_log.c.object_type == object_type)
    if object_id:
        q = q.where(audit_log.c.object_id == object_id)
    rows = (await conn.execute(q.order_by(audit_log.c.id.desc()).limit(limit).offset(offset))).all()
    return [dict(r._mapping) for r in rows]
