"""Campaigns as an official manages them: create, read (only the units one administers), import
lists, start and pause, change hours and reminders, record an opt-out. Every change takes an
``on_change`` callback run in the same transaction (the admin API writes its audit record there).
"""
from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..invitations import new_code
from ..logs import log
from ..store.flows_repo import is_open
from ..store.scope import Scope, covers, within
from ..store.tables import invitations
from ..store.tables_campaigns import campaign_invitees, campaign_units, campaigns
from .hours import TZ, SendingHours
from .lists import ListChecker, ListRow, RawRow, RowError
from .privacy import InviteeVault, vault

if TYPE_CHECKING:
    from ..services import Services

OnChange = Callable[[AsyncConnection, dict[str, Any]], Awaitable[None]]
SETTINGS = ("name", "send_from", "send_until", "weekdays_only", "reminder_after_days", "max_reminders", "valid_days")


class OutsideScope(PermissionError):
    """A unit the caller does not administer (or a campaign that also covers such units)."""


class CampaignConflict(RuntimeError):
    """Not possible as things stand: starting without invitees, a window that ends before it starts."""


class ListRejected(ValueError):
    """The list has bad rows; nothing was imported."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problems in the list")
        self.errors = errors


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    flow_id: str
    units: tuple[str, ...]
    send_from: str = "08:00"
    send_until: str = "20:00"
    weekdays_only: bool = False
    reminder_after_days: int = 3
    max_reminders: int = 2
    valid_days: int | None = None


@dataclass(frozen=True)
class Imported:
    imported: int
    by_chat: dict[str, int]
    by_unit: int  # no chat address: the unit sends the links itself


def visible(scope: Scope) -> Any:
    """A campaign is visible to whoever administers at least one of its units."""
    return exists().where(campaign_units.c.campaign_id == campaigns.c.id, within(campaign_units.c.unit_code, scope))


async def _noop(conn: AsyncConnection, change: dict[str, Any]) -> None:
    return None


def _check_settings(values: dict[str, Any]) -> None:
    try:
        SendingHours.of(values["send_from"], values["send_until"])
    except ValueError as e:
        raise CampaignConflict(str(e)) from None


async def create_campaign(services: "Services", spec: CampaignSpec, *, scope: Scope, by: str | None,
                          now: datetime, on_change: OnChange = _noop) -> str:
    flow = await services.flows.get(spec.flow_id)
    if flow is None:
        raise LookupError(f"survey {spec.flow_id!r}")
    units = tuple(dict.fromkeys(spec.units))
    for u in units:
        if services.units.name(u) is None and not any(u.startswith(k + ".") for k in services.units.units):
            raise LookupError(f"unit {u!r}")
        if not covers(scope, u):
            raise OutsideScope(f"unit {u!r} is not one you administer")
    values = {k: v for k, v in asdict(spec).items() if k != "units"}
    _check_settings(values)
    cid = "c" + secrets.token_hex(8)
    async with services.engine.begin() as conn:
        await conn.execute(campaigns.insert().values(id=cid, status="draft", created_by=by, created_at=now,
                                                     updated_at=now, **values))
        await conn.execute(campaign_units.insert(), [{"campaign_id": cid, "unit_code": u} for u in units])
        await on_change(conn, {"unit_code": units[0] if len(units) == 1 else None, "campaign_id": cid,
                               "flow_id": spec.flow_id,
                               "units": list(units)})
    log("campaign.created", campaign=cid, flow=spec.flow_id, units=len(units))
    return cid


async def list_campaigns(services: "Services", *, scope: Scope, limit: int, offset: int) -> list[dict[str, Any]]:
    async with services.engine.connect() as conn:
        rows = (await conn.execute(select(campaigns).where(visible(scope))
                                   .order_by(campaigns.c.created_at.desc(), campaigns.c.id)
                                   .limit(limit).offset(offset))).all()
        return [await _with_units(conn, dict(r._mapping), scope) for r in rows]


async def get_campaign(services: "Services", campaign_id: str, *, scope: Scope) -> dict[str, Any] | None:
    async with services.engine.connect() as conn:
        return await _get(conn, campaign_id, scope)


async def _get(conn: AsyncConnection, campaign_id: str, scope: Scope) -> dict[str, Any] | None:
    row = (await conn.execute(select(campaigns).where(campaigns.c.id == campaign_id, visible(scope)))).first()
    return await _with_units(conn, dict(row._mapping), scope) if row else None


async def _with_units(conn: AsyncConnection, c: dict[str, Any], scope: Scope) -> dict[str, Any]:
    c["units"] = list((await conn.execute(select(campaign_units.c.unit_code).where(
        campaign_units.c.campaign_id == c["id"], within(campaign_units.c.unit_code, scope))
        .order_by(campaign_units.c.unit_code))).scalars())
    c["invitees"] = (await conn.execute(select(func.count()).select_from(campaign_invitees).where(
        campaign_invitees.c.campaign_id == c["id"], within(campaign_invitees.c.unit_code, scope)))).scalar_one()
    return c


async def update_campaign(services: "Services", campaign_id: str, changes: dict[str, Any], *, scope: Scope,
                          now: datetime, on_change: OnChange = _noop) -> dict[str, Any]:
    changes = {k: v for k, v in changes.items() if k in SETTINGS}
    async with services.engine.begin() as conn:
        current = await _administered(conn, campaign_id, scope)
        _check_settings({**current, **changes})
        await conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(updated_at=now, **changes))
        await on_change(conn, {"unit_code": _audit_unit(current), **changes})
        return await _get(conn, campaign_id, scope) or current


async def set_status(services: "Services", campaign_id: str, status: str, *, scope: Scope, now: datetime,
                     on_change: OnChange = _noop) -> dict[str, Any]:
    """``sending`` or ``paused``. Pausing stops new messages at once; what is already queued in the
    outbox for the next seconds still goes out (it is a slot, not a backlog)."""
    async with services.engine.begin() as conn:
        current = await _administered(conn, campaign_id, scope)
        if status == "sending":
            count = (await conn.execute(select(func.count()).select_from(campaign_invitees).where(
                campaign_invitees.c.campaign_id == campaign_id))).scalar_one()
            if not count:
                raise CampaignConflict("the campaign has nobody to invite yet: upload a list first")
            flow = await services.flows.get(current["flow_id"])
            if flow is None or not is_open(flow, now.astimezone(TZ).date()):
                raise CampaignConflict("the survey is closed: open it before sending invitations")
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == "sending" and current["started_at"] is None:
            values["started_at"] = now
        await conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(**values))
        await on_change(conn, {"unit_code": _audit_unit(current), "status": status})
        result = await _get(conn, campaign_id, scope)
    log("campaign.status", campaign=campaign_id, status=status)
    assert result is not None
    return result


async def _administered(conn: AsyncConnection, campaign_id: str, scope: Scope) -> dict[str, Any]:
    """The campaign, if the caller administers ALL its units (changing a national campaign is the
    ministry's business, not one province's); LookupError when not visible at all."""
    c = await _get(conn, campaign_id, scope)
    if c is None:
        raise LookupError("campaign")
    every = (await conn.execute(select(campaign_units.c.unit_code).where(
        campaign_units.c.campaign_id == campaign_id))).scalars().all()
    if not all(covers(scope, u) for u in every):
        raise OutsideScope("the campaign also covers units you do not administer")
    return c


def _audit_unit(c: dict[str, Any]) -> str | None:
    return c["units"][0] if len(c["units"]) == 1 else None


# ---- lists -------------------------------------------------------------------------------------

async def import_list(services: "Services", campaign_id: str, raw: list[RawRow], *, scope: Scope, now: datetime,
                      on_change: OnChange = _noop) -> Imported:
    """Checks every row, then stores all of them with their codes in one transaction, or none."""
    async with services.engine.connect() as conn:
        c = await _get(conn, campaign_id, scope)
        if c is None:
            raise LookupError("campaign")
        keys = vault(services)
        known = await _known(conn, campaign_id, keys)
    checker = ListChecker(services.units, frozenset(u for u in c["units"] if covers(scope, u)),
                          now.astimezone(TZ).date(), known, keys.digest)
    checked = checker.check(raw)
    if checked.errors:
        raise ListRejected(checked.errors)
    if not checked.rows:
        raise ListRejected([RowError(1, None, "the list has nobody in it")])
    expires = now + timedelta(days=c["valid_days"]) if c["valid_days"] else None
    for attempt in range(3):  # a code collision (1 in 10^11 per code) rolls back; new codes, again
        try:
            async with services.engine.begin() as conn:
                await _store(conn, keys, c, checked.rows, now, expires)
                await on_change(conn, {"unit_code": _audit_unit(c), "imported": len(checked.rows)})
            break
        except IntegrityError:
            if attempt == 2:
                raise
    by_chat: dict[str, int] = {}
    for r in checked.rows:
        if r.channel:
            by_chat[r.channel] = by_chat.get(r.channel, 0) + 1
    result = Imported(len(checked.rows), by_chat, sum(1 for r in checked.rows if not r.channel))
    log("campaign.list_imported", campaign=campaign_id, imported=result.imported, by_unit=result.by_unit)
    return result


async def _known(conn: AsyncConnection, campaign_id: str, keys: InviteeVault) -> dict[str, int]:
    """Who is on the list already, as identity digests: nothing is decrypted to compare."""
    rows = (await conn.execute(select(
        campaign_invitees.c.id, campaign_invitees.c.line, campaign_invitees.c.channel, campaign_invitees.c.address,
        campaign_invitees.c.phone, campaign_invitees.c.email, campaign_invitees.c.address_digest,
        campaign_invitees.c.phone_digest, campaign_invitees.c.email_digest).where(
        campaign_invitees.c.campaign_id == campaign_id))).all()
    known: dict[str, int] = {}
    for r in rows:
        for digest in keys.identity_digests(r._mapping):
            known.setdefault(digest, r.line)
    return known


async def _store(conn: AsyncConnection, keys: InviteeVault, c: dict[str, Any], rows: list[ListRow], now: datetime,
                 expires: datetime | None) -> None:
    codes = set[str]()
    while len(codes) < len(rows):
        codes.add(new_code())
    batch = 5_000
    for start in range(0, len(rows), batch):
        chunk = list(zip(rows[start:start + batch], list(codes)[start:start + batch]))
        await conn.execute(insert(invitations), [
            {"code": code, "flow_id": c["flow_id"], "unit_code": r.unit_code, "context": None, "created_at": now,
             "expires_at": expires} for r, code in chunk])
        ids = ["i" + secrets.token_hex(8) for _ in chunk]
        await conn.execute(insert(campaign_invitees), [
            {"id": iid, "campaign_id": c["id"], "unit_code": r.unit_code, "line": r.line, "channel": r.channel,
             **keys.sealed_row(iid, r), "code": code, "respondent_id": None, "opted_out_at": None, "created_at": now}
            for iid, (r, code) in zip(ids, chunk)])


async def opt_out(services: "Services", campaign_id: str, invitee_id: str, *, scope: Scope, now: datetime,
                  on_change: OnChange = _noop) -> None:
    """The person said no (by phone, in person, or STOP in the chat): no more messages."""
    async with services.engine.begin() as conn:
        row = (await conn.execute(select(campaign_invitees.c.unit_code, campaign_invitees.c.opted_out_at).where(
            campaign_invitees.c.id == invitee_id, campaign_invitees.c.campaign_id == campaign_id,
            within(campaign_invitees.c.unit_code, scope)))).first()
        if row is None:
            raise LookupError("invitee")
        if row.opted_out_at is None:
            await _mark_opted_out(conn, [invitee_id], now)
            await on_change(conn, {"unit_code": row.unit_code})
    log("campaign.opt_out", campaign=campaign_id, invitee=invitee_id)


async def opt_out_respondent(engine: AsyncEngine, respondent_id: str, now: datetime) -> int:
    """STOP typed in the chat outside a survey: every campaign that wrote to this respondent stops
    (the citizen does not know, and should not need to know, which campaign a reminder came from).
    Returns how many invitations were opted out."""
    async with engine.begin() as conn:
        rows = (await conn.execute(select(campaign_invitees.c.id, campaign_invitees.c.campaign_id).where(
            campaign_invitees.c.respondent_id == respondent_id, campaign_invitees.c.opted_out_at.is_(None)))).all()
        await _mark_opted_out(conn, [r.id for r in rows], now)
    for r in rows:
        log("campaign.opt_out", campaign=r.campaign_id, invitee=r.id, by="chat")
    return len(rows)


async def _mark_opted_out(conn: AsyncConnection, invitee_ids: list[str], now: datetime) -> None:
    """The one place an opt-out is written; the sender's queries skip these rows from then on."""
    if invitee_ids:
        await conn.execute(update(campaign_invitees).where(campaign_invitees.c.id.in_(invitee_ids),
                                                           campaign_invitees.c.opted_out_at.is_(None))
                           .values(opted_out_at=now))
