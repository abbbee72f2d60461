"""Questions forwarded to officials: the inbox workflow (assign, answer, review and approve,
publish, close) and its quarterly report. An answer goes back to the chat the question came from;
a published one joins the knowledge base in the same step. Every function takes the caller's unit
scope and applies it in the query itself."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .logs import log
from .messages import Outbound
from .nlu.kb import KbEntry, store_entries
from .store.scope import Scope, within
from .store.tables import qa_tickets

if TYPE_CHECKING:
    from .services import Services

# open → assigned → (review →) answered | published; closed without an answer (duplicate, spam)
STATUSES = ("open", "assigned", "review", "answered", "published", "closed")
WAITING = ("open", "assigned", "review")
OnChange = Callable[[AsyncConnection, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Answered:
    ticket_id: str
    delivered_seq: int | None
    kb_id: str | None
    status: str


class TicketError(ValueError):
    """Unknown ticket, a ticket outside the caller's units, or one not in a state for this step."""


def unit_clause(scope: Scope) -> Any:
    return within(qa_tickets.c.unit_code, scope)


def _as_dict(row: Any, now: datetime) -> dict[str, Any]:
    d = dict(row._mapping)
    created = d["created_at"] if d["created_at"].tzinfo else d["created_at"].replace(tzinfo=timezone.utc)
    d["created_at"] = created
    end = d.get("answered_at") or now
    end = end if end.tzinfo else end.replace(tzinfo=timezone.utc)
    d["waiting_hours"] = round((end - created).total_seconds() / 3600, 1)
    return d


