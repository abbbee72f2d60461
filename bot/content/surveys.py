"""Survey administration: officials upload and edit flow files, every version is kept (responses
keep the version they answered), a version is published or withdrawn, and a survey opens and
closes on dates. A survey belongs to a unit (national ones to none) and every read and change is
limited to the caller's units in the query itself."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import yaml
from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..flows import Flow, load_flow_text
from ..store.flows_repo import Schedule, checksum, is_open, save_flow_in
from ..store.scope import Scope, covers, within
from ..store.tables import flows, responses
from ..store.tables_content import flow_files, flow_meta

OnChange = Callable[[AsyncConnection, dict[str, Any]], Awaitable[None]]
_VERSION_LINE = re.compile(r"^version:[ \t]*[\"']?\d+[\"']?[ \t]*(#.*)?$", re.MULTILINE)


class SurveyConflict(Exception):
    """The flow id is another unit's survey."""


@dataclass(frozen=True)
class Uploaded:
    flow_id: str
    version: int
    action: str  # added | unchanged | new_version
    published: bool
    message: str = ""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _visible_ids(scope: Scope) -> Any:
    """Flow ids in these units; a flow without a flow_meta row is national (system admins only)."""
    return select(flow_meta.c.flow_id).where(within(flow_meta.c.owner_unit, scope))


async def list_surveys(engine: AsyncEngine, *, scope: Scope, limit: int, offset: int,
                       now: datetime | None = None) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        ids_q = select(flows.c.flow_id).distinct().order_by(flows.c.flow_id).limit(limit).offset(offset)
        if scope is not None:
            ids_q = ids_q.where(flows.c.flow_id.in_(_visible_ids(scope)))
        ids = list((await conn.execute(ids_q)).scalars())
        return [await _summary(conn, flow_id, now or _now()) for flow_id in ids]


async def get_survey(engine: AsyncEngine, flow_id: str, *, scope: Scope, now: datetime | None = None) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        if not await _visible(conn, flow_id, scope):
            return None
        out = await _summary(conn, flow_id, now or _now())
        counts = dict((await conn.execute(select(responses.c.flow_version, func.count()).where(
            and_(responses.c.flow_id == flow_id, responses.c.preview.is_(False)))
            .group_by(responses.c.flow_version))).all())
        rows = (await conn.execute(select(flows.c.version, flows.c.title, flows.c.published, flows.c.checksum,
                                          flows.c.created_at).where(flows.c.flow_id == flow_id)
                                   .order_by(flows.c.version))).all()
        out["versions"] = [{**r._mapping, "responses": counts.get(r.version, 0)} for r in rows]
        return out


async def _visible(conn: AsyncConnection, flow_id: str, scope: Scope) -> bool:
    q = select(flows.c.flow_id).where(flows.c.flow_id == flow_id).limit(1)
    if scope is not None:
        q = q.where(flows.c.flow_id.in_(_visible_ids(scope)))
    return (await conn.execute(q)).first() is not None


async def _summary(conn: AsyncConnection, flow_id: str, now: datetime) -> dict[str, Any]:
    rows = (await conn.execute(select(flows.c.version, flows.c.title, flows.c.published, flows.c.source)
                               .where(flows.c.flow_id == flow_id).order_by(flows.c.version))).all()
    meta = (await conn.execute(select(flow_meta).where(flow_meta.c.flow_id == flow_id))).first()
    current = max((r.version for r in rows if r.published), default=None)
    newest = rows[-1]
    shown = next((r for r in rows if r.version == current), newest)
    schedule = Schedule(meta.opens_at, meta.closes_at) if meta else Schedule()
    return {"flow_id": flow_id, "title": shown.title, "owner_unit": meta.owner_unit if meta else None,
            "current_version": current, "latest_version": newest.version,
            "opens_at": meta.opens_at if meta else None, "closes_at": meta.closes_at if meta else None,
            "status": _status(shown.source, current, schedule, now)}


