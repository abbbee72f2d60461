"""``send_due``: puts the invitations and reminders that are due into the outbox, paced per
channel and inside each campaign's allowed hours. The outbox sender delivers them like any other
message (retries, messaging windows, delivery results), so campaigns add no second delivery path.

Exactly once per (invitee, round): the ``campaign_sends`` row and the outbox message are written in
one transaction, under the respondent's lock, and the row's primary key refuses a second copy. A
crash before the commit leaves nothing (the round is still due); after it, the round is done. So
a restart, a second server process or an overlapping tick never messages anyone twice.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..flows import Flow
from ..invitations import invitation_links
from ..logs import log
from ..sealing import Sealer
from ..store.db import upsert
from ..store.flows_repo import is_open
from ..store.tables import contacts, invitations, outbox, responses
from ..store.tables_campaigns import campaign_invitees as inv
from ..store.tables_campaigns import campaign_sends as sends
from ..store.tables_campaigns import campaigns
from .hours import TZ, SendingHours
from .messages import invitation
from .pacing import CAPS, HORIZON, reserve, slot_step
from .privacy import vault

if TYPE_CHECKING:
    from ..services import Services
    from ..settings import Settings


@dataclass(frozen=True)
class Due:
    invitee_id: str
    unit_code: str
    address: str
    code: str
    respondent_id: str | None
    round: int


def enabled_channels(settings: "Settings") -> list[str]:
    """Platforms this server can send on; invitees of others wait (their status stays invited)."""
    on = {"zalo": settings.zalo_enabled, "telegram": settings.telegram_enabled,
          "messenger": settings.messenger_enabled}
    return [c for c, enabled in on.items() if enabled]


async def send_due(services: "Services", now: datetime, *, caps: dict[str, float] | None = None,
                   horizon: timedelta = HORIZON) -> int:
    """Queue what is due at ``now``; returns how many messages were queued. Call it every few
    seconds: each call reserves slots up to ``horizon`` ahead, never past the window's end."""
    caps = CAPS if caps is None else caps
    channels = [c for c in enabled_channels(services.settings) if caps.get(c)]
    if not channels:
        return 0
    async with services.engine.connect() as conn:
        active = (await conn.execute(select(campaigns).where(campaigns.c.status == "sending")
                                     .order_by(campaigns.c.started_at, campaigns.c.id))).all()
    queued = 0
    for c in active:
        end = SendingHours.of(c.send_from, c.send_until, c.weekdays_only).window_end(now)
        flow = await services.flows.get(c.flow_id)
        if end is None or flow is None or not is_open(flow, now.astimezone(TZ).date()):
            continue
        until = min(now + horizon, end)
        for channel in channels:
            queued += await _send_channel(services, c, flow, channel, now=now, until=until, rate=caps[channel])
    return queued


async def _send_channel(services: "Services", c: Any, flow: Flow, channel: str, *, now: datetime,
                        until: datetime, rate: float) -> int:
    room = math.floor((until - now) / slot_step(rate)) + 1
    due = await _due(services, c, channel, now, room)
    if not due:
        return 0
    async with services.engine.begin() as conn:
        slots = await reserve(conn, channel, now=now, until=until, want=len(due), rate=rate)
    batch = list(zip(due, slots))
    queued = await _enqueue_batch(services, c, flow, channel, batch, now)
    if queued is None:  # some round was queued meanwhile (another process): one by one, skipping those
        queued = 0
        for item, slot in batch:
            queued += await _enqueue(services, c, flow, channel, item, slot, now)
    if queued:
        log("campaign.queued", campaign=c.id, channel=channel, messages=queued,
            first=slots[0].isoformat(), last=slots[len(slots) - 1].isoformat())
    return queued


async def _due(services: "Services", c: Any, channel: str, now: datetime, limit: int) -> list[Due]:
    """Invitations not sent yet, then reminders whose time has come; never to anyone who has
    completed, refused or opted out."""
    cols = (inv.c.id, inv.c.unit_code, inv.c.address, inv.c.code, inv.c.respondent_id)
    not_final = or_(responses.c.id.is_(None), responses.c.disposition.in_(("started", "partial")))
    first = (select(*cols)
             .select_from(inv.join(invitations, invitations.c.code == inv.c.code))
             .where(inv.c.campaign_id == c.id, inv.c.channel == channel, inv.c.address.is_not(None),
                    inv.c.opted_out_at.is_(None), invitations.c.response_id.is_(None),
                    ~select(sends.c.invitee_id).where(sends.c.invitee_id == inv.c.id, sends.c.round == 0).exists())
             .order_by(inv.c.created_at, inv.c.line).limit(limit))
    keys = vault(services)
    async with services.engine.connect() as conn:
        out = [Due(r.id, r.unit_code, keys.sealer.open(r.address, r.id), r.code, r.respondent_id, 0)
               for r in await conn.execute(first)]
        if len(out) < limit and c.max_reminders > 0:
            last = (select(sends.c.invitee_id, func.max(sends.c.round).label("r"))
                    .where(sends.c.campaign_id == c.id, sends.c.channel == channel)
                    .group_by(sends.c.invitee_id).subquery())
            remind = (select(*cols, last.c.r)
                      .select_from(inv.join(last, last.c.invitee_id == inv.c.id)
                                   .join(sends, and_(sends.c.invitee_id == inv.c.id, sends.c.round == last.c.r))
                                   .join(outbox, and_(outbox.c.respondent_id == sends.c.respondent_id,
                                                      outbox.c.seq == sends.c.seq))
                                   .join(invitations, invitations.c.code == inv.c.code)
                                   .outerjoin(responses, responses.c.id == invitations.c.response_id))
                      .where(inv.c.campaign_id == c.id, inv.c.opted_out_at.is_(None), last.c.r < c.max_reminders,
                             outbox.c.status == "sent",
                             outbox.c.sent_at <= now - timedelta(days=c.reminder_after_days), not_final)
                      .order_by(outbox.c.sent_at, inv.c.id).limit(limit - len(out)))
            out += [Due(r.id, r.unit_code, keys.sealer.open(r.address, r.id), r.code, r.respondent_id, r.r + 1)
                    for r in await conn.execute(remind)]
    return out


