"""The audit log of the caller's units, newest first, for administrators: who changed what, when."""
from __future__ import annotations

from aiohttp import web

from admin_api import audit
from admin_api.roles import ADMINS

from ..web import Ctx, page
from .names import usernames
from .table import ROUTES

PAGE = 50


@ROUTES.get("/audit")
@page(ADMINS)
async def audit_log(ctx: Ctx) -> web.StreamResponse:
    try:
        offset = max(0, int(ctx.request.query.get("offset", "0")))
    except ValueError:
        offset = 0
    async with ctx.services.engine.connect() as conn:
        rows = await audit.entries(conn, ctx.who.scope, limit=PAGE + 1, offset=offset)
    names = await usernames(ctx, {r["user_id"] for r in rows if r["user_id"]})
    return ctx.render("audit.html", entries=rows[:PAGE], names=names, offset=offset,
                      next_offset=offset + PAGE if len(rows) > PAGE else None,
                      prev_offset=max(0, offset - PAGE) if offset else None)