def _status(source: dict[str, Any], current: int | None, schedule: Schedule, now: datetime) -> str:
    """unpublished | scheduled | open | closed: what a respondent would meet in chat right now."""
    if current is None:
        return "unpublished"
    refusal = schedule.refusal(now)
    if refusal is not None:
        return "scheduled" if refusal.phrase == "flow_not_open_yet" else "closed"
    from ..flows import flow_from_source

    flow = flow_from_source(source)
    if is_open(flow, now.date()):
        return "open"
    return "scheduled" if flow.settings.opens_at and now.date().isoformat() < str(flow.settings.opens_at) else "closed"


async def upload(engine: AsyncEngine, text: str, *, name: str, scope: Scope, owner_unit: str | None, by: str | None,
                 publish: bool = False, expect_id: str | None = None, on_change: OnChange | None = None) -> Uploaded:
    """Validate and store a flow file (``FlowInvalid`` lists every error with its line). A file
    whose version is already stored with other content becomes the next version, so the old one
    and the responses given to it stay as they were. New versions are drafts unless ``publish``."""
    flow = load_flow_text(text, name)
    if expect_id is not None and flow.id != expect_id:
        from ..flows import FlowError, FlowInvalid

        raise FlowInvalid([FlowError(name, _id_line(text), f"the file's id is '{flow.id}', not '{expect_id}'")])
    async with engine.begin() as conn:
        await _claim(conn, flow.id, scope, owner_unit)
        stored = (await conn.execute(select(flows.c.version, flows.c.source).where(flows.c.flow_id == flow.id))).all()
        asked = flow.version
        identical = [r.version for r in stored if _content(r.source) == _content(flow.source)]
        action, message = "added", ""
        if identical:  # this content is stored already (perhaps renumbered by an earlier edit)
            action, flow = "unchanged", flow if asked in identical else _renumbered(text, name, max(identical))[1]
        elif asked in {r.version for r in stored}:
            text, flow = _renumbered(text, name, max(r.version for r in stored) + 1)
            action = "new_version"
            message = f"version {asked} is already stored with other content: this file is version {flow.version}"
        if action != "unchanged":
            await save_flow_in(conn, flow, published=publish)
            await conn.execute(flow_files.insert().values(flow_id=flow.id, version=flow.version, text=text,
                                                          uploaded_by=by, created_at=_now()))
        elif publish:
            await _set_published(conn, flow.id, flow.version, True)
        published = publish or await _is_published(conn, flow.id, flow.version)
        outcome = Uploaded(flow.id, flow.version, action, published, message)
        if on_change is not None:
            await on_change(conn, {"flow_id": flow.id, "version": flow.version, "outcome": action,
                                   "unit_code": await _owner(conn, flow.id)})
        return outcome


def _content(source: dict[str, Any]) -> str:
    """What a version says, whatever its number."""
    return checksum({k: v for k, v in source.items() if k != "version"})