def _message(services: "Services", c: Any, flow: Flow, item: Due) -> dict[str, Any]:
    message = invitation(round_=item.round, unit=services.units.name(item.unit_code) or item.unit_code,
                         title=flow.title, code=item.code,
                         web=invitation_links(services.settings, item.code)["web"]).to_json()
    # the outbox sender holds retries to the campaign's hours too (channels/outbox_sender.py)
    message["hours"] = SendingHours.of(c.send_from, c.send_until, bool(c.weekdays_only)).to_json()
    return message


async def _write(conn: AsyncConnection, sealer: Sealer, c: Any, channel: str,
                 batch: list[tuple[Due, datetime, str, dict[str, Any]]], now: datetime) -> None:
    """The sends rows, their outbox messages and the contacts, in the caller's transaction."""
    rids = sorted({rid for _, _, rid, _ in batch})
    last = dict((await conn.execute(select(outbox.c.respondent_id, func.max(outbox.c.seq))
                                    .where(outbox.c.respondent_id.in_(rids))
                                    .group_by(outbox.c.respondent_id))).all())
    send_rows, outbox_rows, contact_rows, new_rids = [], [], [], []
    for item, slot, rid, message in batch:
        seq = last[rid] = (last.get(rid) or 0) + 1
        send_rows.append({"invitee_id": item.invitee_id, "round": item.round, "campaign_id": c.id,
                          "channel": channel, "respondent_id": rid, "seq": seq, "scheduled_at": slot,
                          "created_at": now})
        outbox_rows.append({"respondent_id": rid, "seq": seq, "channel": channel, "payload": message,
                            "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": slot,
                            "parts_sent": 0})
        contact_rows.append({"respondent_id": rid, "channel": channel, "address": sealer.seal(item.address, rid),
                             "last_inbound_at": None, "reply_token": None, "updated_at": now})
        if item.respondent_id is None:
            new_rids.append({"iid": item.invitee_id, "rid": rid})
    await conn.execute(insert(sends), send_rows)
    await conn.execute(insert(outbox), outbox_rows)
    # where to send; a person who already chats with the bot keeps their own record
    await conn.execute(upsert(conn.dialect.name, contacts, contact_rows, ["respondent_id"]))
    if new_rids:
        await conn.execute(update(inv).where(inv.c.id == bindparam("iid")).values(respondent_id=bindparam("rid")),
                           new_rids)


async def _prepare(services: "Services", c: Any, flow: Flow, channel: str, batch: list[tuple[Due, datetime]],
                   now: datetime) -> list[tuple[Due, datetime, str, dict[str, Any]]]:
    """Each invitee's pseudonymous respondent (created at the first send) and the message text."""
    created = await services.conversation.respondent_ids(
        channel, [i.address for i, _ in batch if not i.respondent_id], now=now)
    return [(item, slot, item.respondent_id or created[item.address], _message(services, c, flow, item))
            for item, slot in batch]


async def _enqueue_batch(services: "Services", c: Any, flow: Flow, channel: str, batch: list[tuple[Due, datetime]],
                         now: datetime) -> int | None:
    """All in one transaction under every respondent's lock (taken in a fixed order, so two
    processes cannot deadlock); None when a round turned out to be queued already."""
    if not batch:
        return 0
    prepared = await _prepare(services, c, flow, channel, batch, now)
    async with contextlib.AsyncExitStack() as stack:
        held = [await stack.enter_async_context(services.state.hold(rid))
                for rid in sorted({rid for _, _, rid, _ in prepared})]
        try:
            async with services.engine.begin() as conn:
                await _write(conn, services.sealer, c, channel, prepared, now)
        except IntegrityError:
            return None
        for slot in held:  # the conversation's cached sequence number is now behind: re-read it
            slot.drop()
    return len(prepared)


async def _enqueue(services: "Services", c: Any, flow: Flow, channel: str, item: Due, slot: datetime,
                   now: datetime) -> int:
    [prepared] = await _prepare(services, c, flow, channel, [(item, slot)], now)
    async with services.state.hold(prepared[2]) as cached:
        try:
            async with services.engine.begin() as conn:
                await _write(conn, services.sealer, c, channel, [prepared], now)
        except IntegrityError:
            # this round is already queued (another process, an overlapping tick): nothing to do
            log("campaign.already_queued", campaign=c.id, invitee=item.invitee_id, round=item.round)
            return 0
        cached.drop()
    return 1
