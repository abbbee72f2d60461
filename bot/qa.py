"""Questions forwarded to officials: list them, answer them — the answer goes back to the chat the
question came from — and publish an answer to the knowledge base in the same step."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update

from .logs import log
from .messages import Outbound
from .nlu.kb import KbEntry, store_entries
from .store.tables import qa_tickets

if TYPE_CHECKING:
    from .services import Services

STATUSES = ("open", "assigned", "answered", "published", "closed")


@dataclass(frozen=True)
class Answered:
    ticket_id: str
    delivered_seq: int | None
    kb_id: str | None


class TicketError(ValueError):
    """Unknown ticket, a ticket outside the official's units, or one already answered."""


def unit_clause(scope: set[str] | None) -> Any:
    """Rows of these units and the units under them (``p.ha_noi`` covers ``p.ha_noi.*``); None: all."""
    if scope is None:
        return True
    col = qa_tickets.c.unit_code
    return or_(col.in_(sorted(scope)), *(col.like(f"{u}.%") for u in sorted(scope)))


async def list_tickets(services: "Services", *, status: str | None = "open", scope: set[str] | None = None,
                       limit: int = 200) -> list[dict[str, Any]]:
    q = select(qa_tickets).where(unit_clause(scope)).order_by(qa_tickets.c.created_at).limit(limit)
    if status:
        q = q.where(qa_tickets.c.status == status)
    async with services.engine.connect() as conn:
        rows = (await conn.execute(q)).all()
    now = datetime.now(timezone.utc)
    out = []
    for r in rows:
        d = dict(r._mapping)
        created = d["created_at"] if d["created_at"].tzinfo else d["created_at"].replace(tzinfo=timezone.utc)
        d["waiting_hours"] = round((now - created).total_seconds() / 3600, 1) if d["status"] in ("open", "assigned") else None
        out.append(d)
    return out


async def answer_ticket(services: "Services", ticket_id: str, answer: str, *, publish: bool = False,
                        scope: set[str] | None = None) -> Answered:
    answer = answer.strip()
    if not answer:
        raise TicketError("the answer is empty")
    async with services.engine.begin() as conn:
        row = (await conn.execute(select(qa_tickets).where(and_(qa_tickets.c.id == ticket_id, unit_clause(scope)))
                                  .with_for_update())).first()
        if row is None:
            raise TicketError(f"no ticket {ticket_id} in your units")
        if row.status not in ("open", "assigned"):
            raise TicketError(f"ticket {ticket_id} is already {row.status}")
        await conn.execute(update(qa_tickets).where(qa_tickets.c.id == ticket_id).values(
            status="published" if publish else "answered", answer=answer, answered_at=datetime.now(timezone.utc)))
    d = services.dialogues
    sent = await services.conversation.push(row.respondent_id, [
        Outbound(d.say("official_answer_intro", question=_short(row.text))), Outbound(answer)])
    kb_id = None
    if publish:
        kb_id = f"q.{ticket_id}"
        await store_entries(services.engine, [KbEntry(kb_id, row.text, answer, topic=row.topic, unit=row.unit_code,
                                                      source="Trả lời của cán bộ")])
        await services.nlu.reload()
    log("qa.answered", ticket=ticket_id, respondent=row.respondent_id, published=publish)
    return Answered(ticket_id, sent[-1].seq if sent else None, kb_id)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
