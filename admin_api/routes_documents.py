"""The reform documents database: units upload their documents, reports and results (PDF, DOCX,
XLSX recognised by content, at most 20 MB), list and remove them within their units. Searching is
public (admin_api/public.py) and in chat ("tra cứu văn bản …")."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from bot.content import documents, files

from .api import Call, route
from .errors import forbidden, invalid, not_found
from .models import Name, Page, PageQuery, Strict, UnitCode, page
from .public import file_response
from .roles import ADMINS, ANSWERERS, EVERYONE
from .routes_surveys import recorder

TAG = "Cơ sở dữ liệu văn bản cải cách"
Kind = Literal["document", "report", "result", "plan"]


class DocumentUploadQuery(Strict):
    title: Name
    year: int = Field(ge=1945, le=2100)
    kind: Kind = Field(description="document (văn bản), report (báo cáo), result (kết quả), plan (kế hoạch)")
    unit: UnitCode | None = Field(None, description="default: your unit")


class DocumentsQuery(PageQuery):
    unit: UnitCode | None = None
    year: int | None = Field(None, ge=1945, le=2100)
    kind: Kind | None = None


class Document(BaseModel):
    id: str
    unit_code: str
    year: int
    kind: str
    title: str
    size: int
    file_type: Literal["pdf", "docx", "xlsx"]
    download_name: str
    created_at: datetime
    url: str = Field(description="public download link")


def _out(call: Call, d: dict[str, Any]) -> Document:
    return Document(**{k: d[k] for k in Document.model_fields if k in d},
                    url=documents.file_url(call.services.settings.base_url, d["id"]))


@route("POST", "/documents", summary="Upload a document, report or result (PDF, DOCX, XLSX)", tag=TAG,
       roles=ANSWERERS, query=DocumentUploadQuery, raw_body="application/octet-stream", response=Document, status=201,
       errors=(413,))
async def upload_document(call: Call) -> Document:
    """The body is the file itself; its type is read from its first bytes, whatever its name."""
    q, who, svc = call.query, call.principal, call.services
    unit = q.unit or who.unit_code
    if unit is None:
        raise invalid("say which unit the document belongs to", [{"field": "query.unit", "message": "required"}])
    if not who.covers(unit):
        raise forbidden("you can only upload documents of your units")
    if svc.units.name(unit) is None:
        raise invalid(f"unknown unit {unit}", [{"field": "query.unit", "message": "not in the unit catalogue"}])
    try:
        d = await documents.add(svc.engine, svc.settings.data_dir, svc.units, await call.request.read(),
                                unit_code=unit, year=q.year, kind=q.kind, title=q.title, by=who.user_id,
                                on_change=recorder(who, "document.upload", "document", "new"))
    except files.FileRejected as e:
        raise invalid(str(e)) from None
    return _out(call, d)


@route("GET", "/documents", summary="Documents of your units, newest year first", tag=TAG, roles=EVERYONE,
       query=DocumentsQuery, response=Page[Document])
async def list_documents(call: Call) -> dict[str, Any]:
    q = call.query
    rows = await documents.list_for(call.services.engine, scope=call.principal.scope, limit=q.limit, offset=q.offset,
                                    unit=q.unit, year=q.year, kind=q.kind)
    return page([_out(call, r) for r in rows], q)


@route("GET", "/documents/{document_id}", summary="One document", tag=TAG, roles=EVERYONE, response=Document)
async def get_document(call: Call) -> Document:
    d = await documents.get(call.services.engine, call.params["document_id"], scope=call.principal.scope)
    if d is None:
        raise not_found("document")
    return _out(call, d)


@route("GET", "/documents/{document_id}/file", summary="Download the file", tag=TAG, roles=EVERYONE,
       produces="application/octet-stream")
async def document_file(call: Call) -> web.StreamResponse:
    svc = call.services
    d = await documents.get(svc.engine, call.params["document_id"], scope=call.principal.scope)
    got = await documents.public_file(svc.engine, svc.settings.data_dir, d["id"]) if d else None
    if got is None:
        raise not_found("document")
    return file_response(*got)


@route("DELETE", "/documents/{document_id}", summary="Remove a document", tag=TAG, roles=ADMINS, status=204)
async def delete_document(call: Call) -> None:
    who, doc_id = call.principal, call.params["document_id"]
    if not await documents.remove(call.services.engine, doc_id, scope=who.scope,
                                  on_change=recorder(who, "document.delete", "document", doc_id)):
        raise not_found("document")
