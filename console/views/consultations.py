"""Consultations on draft policies (lấy ý kiến dự thảo) of the caller's units: the list with each
one's state, dates and number of opinions, and a page per consultation with the opinions counted
by position and the comments, a page at a time, and the report as JSON or CSV.

Administrators also act here: create, edit, attach the draft file, publish and withdraw. Every
step is the admin API's: its body model checks the form, ``bot.content.consultations`` does the
work in the caller's scope (another province's consultation is a 404), and the API's recorder
writes the audit record in the same transaction."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
from aiohttp import web
from pydantic import ValidationError
from pydantic_core import to_jsonable_python

from admin_api.public import consultation_links, file_response
from admin_api.roles import ADMINS, EVERYONE
from admin_api.routes_consultations import ConsultationBody
from admin_api.routes_surveys import recorder
from bot.content import consultations as service
from bot.content import files
from bot.flows import Flow

from ..filters import from_local_input, local_input
from ..web import Ctx, page, redirect
from .accounts import unit_choices
from .forms import NAME, OUTSIDE, first_problem, refusal, uploaded
from .paging import offset_of, pages
from .table import ROUTES

ID = r"{consultation_id:[A-Za-z0-9_.\-]{1,64}}"
PAGE = 50
FIELDS = ("title", "summary", "document_url", "opens_at", "closes_at", "unit_code")
STATE = {"draft": "Chưa công bố", "scheduled": "Đã công bố, chưa đến ngày mở", "open": "Đang lấy ý kiến",
         "closed": "Đã hết hạn lấy ý kiến"}
DONE = {"created": "Đã tạo đợt lấy ý kiến (chưa công bố). Hãy đính kèm dự thảo rồi công bố.",
        "edited": "Đã lưu thay đổi.", "file": "Đã đính kèm tệp dự thảo.",
        "published": "Đã công bố: người dân gửi ý kiến qua chatbot và biểu mẫu trong thời hạn lấy ý kiến.",
        "unpublished": "Đã thu hồi: dự thảo không còn hiện trên trang công khai và chatbot."}
PROBLEMS = {"title": NAME, "summary": "Hãy nhập tóm tắt nội dung dự thảo (tối đa 10.000 ký tự).",
            "document_url": "Đường dẫn tới dự thảo phải là địa chỉ web bắt đầu bằng http:// hoặc https://.",
            "opens_at": "Hãy nhập ngày giờ bắt đầu lấy ý kiến.", "closes_at": "Hãy nhập ngày giờ kết thúc lấy ý kiến.",
            "unit_code": OUTSIDE}
DATES = "Thời điểm kết thúc phải sau thời điểm bắt đầu lấy ý kiến."
NO_FLOW = "Chưa nạp bộ câu hỏi lấy ý kiến (consultation): chạy lệnh hailong flows load."


def _now() -> datetime:
    return datetime.now(timezone.utc)


def state(c: dict[str, Any], now: datetime) -> str:
    """Where a consultation stands for a citizen now (the service says whether it is open)."""
    if not c["published"]:
        return "draft"
    if c["open"]:
        return "open"
    return "scheduled" if now < c["opens_at"] else "closed"


def _units(ctx: Ctx, current: str | None = None) -> list[tuple[str, str]]:
    """Today's units of the caller, and a consultation's own unit when it is no longer one of them
    (a merged province), so that editing does not move it by accident."""
    units = unit_choices(ctx.services, ctx.who)
    if current and current not in dict(units):
        units.insert(0, (current, ctx.services.units.name(current) or current))
    return units


async def _flow(ctx: Ctx) -> Flow | None:
    return await ctx.services.flows.get(service.FLOW_ID)


async def _list_page(ctx: Ctx, *, error: str | None = None, values: dict[str, str] | None = None,
                     status: int = 200) -> web.StreamResponse:
    offset = offset_of(ctx.request)
    rows = await service.list_all(ctx.services.engine, scope=ctx.who.scope, limit=PAGE + 1, offset=offset)
    flow = await _flow(ctx)
    counts: dict[str, int] = {}
    if flow is not None:
        for c in rows[:PAGE]:  # the report's own count: chat and form opinions, previews excluded
            rep = await service.report(ctx.services.engine, flow, c["id"], scope=ctx.who.scope)
            counts[c["id"]] = rep["total"] if rep else 0
    now = _now()
    return ctx.render("consultations.html", status=status, consultations=rows[:PAGE], counts=counts,
                      states={c["id"]: STATE[state(c, now)] for c in rows}, pager=pages(offset, PAGE, len(rows)),
                      error=error, values=values or {}, units=_units(ctx), everyone=ctx.who.scope is None,
                      can_act=ctx.who.role in ADMINS)


@ROUTES.get("/consultations")
@page(EVERYONE)
async def consultations(ctx: Ctx) -> web.StreamResponse:
    return await _list_page(ctx)


def _submitted(ctx: Ctx, form: dict[str, str]) -> tuple[ConsultationBody | None, str | None, str | None]:
    """The form checked by the API's body model, then as the API checks it: dates in order, a unit
    of the caller's (an empty unit: the caller's own, or national for system administrators).
    Returns (body, unit, None) or (None, None, what to fix)."""
    try:
        body = ConsultationBody.model_validate({
            "title": form.get("title", "").strip(), "summary": form.get("summary", "").strip(),
            "document_url": form.get("document_url", "").strip() or None,
            "opens_at": from_local_input(form.get("opens_at", "")),
            "closes_at": from_local_input(form.get("closes_at", "")),
            "unit_code": form.get("unit_code") or None})
    except ValidationError as e:
        return None, None, first_problem(e, PROBLEMS)
    if body.opens_at >= body.closes_at:
        return None, None, DATES
    unit = body.unit_code if body.unit_code is not None or ctx.who.scope is None else ctx.who.unit_code
    if not ctx.who.covers(unit) or (unit is not None and ctx.services.units.name(unit) is None):
        return None, None, OUTSIDE
    return body, unit, None


@ROUTES.post("/consultations")
@page(ADMINS)
async def create(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.form()
    values = {k: form.get(k, "") for k in FIELDS}
    body, unit, problem = _submitted(ctx, form)
    if body is None:
        return await _list_page(ctx, error=problem, values=values, status=422)
    d = await service.create(ctx.services.engine, unit_code=unit, title=body.title, summary=body.summary,
                             document_url=body.document_url, opens_at=body.opens_at, closes_at=body.closes_at,
                             by=ctx.who.user_id, on_change=recorder(ctx.who, "consultation.create", "consultation", "new"))
    return redirect(f"/consultations/{d['id']}?done=created")


def _values_of(c: dict[str, Any]) -> dict[str, str]:
    """The edit form filled in with the consultation as stored."""
    return {"title": c["title"], "summary": c["summary"], "document_url": c["document_url"] or "",
            "opens_at": local_input(c["opens_at"]), "closes_at": local_input(c["closes_at"]),
            "unit_code": c["unit_code"] or ""}


async def _get(ctx: Ctx) -> dict[str, Any]:
    c = await service.get(ctx.services.engine, ctx.request.match_info["consultation_id"], scope=ctx.who.scope)
    if c is None:
        raise web.HTTPNotFound()
    return c


async def _consultation_page(ctx: Ctx, *, error: str | None = None, values: dict[str, str] | None = None,
                             status: int = 200) -> web.StreamResponse:
    c = await _get(ctx)
    flow = await _flow(ctx)
    rep = await service.report(ctx.services.engine, flow, c["id"], scope=ctx.who.scope) if flow else None
    offset = offset_of(ctx.request)
    comments = rep["comments"][offset:offset + PAGE + 1] if rep else []
    return ctx.render("consultation.html", status=status, c=c, state=STATE[state(c, _now())], rep=rep,
                      comments=comments[:PAGE], pager=pages(offset, PAGE, len(comments)),
                      links=consultation_links(ctx.services.settings.base_url, c["id"]),
                      error=error or (None if flow else NO_FLOW), values=values or _values_of(c),
                      units=_units(ctx, c["unit_code"]), everyone=ctx.who.scope is None,
                      can_act=ctx.who.role in ADMINS, done=DONE.get(ctx.request.query.get("done", "")))


@ROUTES.get("/consultations/" + ID)
@page(EVERYONE)
async def consultation(ctx: Ctx) -> web.StreamResponse:
    return await _consultation_page(ctx)


async def _change(ctx: Ctx, action: str, values: dict[str, Any], done: str) -> web.StreamResponse:
    cid = ctx.request.match_info["consultation_id"]
    try:
        d = await service.change(ctx.services.engine, cid, scope=ctx.who.scope, values=values,
                                 on_change=recorder(ctx.who, action, "consultation", cid))
    except ValueError:
        return await _consultation_page(ctx, error=DATES, status=409)
    if d is None:
        raise web.HTTPNotFound()
    return redirect(f"/consultations/{cid}?done={done}")


@ROUTES.post("/consultations/" + ID + "/edit")
@page(ADMINS)
async def edit(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.form()
    body, unit, problem = _submitted(ctx, form)
    if body is None:
        await _get(ctx)  # another unit's consultation is a 404 before any message about the form
        return await _consultation_page(ctx, error=problem, values={k: form.get(k, "") for k in FIELDS}, status=422)
    values = {"title": body.title, "summary": body.summary, "document_url": body.document_url,
              "opens_at": body.opens_at, "closes_at": body.closes_at, "unit_code": unit}
    return await _change(ctx, "consultation.edit", values, "edited")


@ROUTES.post("/consultations/" + ID + "/file")
@page(ADMINS)
async def attach(ctx: Ctx) -> web.StreamResponse:
    cid = ctx.request.match_info["consultation_id"]
    try:
        d = await service.attach_file(ctx.services.engine, ctx.services.settings.data_dir, cid,
                                      uploaded(await ctx.request.post()), scope=ctx.who.scope,
                                      on_change=recorder(ctx.who, "consultation.file", "consultation", cid))
    except files.FileRejected as e:
        return await _consultation_page(ctx, error=refusal(e), status=422)
    if d is None:
        raise web.HTTPNotFound()
    return redirect(f"/consultations/{cid}?done=file")


@ROUTES.post("/consultations/" + ID + "/publish")
@page(ADMINS)
async def publish(ctx: Ctx) -> web.StreamResponse:
    return await _change(ctx, "consultation.publish", {"published": True}, "published")


@ROUTES.post("/consultations/" + ID + "/unpublish")
@page(ADMINS)
async def unpublish(ctx: Ctx) -> web.StreamResponse:
    return await _change(ctx, "consultation.unpublish", {"published": False}, "unpublished")


@ROUTES.get("/consultations/" + ID + r"/report.{fmt:json|csv}")
@page(EVERYONE)
async def report(ctx: Ctx) -> web.StreamResponse:
    """The API's report, as it serves it: JSON, or CSV that a spreadsheet opens as is."""
    c = await _get(ctx)
    flow = await _flow(ctx)
    rep = await service.report(ctx.services.engine, flow, c["id"], scope=ctx.who.scope) if flow else None
    if rep is None:
        return ctx.render("error.html", status=409, message=NO_FLOW)
    fmt = ctx.request.match_info["fmt"]
    disposition = {"Content-Disposition": f'attachment; filename="y-kien-{c["id"]}.{fmt}"'}
    if fmt == "csv":
        return web.Response(text=service.report_csv(rep), content_type="text/csv", charset="utf-8",
                            headers=disposition)
    return web.Response(body=orjson.dumps(to_jsonable_python(rep)), content_type="application/json",
                        headers=disposition)


@ROUTES.get("/consultations/" + ID + "/file")
@page(EVERYONE)
async def draft_file(ctx: Ctx) -> web.StreamResponse:
    c = await _get(ctx)
    got = await service.public_file(ctx.services.engine, ctx.services.settings.data_dir, c["id"],
                                    published_only=False) if c["has_file"] else None
    if got is None:
        raise web.HTTPNotFound()
    return file_response(*got)