def _id_line(text: str) -> int | None:
    m = re.search(r"^id:", text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _renumbered(text: str, name: str, version: int) -> tuple[str, Flow]:
    """The same file as version ``version``: the ``version:`` line rewritten (comments and layout
    kept), or the whole file written out again when the line is not found."""
    new_text, n = _VERSION_LINE.subn(f"version: {version}", text, count=1)
    if n == 0:
        data = yaml.safe_load(text)
        data["version"] = version
        new_text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return new_text, load_flow_text(new_text, name)


async def _claim(conn: AsyncConnection, flow_id: str, scope: Scope, owner_unit: str | None) -> None:
    """The first upload of an id makes it the uploader's unit's survey; later uploads must come
    from that unit (or above it). A stored flow without a row is national."""
    meta = (await conn.execute(select(flow_meta.c.owner_unit).where(flow_meta.c.flow_id == flow_id))).first()
    exists = (await conn.execute(select(flows.c.flow_id).where(flows.c.flow_id == flow_id).limit(1))).first()
    if meta is not None or exists is not None:
        owner = meta.owner_unit if meta is not None else None
        if not covers(scope, owner):
            raise SurveyConflict(f"the survey id '{flow_id}' belongs to another unit: choose another id")
        return
    await conn.execute(flow_meta.insert().values(flow_id=flow_id, owner_unit=owner_unit, updated_at=_now()))


async def _owner(conn: AsyncConnection, flow_id: str) -> str | None:
    return (await conn.execute(select(flow_meta.c.owner_unit).where(flow_meta.c.flow_id == flow_id))).scalar()


async def _is_published(conn: AsyncConnection, flow_id: str, version: int) -> bool:
    return bool((await conn.execute(select(flows.c.published).where(
        and_(flows.c.flow_id == flow_id, flows.c.version == version)))).scalar())


async def _set_published(conn: AsyncConnection, flow_id: str, version: int | None, published: bool) -> int:
    q = update(flows).where(flows.c.flow_id == flow_id).values(published=published)
    if version is not None:
        q = q.where(flows.c.version == version)
    return (await conn.execute(q)).rowcount


async def set_published(engine: AsyncEngine, flow_id: str, version: int | None, published: bool, *, scope: Scope,
                        on_change: OnChange | None = None) -> bool:
    """Publish or withdraw one version (``version`` None: withdraw every version). New respondents
    get the newest published version; those in the middle of a withdrawn one finish it. False
    when the survey or version is not in the caller's units."""
    async with engine.begin() as conn:
        if not await _visible(conn, flow_id, scope):
            return False
        if not await _set_published(conn, flow_id, version, published):
            return False
        if on_change is not None:
            await on_change(conn, {"flow_id": flow_id, "version": version, "published": published,
                                   "unit_code": await _owner(conn, flow_id)})
    return True


async def set_schedule(engine: AsyncEngine, flow_id: str, opens_at: datetime | None, closes_at: datetime | None, *,
                       scope: Scope, on_change: OnChange | None = None) -> bool:
    async with engine.begin() as conn:
        if not await _visible(conn, flow_id, scope):
            return False
        values = {"opens_at": opens_at, "closes_at": closes_at, "updated_at": _now()}
        done = (await conn.execute(update(flow_meta).where(flow_meta.c.flow_id == flow_id).values(**values))).rowcount
        if not done:  # a national flow loaded from survey_flows/: its first administrative setting
            await conn.execute(flow_meta.insert().values(flow_id=flow_id, owner_unit=None, **values))
        if on_change is not None:
            await on_change(conn, {"flow_id": flow_id, "opens_at": opens_at and opens_at.isoformat(),
                                   "closes_at": closes_at and closes_at.isoformat(),
                                   "unit_code": await _owner(conn, flow_id)})
    return True


async def source_text(engine: AsyncEngine, flow_id: str, version: int, *, scope: Scope) -> str | None:
    """The file as uploaded; for versions loaded from survey_flows/ by the command line, the stored
    source written out as YAML."""
    async with engine.connect() as conn:
        if not await _visible(conn, flow_id, scope):
            return None
        text = (await conn.execute(select(flow_files.c.text).where(
            and_(flow_files.c.flow_id == flow_id, flow_files.c.version == version)))).scalar()
        if text is not None:
            return str(text)
        source = (await conn.execute(select(flows.c.source).where(
            and_(flows.c.flow_id == flow_id, flows.c.version == version)))).scalar()
    return None if source is None else yaml.safe_dump(source, allow_unicode=True, sort_keys=False)


async def version_exists(engine: AsyncEngine, flow_id: str, version: int | None, *, scope: Scope) -> bool:
    async with engine.connect() as conn:
        if not await _visible(conn, flow_id, scope):
            return False
        if version is None:
            return True
        return (await conn.execute(select(flows.c.version).where(
            and_(flows.c.flow_id == flow_id, flows.c.version == version)))).first() is not None
