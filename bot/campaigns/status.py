"""What each invitee did, derived in SQL from what the system recorded anyway: the invitation's
response (started, partial, completed, refused), the outbox rows of the campaign's messages
(delivered, failed) and the contact's last message (opened). Nothing is copied, so the status
cannot disagree with the conversation, and unit scoping is one more condition in the same query.

Status, strongest first: completed, refused (refused in the survey, or opted out), partial
(answered some; an expired response counts here), started, opened (wrote to the bot after the
invitation arrived), delivered, failed (the platform refused it or the messaging window was
closed), invited (the code exists; queued, or to be sent by the unit).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, Select

from ..store.scope import Scope, within
from ..store.tables import contacts, invitations, outbox, responses
from ..store.tables_campaigns import campaign_invitees as inv
from ..store.tables_campaigns import campaign_sends as sends
from ..store.tables_campaigns import campaign_units

STATUSES = ("invited", "delivered", "opened", "started", "partial", "completed", "refused", "failed")
# statuses that stop every further message to the invitee
FINAL = ("completed", "refused")
REACHED = ("delivered", "opened", "started", "partial", "completed", "refused")
STARTED = ("started", "partial", "completed")


def _send_exists(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(sends.c.invitee_id == inv.c.id, outbox.c.respondent_id == sends.c.respondent_id,
                          outbox.c.seq == sends.c.seq, *where)


def status_columns() -> tuple[ColumnElement[str], ColumnElement[Any]]:
    """(status, disposition) over ``invitee_rows()``; both need its joins."""
    delivered = _send_exists(outbox.c.status == "sent")
    opened = _send_exists(outbox.c.status == "sent", contacts.c.respondent_id == inv.c.respondent_id,
                          contacts.c.last_inbound_at > outbox.c.sent_at)
    failed = _send_exists(outbox.c.status.in_(("failed", "window_closed")))
    d = responses.c.disposition
    status = case(
        (d == "completed", literal("completed")),
        (or_(d == "refused", inv.c.opted_out_at.is_not(None)), literal("refused")),
        (d.in_(("partial", "expired")), literal("partial")),
        (d == "started", literal("started")),
        (opened, literal("opened")),
        (delivered, literal("delivered")),
        (failed, literal("failed")),
        else_=literal("invited"))
    return status.label("status"), d.label("disposition")


def invitee_rows(campaign_id: str, scope: Scope, *columns: Any) -> Select[Any]:
    """Invitees of one campaign in the caller's units, joined to their invitation's response."""
    status, disposition = status_columns()
    return (select(*columns, status, disposition)
            .select_from(inv.outerjoin(invitations, invitations.c.code == inv.c.code)
                         .outerjoin(responses, responses.c.id == invitations.c.response_id))
            .where(inv.c.campaign_id == campaign_id, within(inv.c.unit_code, scope)))


def participation_query(campaign_id: str, scope: Scope) -> Select[Any]:
    """Per unit: registered, reached, started, completed (rate is computed by the caller)."""
    rows = invitee_rows(campaign_id, scope, inv.c.unit_code).subquery()
    s = rows.c.status

    def count(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    # someone who started and then refused did start
    started = or_(s.in_(STARTED), and_(s == "refused", rows.c.disposition.is_not(None)))
    return (select(rows.c.unit_code, func.count().label("registered"), count(s.in_(REACHED)).label("reached"),
                   count(started).label("started"), count(s == "completed").label("completed"))
            .group_by(rows.c.unit_code))


def campaign_unit_codes(campaign_id: str, scope: Scope) -> Select[Any]:
    return select(campaign_units.c.unit_code).where(campaign_units.c.campaign_id == campaign_id,
                                                    within(campaign_units.c.unit_code, scope))


def rate(completed: int, registered: int) -> float | None:
    """Completed per registered, in percent: the 2021 pilot's measure (949 of 2,429 = 39%)."""
    return round(100.0 * completed / registered, 1) if registered else None
