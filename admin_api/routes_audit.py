"""The audit log and the unit catalogue, as the caller is allowed to see them."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from . import audit
from .api import Call, route
from .models import Ident, Page, PageQuery
from .roles import ADMINS, EVERYONE

TAG = "Nhật ký và đơn vị"


class AuditQuery(PageQuery):
    object_type: Ident | None = None
    object_id: Ident | None = None


class AuditEntry(BaseModel):
    id: int
    at: datetime
    user_id: str | None
    action: str
    object_type: str | None
    object_id: str | None
    unit_code: str | None
    details: dict[str, Any] | None


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    valid_from: date | None
    valid_to: date | None
    successors: list[str]
    yours: bool = Field(description="inside your scope")


@route("GET", "/audit", summary="Changes made in your units, newest first", tag=TAG, roles=ADMINS, query=AuditQuery,
       response=Page[AuditEntry])
async def list_audit(call: Call) -> dict[str, Any]:
    q = call.query
    async with call.services.engine.connect() as conn:
        rows = await audit.entries(conn, call.principal.scope, limit=q.limit, offset=q.offset,
                                   object_type=q.object_type, object_id=q.object_id)
    return {"items": rows, "next_offset": q.offset + q.limit if len(rows) == q.limit else None}


@route("GET", "/units", summary="The unit catalogue, with validity dates and successors", tag=TAG, roles=EVERYONE,
       response=list[UnitOut])
async def list_units(call: Call) -> list[UnitOut]:
    who = call.principal
    return [UnitOut(code=u.code, name=u.name, kind=u.kind, valid_from=u.valid_from, valid_to=u.valid_to,
                    successors=list(u.successors), yours=who.covers(u.code))
            for u in call.services.units.units.values()]
