"""The Q&A inbox: questions the bot forwarded, per unit and topic, oldest first, with how long
each has waited; assign, answer (delivered in the citizen's chat), review, publish, close."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import qa

from . import audit
from .api import Call, route
from .errors import conflict, forbidden, not_found
from .models import Name, Page, PageQuery, Strict, Text
from .public.answers import answer_link
from .roles import ADMINS, ANSWERERS, OFFICIAL, Principal

TAG = "Hỏi đáp"


class QuestionsQuery(PageQuery):
    status: Literal["waiting", "open", "assigned", "review", "answered", "published", "closed", "all"] = "waiting"
    topic: Name | None = None


class Question(BaseModel):
    id: str
    text: str
    channel: str
    unit_code: str | None
    topic: str | None
    status: str
    answer: str | None
    candidates: Any = Field(None, description="the closest official answers when the question was asked")
    assigned_to: str | None
    answered_by: str | None
    created_at: datetime
    answered_at: datetime | None
    waiting_hours: float = Field(description="until answered, or until now while waiting")
    web_link: str | None = Field(None, description="the answer's web page, for citizens whose chat window has "
                                                   "closed (it also reaches their chat on their next message)")


class AssignBody(Strict):
    user_id: str | None = Field(None, max_length=32, description="omitted: yourself")


class AnswerBody(Strict):
    answer: Text
    publish: bool = Field(False, description="also add the question and answer to the knowledge base")
    review: bool = Field(False, description="hold for a unit administrator's approval instead of sending now")


class ApproveBody(Strict):
    publish: bool = False


class PublishBody(Strict):
    question: Text | None = Field(None, description="the question as it should appear in the knowledge base")
    answer: Text | None = None


class Outcome(BaseModel):
    id: str
    status: str
    delivered: bool
    kb_id: str | None = None


class ReportQuery(Strict):
    quarter: str = Field(pattern=r"^(19|20|21)\d{2}-Q[1-4]$", description="e.g. 2026-Q3")


def _out(d: dict[str, Any], settings: Any) -> Question:
    link = answer_link(settings, d["id"]) if d.get("status") in ("answered", "published") else None
    return Question(**{k: d.get(k) for k in Question.model_fields if k != "web_link"}, web_link=link)


def _recorder(who: Principal, action: str, ticket_id: str, **extra: Any) -> qa.OnChange:
    async def on_change(conn: AsyncConnection, change: dict[str, Any]) -> None:
        unit = change.pop("unit_code", None)
        await audit.record(conn, who, action, "question", ticket_id, unit, **change, **extra)
    return on_change


async def _step(fn: Any) -> Any:
    try:
        return await fn
    except qa.TicketError as e:
        if "no ticket" in str(e):
            raise not_found("question") from None
        raise conflict(str(e)) from None


@route("GET", "/questions", summary="Forwarded questions in your units", tag=TAG, roles=ANSWERERS,
       query=QuestionsQuery, response=Page[Question])
async def list_questions(call: Call) -> dict[str, Any]:
    q = call.query
    rows = await qa.list_tickets(call.services, status=None if q.status == "all" else q.status, topic=q.topic,
                                 scope=call.principal.scope, limit=q.limit, offset=q.offset)
    return {"items": [_out(r, call.services.settings) for r in rows], "next_offset": q.offset + q.limit if len(rows) == q.limit else None}


@route("GET", "/questions/report", summary="Quarterly Q&A report: received, answered, waiting times",
       tag=TAG, roles=ANSWERERS | {"analyst"}, query=ReportQuery)
async def questions_report(call: Call) -> dict[str, Any]:
    year, quarter = int(call.query.quarter[:4]), int(call.query.quarter[-1])
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=timezone.utc)
    end = datetime(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1, tzinfo=timezone.utc)
    return {"quarter": call.query.quarter, **await qa.report(call.services, start, end, scope=call.principal.scope)}


@route("GET", "/questions/{ticket_id}", summary="One question", tag=TAG, roles=ANSWERERS, response=Question)
async def get_question(call: Call) -> Question:
    d = await qa.get_ticket(call.services, call.params["ticket_id"], scope=call.principal.scope)
    if d is None:
        raise not_found("question")
    return _out(d, call.services.settings)


@route("POST", "/questions/{ticket_id}/assign", summary="Take a question, or give it to an official",
       tag=TAG, roles=ANSWERERS, body=AssignBody, response=Outcome, errors=(409,))
async def assign_question(call: Call) -> Outcome:
    who = call.principal
    user_id = call.body.user_id or who.user_id
    if user_id != who.user_id and who.role == OFFICIAL:
        raise forbidden("an official can take questions for themself only")
    if user_id != who.user_id:
        from .accounts import get_user
        async with call.services.engine.connect() as conn:
            target = await get_user(conn, user_id)
        if target is None or target.disabled or not who.covers(target.unit_code):
            raise not_found("active user in your units")
    tid = call.params["ticket_id"]
    await _step(qa.assign_ticket(call.services, tid, user_id, scope=who.scope,
                                 on_change=_recorder(who, "question.assign", tid)))
    return Outcome(id=tid, status="assigned", delivered=False)


@route("POST", "/questions/{ticket_id}/answer", summary="Answer: delivered in the chat the question came from",
       tag=TAG, roles=ANSWERERS, body=AnswerBody, response=Outcome, errors=(409,))
async def answer_question(call: Call) -> Outcome:
    who, b, tid = call.principal, call.body, call.params["ticket_id"]
    done = await _step(qa.answer_ticket(call.services, tid, b.answer, publish=b.publish, review=b.review,
                                        scope=who.scope, by=who.user_id,
                                        on_change=_recorder(who, "question.answer", tid)))
    return Outcome(id=tid, status=done.status, delivered=done.delivered_seq is not None, kb_id=done.kb_id)


@route("POST", "/questions/{ticket_id}/approve", summary="Approve an answer held for review and send it",
       tag=TAG, roles=ADMINS, body=ApproveBody, response=Outcome, errors=(409,))
async def approve_question(call: Call) -> Outcome:
    who, tid = call.principal, call.params["ticket_id"]
    done = await _step(qa.approve_ticket(call.services, tid, publish=call.body.publish, scope=who.scope,
                                         on_change=_recorder(who, "question.approve", tid)))
    return Outcome(id=tid, status=done.status, delivered=done.delivered_seq is not None, kb_id=done.kb_id)


@route("POST", "/questions/{ticket_id}/publish", summary="Add an answered question to the knowledge base",
       tag=TAG, roles=ANSWERERS, body=PublishBody, response=Outcome, errors=(409,))
async def publish_question(call: Call) -> Outcome:
    who, tid = call.principal, call.params["ticket_id"]
    kb_id = await _step(qa.publish_ticket(call.services, tid, question=call.body.question, answer=call.body.answer,
                                          scope=who.scope, on_change=_recorder(who, "question.publish", tid)))
    return Outcome(id=tid, status="published", delivered=False, kb_id=kb_id)


@route("POST", "/questions/{ticket_id}/close", summary="Close without an answer (duplicate, not a question)",
       tag=TAG, roles=ANSWERERS, response=Outcome, errors=(409,))
async def close_question(call: Call) -> Outcome:
    who, tid = call.principal, call.params["ticket_id"]
    await _step(qa.close_ticket(call.services, tid, scope=who.scope, on_change=_recorder(who, "question.close", tid)))
    return Outcome(id=tid, status="closed", delivered=False)


