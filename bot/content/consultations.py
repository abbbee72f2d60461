"""Consultations on draft policies (xin ý kiến): a unit publishes a draft with its dates; opinions
arrive in chat (the consultation flow started with context ``draft`` = the consultation's id,
stored as ordinary responses) and through the public web form (``consultation_opinions``); the
report counts both by position, with the comments, never a phone number."""
from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..flows import Flow
from ..store.scope import Scope, within
from ..store.tables import answers, responses
from ..store.tables_content import consultation_opinions, consultations
from ..text import clean
from . import files
from .surveys import OnChange

FLOW_ID = "consultation"
CONTEXT_KEY = "draft"
POSITION_KEY, COMMENTS_KEY, CONSENT_KEY = "position", "comments", "publish_consent"
EDITABLE = ("title", "summary", "document_url", "opens_at", "closes_at", "unit_code")


class ConsultationClosed(Exception):
    """The consultation is not (or no longer) taking opinions."""


@dataclass(frozen=True)
class Position:
    id: str
    label: str


def positions(flow: Flow) -> list[Position]:
    """The answers to "do you agree", as the consultation flow defines them, so the web form, the
    chat and the report offer and count the same choices."""
    return [Position(c.id, c.label) for c in flow.question(POSITION_KEY).choices]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(dt: datetime | None) -> datetime | None:
    return dt if dt is None or dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def is_open(row: Any, now: datetime) -> bool:
    return bool(row.published) and _aware(row.opens_at) <= now < _aware(row.closes_at)  # type: ignore[operator]


def _out(row: Any, now: datetime) -> dict[str, Any]:
    d = dict(row._mapping)
    d["opens_at"], d["closes_at"] = _aware(d["opens_at"]), _aware(d["closes_at"])
    d["open"] = is_open(row, now)
    d["has_file"] = d.pop("document_sha256") is not None
    return d


async def create(engine: AsyncEngine, *, unit_code: str | None, title: str, summary: str, document_url: str | None,
                 opens_at: datetime, closes_at: datetime, by: str | None, on_change: OnChange | None = None) -> dict[str, Any]:
    cid = "c" + secrets.token_hex(6)
    now = _now()
    async with engine.begin() as conn:
        await conn.execute(consultations.insert().values(
            id=cid, unit_code=unit_code, title=clean(title), summary=clean(summary), document_url=document_url,
            opens_at=opens_at, closes_at=closes_at, published=False, created_by=by, created_at=now, updated_at=now))
        if on_change:
            await on_change(conn, {"id": cid, "unit_code": unit_code, "title": title})
        return _out((await conn.execute(select(consultations).where(consultations.c.id == cid))).one(), now)


async def get(engine: AsyncEngine, cid: str, *, scope: Scope) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(consultations).where(
            and_(consultations.c.id == cid, within(consultations.c.unit_code, scope))))).first()
    return _out(row, _now()) if row else None


async def list_all(engine: AsyncEngine, *, scope: Scope, limit: int, offset: int) -> list[dict[str, Any]]:
    now = _now()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(consultations).where(within(consultations.c.unit_code, scope))
                                   .order_by(consultations.c.created_at.desc(), consultations.c.id)
                                   .limit(limit).offset(offset))).all()
    return [_out(r, now) for r in rows]


async def change(engine: AsyncEngine, cid: str, *, scope: Scope, values: dict[str, Any],
                 on_change: OnChange | None = None) -> dict[str, Any] | None:
    """Edit fields, publish or withdraw; None when the consultation is not in the caller's units.
    ValueError when the dates would end before they start."""
    now = _now()
    async with engine.begin() as conn:
        where = and_(consultations.c.id == cid, within(consultations.c.unit_code, scope))
        row = (await conn.execute(select(consultations).where(where))).first()
        if row is None:
            return None
        opens, closes = values.get("opens_at", row.opens_at), values.get("closes_at", row.closes_at)
        if _aware(opens) >= _aware(closes):  # type: ignore[operator]
            raise ValueError("closes_at must be after opens_at")
        await conn.execute(update(consultations).where(where).values(**values, updated_at=now))
        if on_change:
            await on_change(conn, {"unit_code": values.get("unit_code", row.unit_code),
                                   **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}})
        return _out((await conn.execute(select(consultations).where(consultations.c.id == cid))).one(), now)


