"""The Q&A inbox: citizens' questions the bot could not answer, oldest first with how long each has
waited, and one page per question to take it, answer it (sent at once into the citizen's chat, or
held for a unit administrator's review), publish it to the knowledge base, or close it.

Every step goes through ``bot.qa`` with the caller's unit scope, so a question of another unit is
a 404 here exactly as in the API, and every change is written to the audit log in its transaction."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from admin_api import audit
from admin_api.public.answers import answer_link
from admin_api.roles import ADMINS, ANSWERERS, Principal
from bot import qa

from ..web import Ctx, page, redirect
from .names import usernames
from .table import ROUTES

TICKET = r"{ticket_id:[A-Za-z0-9_.\-]{1,64}}"
TABS = (("waiting", "Đang chờ trả lời"), ("review", "Chờ duyệt"), ("answered", "Đã trả lời"),
        ("published", "Đã công khai"), ("closed", "Đã đóng"), ("all", "Tất cả"))
DONE = {"assigned": "Bạn đã nhận câu hỏi này.", "answered": "Đã gửi câu trả lời tới người hỏi.",
        "published": "Đã gửi câu trả lời và đưa vào cơ sở tri thức.",
        "review": "Câu trả lời đã được chuyển lãnh đạo đơn vị duyệt; người hỏi chưa nhận được.",
        "approved": "Đã duyệt và gửi câu trả lời tới người hỏi.", "kb": "Đã đưa vào cơ sở tri thức.",
        "closed": "Đã đóng câu hỏi."}
# bot.qa's refusals, as an official reads them
REFUSED = "Câu hỏi không còn ở trạng thái cho phép thao tác này (có thể người khác vừa xử lý). Hãy xem lại."
EMPTY = "Hãy nhập nội dung câu trả lời."


def _recorder(who: Principal, action: str, ticket_id: str) -> qa.OnChange:
    async def on_change(conn: AsyncConnection, change: dict[str, Any]) -> None:
        unit = change.pop("unit_code", None)
        await audit.record(conn, who, action, "question", ticket_id, unit, via="console", **change)
    return on_change


@ROUTES.get("/questions")
@page(ANSWERERS)
async def inbox(ctx: Ctx) -> web.StreamResponse:
    """Oldest first: the person who has waited longest is answered first."""
    tab = ctx.request.query.get("status", "waiting")
    if tab not in dict(TABS):
        tab = "waiting"
    tickets = await qa.list_tickets(ctx.services, status=None if tab == "all" else tab, scope=ctx.who.scope)
    names = await usernames(ctx, {t["assigned_to"] for t in tickets if t["assigned_to"]})
    return ctx.render("inbox.html", tabs=TABS, tab=tab, tickets=tickets, names=names)


async def _question_page(ctx: Ctx, ticket_id: str, *, error: str | None = None, draft: str = "",
                         status: int = 200) -> web.StreamResponse:
    ticket = await qa.get_ticket(ctx.services, ticket_id, scope=ctx.who.scope)
    if ticket is None:
        raise web.HTTPNotFound()
    closest = []
    for c in ticket.get("candidates") or []:
        entry = await ctx.services.nlu.entry(c.get("answer_id", ""))
        if entry is not None:
            closest.append({"id": c["answer_id"], "question": entry.matched_question or c.get("question"),
                            "answer": entry.answer, "score": c.get("score")})
    use = ctx.request.query.get("use")
    if not draft and use:
        draft = next((c["answer"] for c in closest if c["id"] == use), "")
    names = await usernames(ctx, {u for u in (ticket["assigned_to"], ticket["answered_by"]) if u})
    link = answer_link(ctx.services.settings, ticket["id"]) if ticket["status"] in ("answered", "published") else None
    return ctx.render("question.html", status=status, q=ticket, closest=closest, names=names, error=error, link=link,
                      draft=draft or "", done=DONE.get(ctx.request.query.get("done", "")),
                      can_approve=ctx.who.role in ADMINS, waiting=ticket["status"] in qa.WAITING)


@ROUTES.get(f"/questions/{TICKET}")
@page(ANSWERERS)
async def question(ctx: Ctx) -> web.StreamResponse:
    return await _question_page(ctx, ctx.request.match_info["ticket_id"])


async def _act(ctx: Ctx, step: Callable[..., Awaitable[Any]], action: str, done: str, *, draft: str = "",
               **args: Any) -> web.StreamResponse:
    """One ``bot.qa`` step on this ticket in the caller's scope, audited; back to the question page
    with what happened, or with why not (and the official's draft kept)."""
    tid = ctx.request.match_info["ticket_id"]
    try:
        await step(ctx.services, tid, scope=ctx.who.scope, on_change=_recorder(ctx.who, action, tid), **args)
    except qa.TicketError as e:
        if "no ticket" in str(e):
            raise web.HTTPNotFound() from None
        message = EMPTY if "empty" in str(e) else REFUSED
        return await _question_page(ctx, tid, error=message, draft=draft, status=409)
    return redirect(f"/questions/{tid}?done={done}")


@ROUTES.post(f"/questions/{TICKET}/assign")
@page(ANSWERERS)
async def assign(ctx: Ctx) -> web.StreamResponse:
    return await _act(ctx, qa.assign_ticket, "question.assign", "assigned", user_id=ctx.who.user_id)


@ROUTES.post(f"/questions/{TICKET}/answer")
@page(ANSWERERS)
async def answer(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.form()
    text, publish, review = form.get("answer", "")[:4000], "publish" in form, "review" in form
    done = "review" if review else ("published" if publish else "answered")
    return await _act(ctx, qa.answer_ticket, "question.answer", done, draft=text, answer=text, publish=publish,
                      review=review, by=ctx.who.user_id)


@ROUTES.post(f"/questions/{TICKET}/approve")
@page(ADMINS)
async def approve(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.form()
    return await _act(ctx, qa.approve_ticket, "question.approve", "approved", publish="publish" in form)


@ROUTES.post(f"/questions/{TICKET}/publish")
@page(ANSWERERS)
async def publish(ctx: Ctx) -> web.StreamResponse:
    return await _act(ctx, qa.publish_ticket, "question.publish", "kb")


@ROUTES.post(f"/questions/{TICKET}/close")
@page(ANSWERERS)
async def close(ctx: Ctx) -> web.StreamResponse:
    return await _act(ctx, qa.close_ticket, "question.close", "closed")
