"""Analysts' quality-control overrides ("include anyway" / "exclude anyway"), stored so they
survive every recomputation of the flags."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, delete, select

from ..store.db import create_engine_sync
from ..store.tables import responses
from ..store.tables_analytics import qc_overrides
from .frame import connect

DECISIONS = ("include", "exclude")


def load_overrides(db: str | Engine, flow_id: str) -> dict[str, tuple[str, str]]:
    """{response_id: (decision, reason)} for every override on a response of ``flow_id``."""
    with connect(db) as conn:
        rows = conn.execute(select(qc_overrides.c.response_id, qc_overrides.c.decision, qc_overrides.c.reason)
                            .join(responses, responses.c.id == qc_overrides.c.response_id)
                            .where(responses.c.flow_id == flow_id)).all()
    return {r.response_id: (r.decision, r.reason) for r in rows}


def set_override(db: str | Engine, response_id: str, decision: str | None, reason: str, *,
                 decided_by: str | None = None, now: datetime | None = None) -> str:
    """Record (or with ``decision`` None, remove) an override; returns the response's flow id.
    ValueError for an unknown response, a decision other than include/exclude, or no reason."""
    if decision is not None and decision not in DECISIONS:
        raise ValueError(f"decision must be include or exclude, not {decision!r}")
    if decision is not None and not reason.strip():
        raise ValueError("an override needs a reason (--reason TEXT): it is shown next to the scores")
    engine = create_engine_sync(db) if isinstance(db, str) else db
    try:
        with engine.begin() as conn:
            flow_id = conn.execute(select(responses.c.flow_id).where(responses.c.id == response_id)).scalar()
            if flow_id is None:
                raise ValueError(f"no response {response_id}")
            conn.execute(delete(qc_overrides).where(qc_overrides.c.response_id == response_id))
            if decision is not None:
                conn.execute(qc_overrides.insert().values(
                    response_id=response_id, decision=decision, reason=reason.strip(), decided_by=decided_by,
                    decided_at=now or datetime.now(timezone.utc)))
        return str(flow_id)
    finally:
        if isinstance(db, str):
            engine.dispose()