async def attach_file(engine: AsyncEngine, data_dir: Path, cid: str, data: bytes, *, scope: Scope,
                      on_change: OnChange | None = None) -> dict[str, Any] | None:
    """The draft as a PDF/DOCX/XLSX (``files.FileRejected`` otherwise)."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(consultations.c.title).where(
            and_(consultations.c.id == cid, within(consultations.c.unit_code, scope))))).first()
    if row is None:
        return None
    stored = files.store(data_dir, data)
    return await change(engine, cid, scope=scope, on_change=on_change, values={
        "document_sha256": stored.sha256, "document_type": stored.file_type,
        "document_name": files.download_name(row.title, stored.file_type)})


# ---- public side -------------------------------------------------------------------------------

async def public_list(engine: AsyncEngine, *, now: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Published consultations taking opinions now, closing soonest first."""
    now = now or _now()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(consultations).where(and_(
            consultations.c.published.is_(True), consultations.c.opens_at <= now, consultations.c.closes_at > now))
            .order_by(consultations.c.closes_at, consultations.c.id).limit(limit))).all()
    return [_out(r, now) for r in rows]


async def public_get(engine: AsyncEngine, cid: str, *, now: datetime | None = None) -> dict[str, Any] | None:
    """A published consultation, open or closed (its page stays readable after it closes)."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(consultations).where(
            and_(consultations.c.id == cid, consultations.c.published.is_(True))))).first()
    return _out(row, now or _now()) if row else None


async def public_file(engine: AsyncEngine, data_dir: Path, cid: str, *,
                      published_only: bool = True) -> tuple[bytes, str, str, str] | None:
    """(content, media type, download name, title) of a published consultation's draft file (any
    consultation's for the admin API, which has checked the caller's units first)."""
    q = select(consultations.c.title, consultations.c.document_sha256, consultations.c.document_type,
               consultations.c.document_name).where(consultations.c.id == cid)
    if published_only:
        q = q.where(consultations.c.published.is_(True))
    async with engine.connect() as conn:
        row = (await conn.execute(q)).first()
    if row is None or row.document_sha256 is None:
        return None
    data = files.read(data_dir, row.document_sha256)
    return None if data is None else (data, files.MEDIA_TYPES[row.document_type], row.document_name, row.title)


async def add_opinion(engine: AsyncEngine, flow: Flow, cid: str, *, position: str, comments: str | None,
                      publish_consent: bool | None, now: datetime | None = None) -> str:
    """An opinion from the web form. LookupError: no such published consultation; ConsultationClosed;
    ValueError: a position the consultation flow does not offer, or comments too long."""
    now = now or _now()
    if position not in {p.id for p in positions(flow)}:
        raise ValueError("position must be one of " + ", ".join(p.id for p in positions(flow)))
    limit = flow.question(COMMENTS_KEY).max_length or 3000 if flow.has_question(COMMENTS_KEY) else 3000
    text = clean(comments or "") or None
    if text is not None and len(text) > limit:
        raise ValueError(f"comments are at most {limit} characters")
    oid = "o" + secrets.token_hex(8)
    async with engine.begin() as conn:
        row = (await conn.execute(select(consultations.c.published, consultations.c.opens_at,
                                         consultations.c.closes_at).where(consultations.c.id == cid))).first()
        if row is None or not row.published:
            raise LookupError(cid)
        if not is_open(row, now):
            raise ConsultationClosed(cid)
        await conn.execute(consultation_opinions.insert().values(
            id=oid, consultation_id=cid, position=position, comments=text,
            publish_consent=publish_consent if text else None, created_at=now))
    return oid


# ---- the report --------------------------------------------------------------------------------

async def report(engine: AsyncEngine, flow: Flow, cid: str, *, scope: Scope) -> dict[str, Any] | None:
    """Counts by position (chat responses completed, previews excluded, plus web form opinions) and
    the comments with their position and channel. Phone numbers are never part of it."""
    c = await get(engine, cid, scope=scope)
    if c is None:
        return None
    opinions = await _chat_opinions(engine, cid) + await _form_opinions(engine, cid)
    opinions.sort(key=lambda o: (o["at"], o["channel"]))
    labels = {p.id: p.label for p in positions(flow)}
    counts = {p: 0 for p in labels}
    by_channel: dict[str, int] = {}
    for o in opinions:
        counts[o["position"]] = counts.get(o["position"], 0) + 1
        by_channel[o["channel"]] = by_channel.get(o["channel"], 0) + 1
    return {
        "consultation": {k: c[k] for k in ("id", "title", "unit_code", "opens_at", "closes_at", "open")},
        "total": len(opinions),
        "positions": [{"position": p, "label": labels.get(p, p), "count": n} for p, n in counts.items()],
        "by_channel": by_channel,
        "comments": [{"position": o["position"], "label": labels.get(o["position"], o["position"]),
                      "comments": o["comments"], "publish_consent": o["publish_consent"], "channel": o["channel"],
                      "at": o["at"]} for o in opinions if o["comments"]],
    }


async def _chat_opinions(engine: AsyncEngine, cid: str) -> list[dict[str, Any]]:
    done = select(responses.c.id).where(and_(
        responses.c.flow_id == FLOW_ID, responses.c.preview.is_(False), responses.c.disposition == "completed",
        responses.c.context[CONTEXT_KEY].as_string() == cid))
    async with engine.connect() as conn:
        meta = {r.id: r for r in (await conn.execute(select(responses.c.id, responses.c.channel,
                                                            responses.c.completed_at).where(responses.c.id.in_(done)))).all()}
        rows = (await conn.execute(select(answers.c.response_id, answers.c.key, answers.c.value).where(and_(
            answers.c.response_id.in_(done), answers.c.key.in_((POSITION_KEY, COMMENTS_KEY, CONSENT_KEY)))))).all()
    by_response: dict[str, dict[str, Any]] = {rid: {} for rid in meta}
    for r in rows:
        by_response[r.response_id][r.key] = r.value
    return [{"position": str(a.get(POSITION_KEY)), "comments": a.get(COMMENTS_KEY),
             "publish_consent": {"yes": True, "no": False}.get(str(a.get(CONSENT_KEY))),
             "channel": meta[rid].channel, "at": _aware(meta[rid].completed_at)}
            for rid, a in by_response.items() if a.get(POSITION_KEY) is not None]


async def _form_opinions(engine: AsyncEngine, cid: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(consultation_opinions).where(
            consultation_opinions.c.consultation_id == cid))).all()
    return [{"position": r.position, "comments": r.comments, "publish_consent": r.publish_consent,
             "channel": "web_form", "at": _aware(r.created_at)} for r in rows]


def report_csv(rep: dict[str, Any]) -> str:
    """Two blocks a spreadsheet opens as is: the counts, then one row per comment. Cells that a
    spreadsheet would run as a formula are prefixed with an apostrophe."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["position", "label", "count"])
    for p in rep["positions"]:
        w.writerow([p["position"], _cell(p["label"]), p["count"]])
    w.writerow(["total", "", rep["total"]])
    w.writerow([])
    w.writerow(["position", "label", "channel", "at", "publish_consent", "comments"])
    for c in rep["comments"]:
        w.writerow([c["position"], _cell(c["label"]), c["channel"], c["at"].isoformat() if c["at"] else "",
                    "" if c["publish_consent"] is None else ("yes" if c["publish_consent"] else "no"),
                    _cell(c["comments"] or "")])
    return "\ufeff" + out.getvalue()  # BOM: Excel reads UTF-8 Vietnamese correctly


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
