"""Campaigns covering the caller's units and, for each, the live participation table per unit
(registered, reached, started, completed, rate): what the 2021 pilot compiled by hand. Read
through ``bot.campaigns`` with the caller's scope, so another province's rows are not even counted.
Creating campaigns and importing lists stays with the admin API for now."""
from __future__ import annotations

from aiohttp import web

from admin_api.roles import EVERYONE
from bot.campaigns import reports, service

from ..web import Ctx, page
from .table import ROUTES

STATUS = {"draft": "Bản nháp", "sending": "Đang gửi", "paused": "Tạm dừng"}


@ROUTES.get("/campaigns")
@page(EVERYONE)
async def campaigns(ctx: Ctx) -> web.StreamResponse:
    rows = await service.list_campaigns(ctx.services, scope=ctx.who.scope, limit=200, offset=0)
    return ctx.render("campaigns.html", campaigns=rows, status_names=STATUS)


@ROUTES.get(r"/campaigns/{campaign_id:[A-Za-z0-9_.\-]{1,64}}")
@page(EVERYONE)
async def campaign(ctx: Ctx) -> web.StreamResponse:
    cid = ctx.request.match_info["campaign_id"]
    c = await service.get_campaign(ctx.services, cid, scope=ctx.who.scope)
    if c is None:
        raise web.HTTPNotFound()
    rows = await reports.participation(ctx.services, cid, scope=ctx.who.scope)
    return ctx.render("campaign.html", c=c, rows=rows, status_names=STATUS)