async def list_tickets(services: "Services", *, status: str | None = "open", scope: Scope = None,
                       topic: str | None = None, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
    q = select(qa_tickets).where(unit_clause(scope)).order_by(qa_tickets.c.created_at, qa_tickets.c.id)
    if status == "waiting":
        q = q.where(qa_tickets.c.status.in_(WAITING))
    elif status:
        q = q.where(qa_tickets.c.status == status)
    if topic:
        q = q.where(qa_tickets.c.topic == topic)
    async with services.engine.connect() as conn:
        rows = (await conn.execute(q.limit(limit).offset(offset))).all()
    now = datetime.now(timezone.utc)
    return [_as_dict(r, now) for r in rows]


async def get_ticket(services: "Services", ticket_id: str, *, scope: Scope = None) -> dict[str, Any] | None:
    async with services.engine.connect() as conn:
        row = (await conn.execute(select(qa_tickets).where(and_(qa_tickets.c.id == ticket_id, unit_clause(scope))))).first()
    return _as_dict(row, datetime.now(timezone.utc)) if row else None


async def _locked(conn: AsyncConnection, ticket_id: str, scope: Scope, allowed: tuple[str, ...]) -> Any:
    row = (await conn.execute(select(qa_tickets).where(and_(qa_tickets.c.id == ticket_id, unit_clause(scope)))
                              .with_for_update())).first()
    if row is None:
        raise TicketError(f"no ticket {ticket_id} in your units")
    if row.status not in allowed:
        raise TicketError(f"ticket {ticket_id} is {row.status}")
    return row


async def assign_ticket(services: "Services", ticket_id: str, user_id: str, *, scope: Scope = None,
                        on_change: OnChange | None = None) -> None:
    async with services.engine.begin() as conn:
        row = await _locked(conn, ticket_id, scope, ("open", "assigned"))
        await conn.execute(update(qa_tickets).where(qa_tickets.c.id == ticket_id).values(status="assigned",
                                                                                       assigned_to=user_id))
        if on_change:
            await on_change(conn, {"unit_code": row.unit_code, "assigned_to": user_id})


async def answer_ticket(services: "Services", ticket_id: str, answer: str, *, publish: bool = False,
                        review: bool = False, scope: Scope = None, by: str | None = None,
                        on_change: OnChange | None = None) -> Answered:
    """``review``: held for a unit administrator's approval instead of being delivered now."""
    answer = answer.strip()
    if not answer:
        raise TicketError("the answer is empty")
    status = "review" if review else ("published" if publish else "answered")
    async with services.engine.begin() as conn:
        row = await _locked(conn, ticket_id, scope, ("open", "assigned", "review"))
        await conn.execute(update(qa_tickets).where(qa_tickets.c.id == ticket_id).values(
            status=status, answer=answer, answered_by=by, answered_at=None if review else datetime.now(timezone.utc)))
        if on_change:
            await on_change(conn, {"unit_code": row.unit_code, "status": status})
    if review:
        log("qa.review", ticket=ticket_id)
        return Answered(ticket_id, None, None, status)
    return await _deliver(services, row, answer, publish, status)


async def approve_ticket(services: "Services", ticket_id: str, *, publish: bool = False, scope: Scope = None,
                         on_change: OnChange | None = None) -> Answered:
    status = "published" if publish else "answered"
    async with services.engine.begin() as conn:
        row = await _locked(conn, ticket_id, scope, ("review",))
        await conn.execute(update(qa_tickets).where(qa_tickets.c.id == ticket_id).values(
            status=status, answered_at=datetime.now(timezone.utc)))
        if on_change:
            await on_change(conn, {"unit_code": row.unit_code, "status": status})
    return await _deliver(services, row, row.answer, publish, status)


async def publish_ticket(services: "Services", ticket_id: str, *, question: str | None = None,
                         answer: str | None = None, scope: Scope = None, on_change: OnChange | None = None) -> str:
    """An answered question becomes a knowledge-base entry, optionally with a cleaned-up wording."""
    async with services.engine.begin() as conn:
        row = await _locked(conn, ticket_id, scope, ("answered", "published"))
        await conn.execute(update(qa_tickets).where(qa_tickets.c.id == ticket_id).values(status="published"))
        if on_change:
            await on_change(conn, {"unit_code": row.unit_code, "status": "published"})
    return await _publish(services, row, (question or row.text).strip(), (answer or row.answer).strip())


async def close_ticket(services: "Services", ticket_id: str, *, scope: Scope = None,
                       on_change: OnChange | None = None) -> None:
    async with services.engine.begin() as conn:
        row = await _locked(conn, ticket_id, scope, WAITING)
        await conn.execute(update(qa_tickets).where(qa_tickets.c.id == ticket_id).values(status="closed"))
        if on_change:
            await on_change(conn, {"unit_code": row.unit_code, "status": "closed"})


async def _deliver(services: "Services", row: Any, answer: str, publish: bool, status: str) -> Answered:
    d = services.dialogues
    sent = await services.conversation.push(row.respondent_id, [
        Outbound(d.say("official_answer_intro", question=_short(row.text))), Outbound(answer)])
    kb_id = await _publish(services, row, row.text, answer) if publish else None
    log("qa.answered", ticket=row.id, respondent=row.respondent_id, published=publish)
    return Answered(row.id, sent[-1].seq if sent else None, kb_id, status)


async def _publish(services: "Services", row: Any, question: str, answer: str) -> str:
    kb_id = f"q.{row.id}"
    await store_entries(services.engine, [KbEntry(kb_id, question, answer, topic=row.topic, unit=row.unit_code,
                                                  source="Trả lời của cán bộ")])
    await services.nlu.reload()
    return kb_id


async def report(services: "Services", start: datetime, end: datetime, *, scope: Scope = None) -> dict[str, Any]:
    """Questions received in [start, end): how many, how they ended, and how long people waited."""
    q = select(qa_tickets.c.unit_code, qa_tickets.c.topic, qa_tickets.c.status, qa_tickets.c.created_at,
               qa_tickets.c.answered_at).where(
        unit_clause(scope), qa_tickets.c.created_at >= start, qa_tickets.c.created_at < end)
    async with services.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    now = datetime.now(timezone.utc)
    groups: dict[tuple[str | None, str | None], list[Any]] = {}
    for r in rows:
        groups.setdefault((r.unit_code, r.topic), []).append(r)
    return {"from": start, "to": end, "total": _summary(rows, now),
            "by_unit_topic": [{"unit_code": u, "topic": t, **_summary(rs, now)} for (u, t), rs in sorted(
                groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))]}


def _summary(rows: list[Any], now: datetime) -> dict[str, Any]:
    def utc(t: datetime) -> datetime:
        return t if t.tzinfo else t.replace(tzinfo=timezone.utc)

    counts = {s: 0 for s in STATUSES}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    hours = sorted((utc(r.answered_at) - utc(r.created_at)).total_seconds() / 3600 for r in rows if r.answered_at)
    waiting = [(now - utc(r.created_at)).total_seconds() / 3600 for r in rows if r.status in WAITING]
    return {"received": len(rows), **counts,
            "median_hours_to_answer": round(_quantile(hours, 0.5), 1) if hours else None,
            "p90_hours_to_answer": round(_quantile(hours, 0.9), 1) if hours else None,
            "oldest_waiting_hours": round(max(waiting), 1) if waiting else None}


def _quantile(sorted_values: list[float], q: float) -> float:
    pos = (len(sorted_values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
