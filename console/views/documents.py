"""The reform documents database (văn bản cải cách) of the caller's units: list and search them
(the service folds diacritics, so "cai cach" finds "Cải cách"), download them, upload a PDF, DOCX
or XLSX (recognised by its bytes, whatever its name) and, for administrators, remove one.

As in the admin API: officials and administrators upload, administrators remove, everyone reads;
the API's query model checks the form, ``bot.content.documents`` does the work, and the API's
recorder writes the audit record. The API has no metadata editing, so neither has the console."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from admin_api.public import file_response
from admin_api.roles import ADMINS, ANSWERERS, EVERYONE
from admin_api.routes_documents import DocumentUploadQuery
from admin_api.routes_surveys import recorder
from bot.content import documents as service
from bot.content import files

from ..web import Ctx, page, redirect
from .accounts import unit_choices
from .forms import NAME, OUTSIDE, first_problem, refusal, uploaded
from .paging import offset_of, pages
from .table import ROUTES

ID = r"{document_id:[A-Za-z0-9_.\-]{1,64}}"
PAGE = 50
KINDS = {k: service.KIND_WORDS[k].capitalize() for k in service.KINDS}
UPLOAD_FIELDS = ("title", "year", "kind", "unit")
DONE = {"uploaded": "Đã tải lên văn bản.", "deleted": "Đã xóa văn bản khỏi cơ sở dữ liệu."}
PROBLEMS = {"title": NAME, "year": "Năm ban hành: từ 1945 đến 2100.", "kind": "Hãy chọn loại văn bản.",
            "unit": OUTSIDE}
BAD_YEAR = "Năm không hợp lệ: nhập năm gồm bốn chữ số, ví dụ 2025."


@dataclass(frozen=True)
class Filters:
    q: str
    unit: str | None
    year: int | None
    kind: str | None

    def query(self) -> str:
        return urlencode({k: v for k, v in (("q", self.q), ("unit", self.unit), ("year", self.year),
                                            ("kind", self.kind)) if v})


def _filters(ctx: Ctx) -> tuple[Filters, str | None]:
    q = ctx.request.query
    year, problem = None, None
    if q.get("year", "").strip():
        try:
            year = int(q["year"])
        except ValueError:
            problem = BAD_YEAR
    kind = q.get("kind") if q.get("kind") in KINDS else None
    return Filters(q.get("q", "").strip()[:200], q.get("unit") or None, year, kind), problem


async def _rows(ctx: Ctx, f: Filters, offset: int) -> list[dict[str, Any]]:
    """One page and one more row, of the caller's units only (the console shows what the caller
    is responsible for): the public search, scoped in its query."""
    if not f.q:
        return await service.list_for(ctx.services.engine, scope=ctx.who.scope, limit=PAGE + 1, offset=offset,
                                      unit=f.unit, year=f.year, kind=f.kind)
    found = await service.search(ctx.services.engine, f.q, scope=ctx.who.scope, limit=offset + PAGE + 1,
                                 unit=f.unit, year=f.year, kind=f.kind)
    return found[offset:]


async def _list_page(ctx: Ctx, *, error: str | None = None, values: dict[str, str] | None = None,
                     status: int = 200) -> web.StreamResponse:
    f, problem = _filters(ctx)
    offset = offset_of(ctx.request)
    rows = await _rows(ctx, f, offset)
    return ctx.render("documents.html", status=status, documents=rows[:PAGE], filters=f, query=f.query(),
                      pager=pages(offset, PAGE, len(rows)), kinds=KINDS, units=unit_choices(ctx.services, ctx.who),
                      error=error or problem, values=values or {"year": str(date.today().year)},
                      can_upload=ctx.who.role in ANSWERERS, can_delete=ctx.who.role in ADMINS,
                      done=DONE.get(ctx.request.query.get("done", "")))


@ROUTES.get("/documents")
@page(EVERYONE)
async def documents(ctx: Ctx) -> web.StreamResponse:
    return await _list_page(ctx)


@ROUTES.post("/documents")
@page(ANSWERERS)
async def upload(ctx: Ctx) -> web.StreamResponse:
    """Checked as the API checks an upload; a refused file is stored nowhere and the form keeps
    what the official typed."""
    form = await ctx.request.post()
    values = {k: str(form.get(k, "")).strip() for k in UPLOAD_FIELDS}
    try:
        q = DocumentUploadQuery.model_validate({"title": values["title"], "year": values["year"] or None,
                                                "kind": values["kind"], "unit": values["unit"] or None})
    except ValidationError as e:
        return await _list_page(ctx, error=first_problem(e, PROBLEMS), values=values, status=422)
    unit = q.unit or ctx.who.unit_code
    if unit is None or not ctx.who.covers(unit) or ctx.services.units.name(unit) is None:
        return await _list_page(ctx, error=OUTSIDE, values=values, status=422)
    svc = ctx.services
    try:
        await service.add(svc.engine, svc.settings.data_dir, svc.units, uploaded(form), unit_code=unit, year=q.year,
                          kind=q.kind, title=q.title, by=ctx.who.user_id,
                          on_change=recorder(ctx.who, "document.upload", "document", "new"))
    except files.FileRejected as e:
        return await _list_page(ctx, error=refusal(e), values=values, status=422)
    return redirect("/documents?done=uploaded")


@ROUTES.get("/documents/" + ID + "/file")
@page(EVERYONE)
async def download(ctx: Ctx) -> web.StreamResponse:
    svc = ctx.services
    d = await service.get(svc.engine, ctx.request.match_info["document_id"], scope=ctx.who.scope)
    got = await service.public_file(svc.engine, svc.settings.data_dir, d["id"]) if d else None
    if got is None:
        raise web.HTTPNotFound()
    return file_response(*got)


@ROUTES.post("/documents/" + ID + "/delete")
@page(ADMINS)
async def delete(ctx: Ctx) -> web.StreamResponse:
    doc_id = ctx.request.match_info["document_id"]
    if not await service.remove(ctx.services.engine, doc_id, scope=ctx.who.scope,
                                on_change=recorder(ctx.who, "document.delete", "document", doc_id)):
        raise web.HTTPNotFound()
    return redirect("/documents?done=deleted")
