"""The live participation table per unit (what the 2021 pilot compiled by hand) and the invitee
list with each person's status, both for the caller's units only."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..invitations import invitation_links
from ..store.scope import Scope
from ..store.tables import outbox
from ..store.tables_campaigns import campaign_invitees as inv
from ..store.tables_campaigns import campaign_sends as sends
from .privacy import vault
from .status import campaign_unit_codes, invitee_rows, participation_query, rate

if TYPE_CHECKING:
    from ..services import Services


@dataclass(frozen=True)
class UnitRow:
    unit_code: str
    unit_name: str
    registered: int
    reached: int
    started: int
    completed: int
    rate: float | None  # completed / registered, percent

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def participation(services: "Services", campaign_id: str, *, scope: Scope) -> list[UnitRow]:
    """One row per unit of the campaign in the caller's scope, units that registered nobody
    included (a zero is news), then a total row with unit_code ``*``."""
    async with services.engine.connect() as conn:
        counted = {r.unit_code: r for r in await conn.execute(participation_query(campaign_id, scope))}
        units = list((await conn.execute(campaign_unit_codes(campaign_id, scope))).scalars())
    names = services.units
    rows: list[UnitRow] = []
    for code in sorted(set(units) | set(counted)):
        r = counted.get(code)
        reg, reached, started, done = (int(r.registered), int(r.reached), int(r.started), int(r.completed)) if r \
            else (0, 0, 0, 0)
        rows.append(UnitRow(code, names.name(code) or code, reg, reached, started, done, rate(done, reg)))
    total = [sum(getattr(r, f) for r in rows) for f in ("registered", "reached", "started", "completed")]
    rows.append(UnitRow("*", "Tổng cộng", *total, rate(total[3], total[0])))
    return rows


async def list_invitees(services: "Services", campaign_id: str, *, scope: Scope, status: str | None = None,
                        unit: str | None = None, by_unit: bool | None = None, limit: int = 100,
                        offset: int = 0) -> list[dict[str, Any]]:
    """Invitees with status, rounds sent and last delivery error; ``by_unit`` True lists the people
    the unit must send the links to itself (no chat address)."""
    rounds = (select(func.count()).where(sends.c.invitee_id == inv.c.id).scalar_subquery().label("messages"))
    last_error = (select(outbox.c.last_error)
                  .select_from(sends.join(outbox, (outbox.c.respondent_id == sends.c.respondent_id)
                                          & (outbox.c.seq == sends.c.seq)))
                  .where(sends.c.invitee_id == inv.c.id, outbox.c.status.in_(("failed", "window_closed")))
                  .order_by(sends.c.round.desc()).limit(1).scalar_subquery().label("delivery_error"))
    q = invitee_rows(campaign_id, scope, inv.c.id, inv.c.unit_code, inv.c.line, inv.c.name, inv.c.channel,
                     inv.c.address, inv.c.phone, inv.c.email, inv.c.code, inv.c.opted_out_at, rounds, last_error)
    if unit is not None:
        q = q.where((inv.c.unit_code == unit) | inv.c.unit_code.startswith(unit + ".", autoescape=True))
    if by_unit is not None:
        q = q.where(inv.c.address.is_(None) if by_unit else inv.c.address.is_not(None))
    if status is not None:
        sub = q.subquery()
        q = select(sub).where(sub.c.status == status).order_by(sub.c.unit_code, sub.c.line, sub.c.id)
    else:
        q = q.order_by(inv.c.unit_code, inv.c.line, inv.c.id)
    async with services.engine.connect() as conn:
        rows = (await conn.execute(q.limit(limit).offset(offset))).all()
    settings = services.settings
    out = []
    keys = vault(services)
    for r in rows:
        d = keys.opened(r._mapping)
        d.pop("disposition", None)
        d["links"] = invitation_links(settings, d["code"])
        d["sent_by_unit"] = d["address"] is None
        out.append(d)
    return out
