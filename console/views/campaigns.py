"""Campaigns covering the caller's units and, for each, the live participation table per unit
(registered, reached, started, completed, rate): what the 2021 pilot compiled by hand. Read
through ``bot.campaigns`` with the caller's scope, so another province's rows are not even counted.

Administrators also act here: create a campaign (survey, units, name), upload the list (CSV or
XLSX; refused whole, with every problem by line in Vietnamese), start and pause. The same service
calls and audit records as the admin API."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from admin_api.roles import ADMINS, EVERYONE
from admin_api.routes_campaigns import recorder
from bot.campaigns import reports, service
from bot.campaigns.lists import ListError, RawRow, read_csv, read_xlsx
from bot.campaigns.vietnamese import COLUMNS, in_vietnamese

from ..web import Ctx, page, redirect
from .accounts import unit_choices
from .table import ROUTES

STATUS = {"draft": "Bản nháp", "sending": "Đang gửi", "paused": "Tạm dừng"}
DONE = {"created": "Đã tạo chiến dịch. Hãy tải danh sách người được mời lên.", "started": "Đã bắt đầu gửi lời mời.",
        "paused": "Đã tạm dừng gửi.", "imported": "Đã nhập danh sách."}
ID = r"{campaign_id:[A-Za-z0-9_.\-]{1,64}}"
MAX_SHOWN_ERRORS = 200


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _list_page(ctx: Ctx, *, error: str | None = None, values: dict[str, Any] | None = None,
                     status: int = 200) -> web.StreamResponse:
    rows = await service.list_campaigns(ctx.services, scope=ctx.who.scope, limit=200, offset=0)
    flows = await ctx.services.flows.open_flows(_now()) if ctx.who.role in ADMINS else []
    return ctx.render("campaigns.html", status=status, campaigns=rows, status_names=STATUS, error=error,
                      values=values or {}, flows=flows, units=unit_choices(ctx.services, ctx.who),
                      can_act=ctx.who.role in ADMINS)


@ROUTES.get("/campaigns")
@page(EVERYONE)
async def campaigns(ctx: Ctx) -> web.StreamResponse:
    return await _list_page(ctx)


@ROUTES.post("/campaigns")
@page(ADMINS)
async def create(ctx: Ctx) -> web.StreamResponse:
    form = await ctx.request.post()
    name, flow_id = str(form.get("name", "")).strip()[:200], str(form.get("flow_id", ""))
    units = [str(u) for u in form.getall("units", [])]
    values = {"name": name, "flow_id": flow_id, "units": units}
    if not name:
        return await _list_page(ctx, error="Hãy đặt tên cho chiến dịch.", values=values, status=422)
    if not units:
        return await _list_page(ctx, error="Hãy chọn ít nhất một đơn vị.", values=values, status=422)
    spec = service.CampaignSpec(name, flow_id, tuple(units))
    try:
        cid = await service.create_campaign(ctx.services, spec, scope=ctx.who.scope, by=ctx.who.user_id, now=_now(),
                                            on_change=recorder(ctx.who, "campaign.create"))
    except LookupError:
        return await _list_page(ctx, error="Không tìm thấy bộ câu hỏi hoặc đơn vị đã chọn.", values=values, status=422)
    except (service.OutsideScope, service.CampaignConflict) as e:
        return await _list_page(ctx, error=in_vietnamese(str(e)), values=values, status=422)
    return redirect(f"/campaigns/{cid}?done=created")


async def _campaign_page(ctx: Ctx, *, error: str | None = None, problems: list[dict[str, Any]] | None = None,
                         total_problems: int = 0, status: int = 200) -> web.StreamResponse:
    cid = ctx.request.match_info["campaign_id"]
    c = await service.get_campaign(ctx.services, cid, scope=ctx.who.scope)
    if c is None:
        raise web.HTTPNotFound()
    rows = await reports.participation(ctx.services, cid, scope=ctx.who.scope)
    return ctx.render("campaign.html", status=status, c=c, rows=rows, status_names=STATUS, error=error,
                      problems=problems or [], total_problems=total_problems, can_act=ctx.who.role in ADMINS,
                      done=DONE.get(ctx.request.query.get("done", "")))


@ROUTES.get("/campaigns/" + ID)
@page(EVERYONE)
async def campaign(ctx: Ctx) -> web.StreamResponse:
    return await _campaign_page(ctx)


def _read(upload: Any) -> list[RawRow]:
    """CSV or XLSX by the file's first bytes (a workbook is a zip), not by its name."""
    data = upload.file.read() if hasattr(upload, "file") else b""
    if not data:
        raise ListError("the file is empty")
    return read_xlsx(data) if data[:2] == b"PK" else read_csv(data)


@ROUTES.post("/campaigns/" + ID + "/list")
@page(ADMINS)
async def upload_list(ctx: Ctx) -> web.StreamResponse:
    cid = ctx.request.match_info["campaign_id"]
    if await service.get_campaign(ctx.services, cid, scope=ctx.who.scope) is None:
        raise web.HTTPNotFound()
    form = await ctx.request.post()
    try:
        raw = _read(form.get("file"))
        await service.import_list(ctx.services, cid, raw, scope=ctx.who.scope, now=_now(),
                                  on_change=recorder(ctx.who, "campaign.import", cid))
    except ListError as e:
        return await _campaign_page(ctx, error=f"Không nhập được danh sách: {in_vietnamese(str(e))}.", status=422)
    except service.ListRejected as e:
        problems = [{"line": x.line, "column": COLUMNS.get(x.column or "", "—"), "reason": in_vietnamese(x.reason)}
                    for x in e.errors[:MAX_SHOWN_ERRORS]]
        return await _campaign_page(ctx, error=f"Danh sách có {len(e.errors)} lỗi nên chưa nhập người nào. "
                                               "Hãy sửa tệp rồi tải lên lại.",
                                    problems=problems, total_problems=len(e.errors), status=422)
    except (service.OutsideScope, LookupError):
        raise web.HTTPForbidden() from None
    return redirect(f"/campaigns/{cid}?done=imported")


async def _set_status(ctx: Ctx, status: str) -> web.StreamResponse:
    cid = ctx.request.match_info["campaign_id"]
    try:
        await service.set_status(ctx.services, cid, status, scope=ctx.who.scope, now=_now(),
                                 on_change=recorder(ctx.who, "campaign.start" if status == "sending"
                                                    else "campaign.pause", cid))
    except LookupError:
        raise web.HTTPNotFound() from None
    except (service.CampaignConflict, service.OutsideScope) as e:
        return await _campaign_page(ctx, error=f"Chưa thể thực hiện: {in_vietnamese(str(e))}.", status=409)
    return redirect(f"/campaigns/{cid}?done={'started' if status == 'sending' else 'paused'}")


@ROUTES.post("/campaigns/" + ID + "/start")
@page(ADMINS)
async def start(ctx: Ctx) -> web.StreamResponse:
    return await _set_status(ctx, "sending")


@ROUTES.post("/campaigns/" + ID + "/pause")
@page(ADMINS)
async def pause(ctx: Ctx) -> web.StreamResponse:
    return await _set_status(ctx, "paused")
