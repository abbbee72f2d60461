"""The reform documents database: each unit uploads its documents, reports and results (PDF, DOCX,
XLSX), and anyone searches them, on the website and in chat ("tra cứu văn bản cải cách 2025").
Search compares folded text (bot/text.py: no diacritics, no case), so "cai cach" finds "Cải cách"."""
from __future__ import annotations

import math
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..dialogues import Dialogues
from ..messages import Outbound
from ..store.scope import Scope, within
from ..store.tables_content import documents
from ..text import clean, fold
from ..units import UnitCatalogue
from . import files
from .surveys import OnChange

KINDS = ("document", "report", "result", "plan")
KIND_WORDS = {"document": "văn bản", "report": "báo cáo", "result": "kết quả", "plan": "kế hoạch"}
PUBLIC_FILE_PATH = "/api/v1/public/documents/{id}/file"
_COLUMNS = (documents.c.id, documents.c.unit_code, documents.c.year, documents.c.kind, documents.c.title,
            documents.c.size, documents.c.file_type, documents.c.download_name, documents.c.created_at)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def search_text(title: str, unit_code: str, unit_name: str | None, kind: str, year: int) -> str:
    return fold(" ".join((title, unit_name or "", unit_code.replace(".", " ").replace("_", " "),
                          KIND_WORDS.get(kind, kind), str(year))))


async def add(engine: AsyncEngine, data_dir: Path, units: UnitCatalogue, data: bytes, *, unit_code: str, year: int,
              kind: str, title: str, by: str | None, on_change: OnChange | None = None) -> dict[str, Any]:
    """Store the file (``files.FileRejected`` for anything but PDF/DOCX/XLSX within the size cap)
    and its record; the caller has checked that ``unit_code`` is in its units."""
    stored = files.store(data_dir, data)
    title = clean(title)
    row = {"id": "d" + secrets.token_hex(8), "unit_code": unit_code, "year": year, "kind": kind, "title": title,
           "search_text": search_text(title, unit_code, units.name(unit_code), kind, year), "sha256": stored.sha256,
           "size": stored.size, "file_type": stored.file_type,
           "download_name": files.download_name(title, stored.file_type), "uploaded_by": by, "created_at": _now()}
    async with engine.begin() as conn:
        await conn.execute(documents.insert().values(**row))
        if on_change:
            await on_change(conn, {"id": row["id"], "unit_code": unit_code, "title": title, "sha256": stored.sha256})
    return {k: row[k] for k in (c.name for c in _COLUMNS)}


def _filtered(q: Any, unit: str | None, year: int | None, kind: str | None) -> Any:
    """A unit (with the units under it), a year, a kind: the filters the lists and the search share."""
    if unit:
        q = q.where(or_(documents.c.unit_code == unit, documents.c.unit_code.startswith(unit + ".", autoescape=True)))
    if year:
        q = q.where(documents.c.year == year)
    if kind:
        q = q.where(documents.c.kind == kind)
    return q


async def list_for(engine: AsyncEngine, *, scope: Scope, limit: int, offset: int, unit: str | None = None,
                   year: int | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    q = _filtered(select(*_COLUMNS).where(within(documents.c.unit_code, scope)), unit, year, kind)
    async with engine.connect() as conn:
        rows = (await conn.execute(q.order_by(documents.c.year.desc(), documents.c.created_at.desc(), documents.c.id)
                                   .limit(limit).offset(offset))).all()
    return [dict(r._mapping) for r in rows]


async def get(engine: AsyncEngine, doc_id: str, *, scope: Scope) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(*_COLUMNS, documents.c.sha256).where(
            and_(documents.c.id == doc_id, within(documents.c.unit_code, scope))))).first()
    return dict(row._mapping) if row else None


