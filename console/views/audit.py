"""The audit log of the caller's units, newest first, for administrators: who changed what, when."""
from __future__ import annotations

from aiohttp import web

from admin_api import audit
from admin_api.roles import ADMINS

from ..web import Ctx, page
from .names import usernames
from .paging import offset_of, pages
from .table import ROUTES

PAGE = 50


@ROUTES.get("/audit")
@page(ADMINS)
async def audit_log(ctx: Ctx) -> web.StreamResponse:
    offset = offset_of(ctx.request)
    async with ctx.services.engine.connect() as conn:
        rows = await audit.entries(conn, ctx.who.scope, limit=PAGE + 1, offset=offset)
    names = await usernames(ctx, {r["user_id"] for r in rows if r["user_id"]})
    return ctx.render("audit.html", entries=rows[:PAGE], names=names, pager=pages(offset, PAGE, len(rows)))
