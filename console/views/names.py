"""Usernames for the user ids a page shows (who took a question, who changed what)."""
from __future__ import annotations

from sqlalchemy import select

from bot.store.tables import admin_users

from ..web import Ctx


async def usernames(ctx: Ctx, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    async with ctx.services.engine.connect() as conn:
        rows = (await conn.execute(select(admin_users.c.id, admin_users.c.username)
                                   .where(admin_users.c.id.in_(sorted(ids))))).all()
    return {r.id: r.username for r in rows}
