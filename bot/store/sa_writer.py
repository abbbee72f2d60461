"""The portable writer: SQLAlchemy Core in one transaction, for SQLite and PostgreSQL alike."""
from __future__ import annotations

from sqlalchemy import and_, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from .db import upsert
from .tables import answers, invitations, outbox, processed, qa_tickets, responses
from .writes import DuplicateMessage, InvitationTaken, MessageWrite


class SqlAlchemyWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    async def write(self, w: MessageWrite) -> None:
        try:
            await self._write(w)
        except IntegrityError as e:
            raise DuplicateMessage(str(e.orig)) from e

    async def _write(self, w: MessageWrite) -> None:
        now, rid = w.now, w.respondent_id
        async with self._engine.begin() as conn:
            r, nr = w.response, w.new_response
            if nr is not None and r is not None:
                await conn.execute(responses.insert().values(
                    id=nr.id, flow_id=nr.flow_id, flow_version=nr.flow_version, respondent_id=rid,
                    channel=nr.channel, unit_code=r.unit_code, invitation_code=nr.invitation_code,
                    disposition=r.disposition, state=r.state, context=r.context, preview=nr.preview,
                    started_at=now, updated_at=now, completed_at=now if r.completed else None))
                if nr.invitation_code:
                    claimed = await conn.execute(update(invitations).where(and_(
                        invitations.c.code == nr.invitation_code, invitations.c.response_id.is_(None)))
                        .values(response_id=nr.id))
                    if claimed.rowcount != 1:
                        raise InvitationTaken()
            if r is not None:
                for key, value in w.answers_set.items():
                    await conn.execute(upsert(self._dialect, answers, {
                        "response_id": r.id, "key": key, "value": value, "answered_at": now},
                        ["response_id", "key"], ["value", "answered_at"]))
                if w.answers_cleared:
                    await conn.execute(delete(answers).where(and_(answers.c.response_id == r.id,
                                                                  answers.c.key.in_(w.answers_cleared))))
                if nr is None:
                    await conn.execute(update(responses).where(responses.c.id == r.id).values(
                        disposition=r.disposition, state=r.state, unit_code=r.unit_code, updated_at=now,
                        completed_at=now if r.completed else None))
            if w.outbox:
                sent_at = now if w.outbox_status == "sent" else None
                await conn.execute(outbox.insert(), [
                    {"respondent_id": rid, "seq": o.seq, "channel": w.channel, "payload": o.payload,
                     "status": w.outbox_status, "attempts": 0, "created_at": now, "sent_at": sent_at}
                    for o in w.outbox])
            if w.ticket is not None:
                t = w.ticket
                await conn.execute(qa_tickets.insert().values(
                    id=t.id, respondent_id=rid, channel=w.channel, message_key=t.message_key, text=t.text,
                    unit_code=t.unit_code, topic=t.topic, candidates=t.candidates or None, status="open",
                    created_at=now))
            if w.processed is not None:
                p = w.processed
                await conn.execute(processed.insert().values(
                    respondent_id=rid, message_key=p.message_key, first_seq=p.first_seq, last_seq=p.last_seq,
                    flow_state=p.flow_state, created_at=now))

    async def close(self) -> None:
        return None