async def remove(engine: AsyncEngine, doc_id: str, *, scope: Scope, on_change: OnChange | None = None) -> bool:
    """The record goes; the file stays on disk (another record may share its content)."""
    async with engine.begin() as conn:
        row = (await conn.execute(select(documents.c.unit_code, documents.c.title).where(
            and_(documents.c.id == doc_id, within(documents.c.unit_code, scope))))).first()
        if row is None:
            return False
        await conn.execute(delete(documents).where(documents.c.id == doc_id))
        if on_change:
            await on_change(conn, {"unit_code": row.unit_code, "title": row.title})
    return True


async def search(engine: AsyncEngine, query: str, *, scope: Scope = None, limit: int = 10, unit: str | None = None,
                 year: int | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """Best matches first: documents holding more of the query's words (at least half of them),
    then the whole phrase, then the newest. Every document is public (``scope=None``); the console
    keeps to the caller's units with ``scope``, in the query, before the rows are weighed.
    No query: the newest."""
    words = [w for w in dict.fromkeys(fold(query).split()) if len(w) > 1 or w.isdigit()][:12]
    q = select(*_COLUMNS, documents.c.search_text).where(within(documents.c.unit_code, scope))
    if words:
        q = q.where(or_(*(documents.c.search_text.contains(w, autoescape=True) for w in words)))
    q = _filtered(q, unit, year, kind)
    async with engine.connect() as conn:
        rows = (await conn.execute(q.order_by(documents.c.year.desc(), documents.c.created_at.desc()).limit(2000))).all()
    need = math.ceil(len(words) / 2)
    phrase = " ".join(words)
    scored = []
    for r in rows:
        tokens = set(r.search_text.split())
        hits = sum(1 for w in words if w in tokens)
        if hits >= need:
            scored.append((-hits, -(phrase in r.search_text), -r.year, r))
    scored.sort(key=lambda t: t[:3])
    return [{k: v for k, v in r._mapping.items() if k != "search_text"} for *_, r in scored[:limit]]


async def public_file(engine: AsyncEngine, data_dir: Path, doc_id: str) -> tuple[bytes, str, str, str] | None:
    """(content, media type, download name, title): documents are public."""
    d = await get(engine, doc_id, scope=None)
    if d is None:
        return None
    data = files.read(data_dir, d["sha256"])
    return None if data is None else (data, files.MEDIA_TYPES[d["file_type"]], d["download_name"], d["title"])


def file_url(base_url: str, doc_id: str) -> str:
    return base_url + PUBLIC_FILE_PATH.format(id=doc_id)


# ---- in chat -----------------------------------------------------------------------------------

def search_request(dialogues: Dialogues, text: str) -> str | None:
    """The keywords of "tra cứu văn bản <keywords>" ("" when none were given); None when the
    message is not a document search. The leading words are in dialogues/ (document_search_words)."""
    folded = fold(text)
    for words in sorted((fold(w) for w in dialogues.say("document_search_words").split("|") if w.strip()),
                        key=len, reverse=True):
        if folded == words or folded.startswith(words + " "):
            return " ".join(text.split()[len(words.split()):]).strip(" :,.-")
    return None


async def chat_reply(engine: AsyncEngine, dialogues: Dialogues, units: UnitCatalogue, base_url: str,
                     text: str, limit: int = 5) -> list[Outbound] | None:
    """The bot's answer to a document search: the best matches as links, or how to ask."""
    query = search_request(dialogues, text)
    if query is None:
        return None
    if not fold(query):
        return [Outbound(dialogues.say("document_search_ask"))]
    found = await search(engine, query, limit=limit)
    if not found:
        return [Outbound(dialogues.say("document_search_none", query=query))]
    lines = [dialogues.say("document_search_results", query=query)]
    lines += [dialogues.say("document_search_line", number=n, title=d["title"], year=d["year"],
                            unit=units.name(d["unit_code"]) or d["unit_code"], url=file_url(base_url, d["id"]))
              for n, d in enumerate(found, 1)]
    return [Outbound("\n".join(lines))]
