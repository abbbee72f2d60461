"""Surveys of the caller's units (``bot.content.surveys``, the admin API's own service): their
status as a respondent meets it now, open and close dates, and every stored version with its
response count. Uploading and editing flow files stays with the API and ``hailong flows`` for now."""
from __future__ import annotations

from aiohttp import web

from admin_api.roles import EVERYONE
from bot.content import surveys as service

from ..web import Ctx, page
from .table import ROUTES

STATUS = {"unpublished": "Chưa phát hành", "scheduled": "Chưa mở", "open": "Đang mở", "closed": "Đã đóng"}


@ROUTES.get("/surveys")
@page(EVERYONE)
async def surveys(ctx: Ctx) -> web.StreamResponse:
    rows = await service.list_surveys(ctx.services.engine, scope=ctx.who.scope, limit=500, offset=0)
    return ctx.render("surveys.html", surveys=rows, status_names=STATUS)


@ROUTES.get(r"/surveys/{flow_id:[A-Za-z0-9_.\-]{1,40}}")
@page(EVERYONE)
async def survey(ctx: Ctx) -> web.StreamResponse:
    d = await service.get_survey(ctx.services.engine, ctx.request.match_info["flow_id"], scope=ctx.who.scope)
    if d is None:
        raise web.HTTPNotFound()
    return ctx.render("survey.html", s=d, status_names=STATUS)
