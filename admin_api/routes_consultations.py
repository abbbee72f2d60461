"""Consultations on draft policies: a unit publishes a draft (title, summary, a file or a link, dates);
opinions arrive in chat and through the public form; the report counts them by position, with
the comments, as JSON or CSV."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from bot.content import consultations, files

from .api import Call, route
from .errors import ApiError, forbidden, invalid, not_found
from .models import Name, Page, PageQuery, Strict, Text, UnitCode, page
from .public import consultation_links, file_response
from .roles import ADMINS, EVERYONE
from .routes_surveys import Instant, dates_conflict, recorder

TAG = "Lấy ý kiến dự thảo"
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x00-\x1f\x7f]{1,490}$")]
REQUIRED = ("title", "summary", "opens_at", "closes_at")


class ConsultationBody(Strict):
    title: Name
    summary: Text
    document_url: Url | None = Field(None, description="the draft on the unit's own site")
    opens_at: Instant
    closes_at: Instant
    unit_code: UnitCode | None = Field(None, description="default: your unit (system administrators: national)")


class ConsultationPatch(Strict):
    """Only the fields given change; ``document_url`` and ``unit_code`` may be set to null."""
    title: Name | SkipJsonSchema[None] = None
    summary: Text | SkipJsonSchema[None] = None
    document_url: Url | None = None
    opens_at: Instant | SkipJsonSchema[None] = None
    closes_at: Instant | SkipJsonSchema[None] = None
    unit_code: UnitCode | None = None


class Consultation(BaseModel):
    id: str
    unit_code: str | None
    title: str
    summary: str
    document_url: str | None
    document_type: str | None
    document_name: str | None
    has_file: bool
    opens_at: datetime
    closes_at: datetime
    published: bool
    open: bool = Field(description="published and between its dates: taking opinions now")
    created_at: datetime
    updated_at: datetime
    chat_url: str = Field(description="the consultation chat (flow 'consultation' with this draft)")
    form_url: str = Field(description="the public web form")


class PositionCount(BaseModel):
    position: str
    label: str
    count: int


class Comment(BaseModel):
    position: str
    label: str
    comments: str
    publish_consent: bool | None
    channel: str
    at: datetime | None


class Report(BaseModel):
    consultation: dict[str, Any]
    total: int
    positions: list[PositionCount]
    by_channel: dict[str, int]
    comments: list[Comment]


def _out(call: Call, d: dict[str, Any]) -> Consultation:
    fields = {k: d.get(k) for k in Consultation.model_fields if k in d}
    return Consultation(**fields, **consultation_links(call.services.settings.base_url, d["id"]))


async def _flow(call: Call) -> Any:
    flow = await call.services.flows.get(consultations.FLOW_ID)
    if flow is None:
        raise ApiError(409, "conflict", "the consultation flow is not loaded: run hailong flows load")
    return flow


@route("GET", "/consultations", summary="Consultations of your units", tag=TAG, roles=EVERYONE, query=PageQuery,
       response=Page[Consultation])
async def list_consultations(call: Call) -> dict[str, Any]:
    q = call.query
    rows = await consultations.list_all(call.services.engine, scope=call.principal.scope, limit=q.limit, offset=q.offset)
    return page([_out(call, r) for r in rows], q)


@route("POST", "/consultations", summary="Create a consultation (a draft until published)", tag=TAG, roles=ADMINS,
       body=ConsultationBody, response=Consultation, status=201, errors=(409,))
async def create_consultation(call: Call) -> Consultation:
    b, who = call.body, call.principal
    unit = b.unit_code if b.unit_code is not None else who.unit_code
    if not who.covers(unit):
        raise forbidden("you can only consult for your units")
    if b.opens_at >= b.closes_at:
        raise dates_conflict()
    d = await consultations.create(call.services.engine, unit_code=unit, title=b.title, summary=b.summary,
                                   document_url=b.document_url, opens_at=b.opens_at, closes_at=b.closes_at,
                                   by=who.user_id, on_change=recorder(who, "consultation.create", "consultation", "new"))
    return _out(call, d)


@route("GET", "/consultations/{consultation_id}", summary="One consultation", tag=TAG, roles=EVERYONE,
       response=Consultation)
async def get_consultation(call: Call) -> Consultation:
    d = await consultations.get(call.services.engine, call.params["consultation_id"], scope=call.principal.scope)
    if d is None:
        raise not_found("consultation")
    return _out(call, d)


async def _change(call: Call, action: str, values: dict[str, Any]) -> Consultation:
    who, cid = call.principal, call.params["consultation_id"]
    try:
        d = await consultations.change(call.services.engine, cid, scope=who.scope, values=values,
                                       on_change=recorder(who, action, "consultation", cid))
    except ValueError:
        raise dates_conflict() from None
    if d is None:
        raise not_found("consultation")
    return _out(call, d)


@route("PATCH", "/consultations/{consultation_id}", summary="Edit title, summary, link, dates or unit", tag=TAG,
       roles=ADMINS, body=ConsultationPatch, response=Consultation, errors=(409,))
async def edit_consultation(call: Call) -> Consultation:
    values = call.body.model_dump(exclude_unset=True)
    missing = [k for k in REQUIRED if k in values and values[k] is None]
    if missing:
        raise invalid("these fields cannot be emptied", [{"field": f"body.{k}", "message": "null"} for k in missing])
    if "unit_code" in values and not call.principal.covers(values["unit_code"]):
        raise forbidden("you can only move a consultation to one of your units")
    return await _change(call, "consultation.edit", values)


@route("PUT", "/consultations/{consultation_id}/file", summary="Attach the draft (PDF, DOCX or XLSX)", tag=TAG,
       roles=ADMINS, raw_body="application/octet-stream", response=Consultation, errors=(413,))
async def attach_file(call: Call) -> Consultation:
    who, cid = call.principal, call.params["consultation_id"]
    try:
        d = await consultations.attach_file(call.services.engine, call.services.settings.data_dir, cid,
                                            await call.request.read(), scope=who.scope,
                                            on_change=recorder(who, "consultation.file", "consultation", cid))
    except files.FileRejected as e:
        raise invalid(str(e)) from None
    if d is None:
        raise not_found("consultation")
    return _out(call, d)


@route("POST", "/consultations/{consultation_id}/publish", summary="Publish: shown on the public pages between its dates",
       tag=TAG, roles=ADMINS, response=Consultation)
async def publish_consultation(call: Call) -> Consultation:
    return await _change(call, "consultation.publish", {"published": True})


@route("POST", "/consultations/{consultation_id}/unpublish", summary="Withdraw from the public pages and the chat",
       tag=TAG, roles=ADMINS, response=Consultation)
async def unpublish_consultation(call: Call) -> Consultation:
    return await _change(call, "consultation.unpublish", {"published": False})


async def _report(call: Call) -> dict[str, Any]:
    rep = await consultations.report(call.services.engine, await _flow(call), call.params["consultation_id"],
                                     scope=call.principal.scope)
    if rep is None:
        raise not_found("consultation")
    return rep


@route("GET", "/consultations/{consultation_id}/report", summary="Opinions by position, with the comments",
       tag=TAG, roles=EVERYONE, response=Report, errors=(409,))
async def consultation_report(call: Call) -> dict[str, Any]:
    """Chat (completed, previews excluded) and web form opinions together; never a phone number."""
    return await _report(call)


@route("GET", "/consultations/{consultation_id}/report.csv", summary="The report as CSV (Excel opens it as is)",
       tag=TAG, roles=EVERYONE, produces="text/csv", errors=(409,))
async def consultation_report_csv(call: Call) -> web.Response:
    rep = await _report(call)
    return web.Response(text=consultations.report_csv(rep), content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="y-kien-{rep["consultation"]["id"]}.csv"',
        "Cache-Control": "no-store"})


@route("GET", "/consultations/{consultation_id}/file", summary="The attached draft", tag=TAG, roles=EVERYONE,
       produces="application/octet-stream")
async def consultation_file(call: Call) -> web.StreamResponse:
    d = await consultations.get(call.services.engine, call.params["consultation_id"], scope=call.principal.scope)
    if d is None or not d["has_file"]:
        raise not_found("consultation file")
    got = await consultations.public_file(call.services.engine, call.services.settings.data_dir, d["id"],
                                          published_only=False)
    if got is None:
        raise not_found("consultation file")
    return file_response(*got)
