"""Invitation codes (a link or a short code that binds a respondent to a flow, a unit and the
link's context) and the expiry sweep for unfinished responses."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import and_, select, update

from .flows import FlowState
from .store.tables import invitations, responses

if TYPE_CHECKING:
    from .services import Services
    from .settings import Settings

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


async def create_invitations(services: "Services", *, flow_id: str, count: int = 1, unit: str | None = None,
                             context: dict[str, str] | None = None, valid_days: int | None = None) -> list[str]:
    flow = await services.flows.get(flow_id)
    if flow is None:
        raise ValueError(f"no flow named {flow_id!r}")
    if unit is not None and services.units.name(unit) is None:
        raise ValueError(f"no unit with code {unit!r}")
    if count < 1 or count > 100_000:
        raise ValueError("count must be between 1 and 100000")
    now = datetime.now(timezone.utc)
    codes = [new_code() for _ in range(count)]
    async with services.engine.begin() as conn:
        await conn.execute(invitations.insert(), [
            {"code": c, "flow_id": flow_id, "unit_code": unit, "context": context or None, "created_at": now,
             "expires_at": now + timedelta(days=valid_days) if valid_days else None} for c in codes])
    return codes


async def expire_stale(services: "Services") -> int:
    """Mark started/partial responses older than their flow's ``expires_after_days`` as expired."""
    now = datetime.now(timezone.utc)
    n = 0
    for flow in await services.flows.open_flows():
        days = flow.settings.expires_after_days
        if not days:
            continue
        cutoff = now - timedelta(days=days)
        async with services.engine.begin() as conn:
            rows = (await conn.execute(select(responses.c.id, responses.c.state, responses.c.respondent_id).where(and_(
                responses.c.flow_id == flow.id, responses.c.disposition.in_(("started", "partial")),
                responses.c.started_at < cutoff)))).all()
            for r in rows:
                state = FlowState.from_json(r.state).to_json() | {"status": "expired", "stage": "done", "current": None}
                await conn.execute(update(responses).where(responses.c.id == r.id).values(
                    disposition="expired", state=state, updated_at=now))
        for r in rows:
            await services.state.delete(r.respondent_id)
        n += len(rows)
    return n


def invitation_links(settings: "Settings", code: str) -> dict[str, str]:
    """The invitation as a link per enabled channel. Zalo's chat link carries no parameter, so its
    entry is the OA link and the user sends the code as their first message."""
    links = {"web": f"{settings.base_url}/c/{code}"}
    if settings.telegram_enabled and settings.telegram_bot_username:
        links["telegram"] = f"https://t.me/{settings.telegram_bot_username.lstrip('@')}?start={code}"
    if settings.messenger_enabled and settings.messenger_page:
        links["messenger"] = f"https://m.me/{settings.messenger_page}?ref={code}"
    if settings.zalo_enabled and settings.zalo_oa_id:
        links["zalo"] = f"https://zalo.me/{settings.zalo_oa_id}"
    return links
