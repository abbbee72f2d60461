"""Flow versions in the database: every version is kept; the newest published one is offered,
between the dates an administrator set (flow_meta) and those of the flow's own settings."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..flows import Flow, flow_from_source, load_flow_file
from .tables import flows, responses
from .tables_content import consultations, flow_meta

PREVIEW_SEPARATOR = "@"  # "sipas@3": a preview of version 3, whether published or not


def checksum(source: dict) -> str:
    return hashlib.sha256(json.dumps(source, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class LoadOutcome:
    flow_id: str
    version: int
    action: str  # added | unchanged | replaced | conflict
    message: str = ""


async def save_flow(engine: AsyncEngine, flow: Flow, *, published: bool = True) -> LoadOutcome:
    async with engine.begin() as conn:
        return await save_flow_in(conn, flow, published=published)


async def save_flow_in(conn: AsyncConnection, flow: Flow, *, published: bool = True) -> LoadOutcome:
    """Within the caller's transaction, so the admin API stores the file and its audit record with it."""
    digest = checksum(flow.source)
    row = (await conn.execute(select(flows.c.checksum).where(
        and_(flows.c.flow_id == flow.id, flows.c.version == flow.version)))).first()
    if row is None:
        await conn.execute(flows.insert().values(flow_id=flow.id, version=flow.version, title=flow.title,
                                                 source=flow.source, checksum=digest, published=published,
                                                 created_at=datetime.now(timezone.utc)))
        return LoadOutcome(flow.id, flow.version, "added")
    if row.checksum == digest:
        return LoadOutcome(flow.id, flow.version, "unchanged")
    used = (await conn.execute(select(func.count()).select_from(responses).where(
        and_(responses.c.flow_id == flow.id, responses.c.flow_version == flow.version, responses.c.preview.is_(False))))).scalar_one()
    if used:
        return LoadOutcome(flow.id, flow.version, "conflict",
                           f"{flow.id} version {flow.version} already has {used} responses and its content changed: "
                           f"raise 'version' to {flow.version + 1} to publish the change")
    await conn.execute(update(flows).where(and_(flows.c.flow_id == flow.id, flows.c.version == flow.version))
                       .values(title=flow.title, source=flow.source, checksum=digest))
    return LoadOutcome(flow.id, flow.version, "replaced")


async def load_directory(engine: AsyncEngine, directory: Path) -> list[LoadOutcome]:
    return [await save_flow(engine, load_flow_file(p)) for p in sorted(directory.glob("*.yaml"))]


@dataclass(frozen=True)
class Schedule:
    """Open and close instants set by an administrator; None: no limit on that side."""

    opens_at: datetime | None = None
    closes_at: datetime | None = None

    def refusal(self, now: datetime) -> "Refusal | None":
        if self.opens_at is not None and now < _aware(self.opens_at):
            return Refusal("flow_not_open_yet", {"opens": vn_date(self.opens_at)})
        if self.closes_at is not None and now >= _aware(self.closes_at):
            return Refusal("flow_closed", {"closed": vn_date(self.closes_at)})
        return None


@dataclass(frozen=True)
class Refusal:
    """Why a flow does not start: a phrase of dialogues/ and its parameters."""

    phrase: str
    params: Mapping[str, Any]


class FlowRegistry:
    """Flows by id and version, cached in process (a stored version never changes once answered).

    Which version starts, and whether it may start now, is read from the database at each start
    (``for_start``), so publishing or closing a survey in one process holds in every process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._cache: dict[tuple[str, int], Flow] = {}
        self._latest: dict[str, int] | None = None
        self._schedules: dict[str, Schedule] = {}

    async def refresh(self) -> None:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(flows.c.flow_id, func.max(flows.c.version)).where(
                flows.c.published.is_(True)).group_by(flows.c.flow_id))).all()
            metas = (await conn.execute(select(flow_meta.c.flow_id, flow_meta.c.opens_at, flow_meta.c.closes_at))).all()
        self._latest = {r[0]: r[1] for r in rows}
        self._schedules = {m.flow_id: Schedule(m.opens_at, m.closes_at) for m in metas}

    async def get(self, flow_id: str, version: int | None = None) -> Flow | None:
        if version is None:
            if self._latest is None or flow_id not in self._latest:
                await self.refresh()
            assert self._latest is not None
            version = self._latest.get(flow_id)
            if version is None:
                return None
        key = (flow_id, version)
        if key not in self._cache:
            async with self._engine.connect() as conn:
                row = (await conn.execute(select(flows.c.source).where(
                    and_(flows.c.flow_id == flow_id, flows.c.version == version)))).first()
            if row is None:
                return None
            self._cache[key] = flow_from_source(row.source)
        return self._cache[key]

    async def open_flows(self, now: date | datetime | None = None) -> list[Flow]:
        await self.refresh()
        assert self._latest is not None
        at = _instant(now)
        out = []
        for flow_id in sorted(self._latest):
            flow = await self.get(flow_id)
            if flow is not None and is_open(flow, at.date()) and self._schedules.get(flow_id, Schedule()).refusal(at) is None:
                out.append(flow)
        return out

    async def for_start(self, flow_id: str, now: datetime, *, context: Mapping[str, Any] | None = None,
                        preview: bool = False) -> tuple[Flow | None, Refusal | None]:
        """The flow a new respondent gets, or why none: unknown or unpublished, not open yet,
        closed (by the administrator's dates, the flow's own settings, or the consultation it is
        started for). A preview takes the newest version, or ``id@version``, published or not,
        whatever the dates: officials try a survey before it opens. Respondents already in a flow
        never come here: they finish it even after it closes."""
        async with self._engine.connect() as conn:
            if preview:
                flow_id, _, wanted = flow_id.partition(PREVIEW_SEPARATOR)
                q = select(func.max(flows.c.version)).where(flows.c.flow_id == flow_id)
                version = int(wanted) if wanted.isdigit() else (await conn.execute(q)).scalar()
            else:
                version = (await conn.execute(select(func.max(flows.c.version)).where(
                    and_(flows.c.flow_id == flow_id, flows.c.published.is_(True))))).scalar()
            schedule = await _schedule(conn, flow_id)
            consultation = await _consultation_refusal(conn, (context or {}).get("draft"), now)
        flow = await self.get(flow_id, version) if version is not None else None
        if flow is None:
            return None, Refusal("unknown_flow", {})
        if preview:
            return flow, None
        if not is_open(flow, now.date()):
            closes = flow.settings.closes_at
            if closes and now.date() > date.fromisoformat(str(closes)):
                return None, Refusal("flow_closed", {"closed": vn_date(date.fromisoformat(str(closes)))})
            return None, Refusal("flow_not_open_yet", {"opens": vn_date(date.fromisoformat(str(flow.settings.opens_at)))})
        refusal = schedule.refusal(now) or consultation
        return (None, refusal) if refusal else (flow, None)


async def _schedule(conn: AsyncConnection, flow_id: str) -> Schedule:
    row = (await conn.execute(select(flow_meta.c.opens_at, flow_meta.c.closes_at).where(
        flow_meta.c.flow_id == flow_id))).first()
    return Schedule(row.opens_at, row.closes_at) if row else Schedule()


async def _consultation_refusal(conn: AsyncConnection, consultation_id: Any, now: datetime) -> Refusal | None:
    """A flow started for a consultation (context ``draft`` = its id) takes opinions only while the
    consultation is published and open; a draft id that is no consultation of ours is let through
    (links made before consultations were managed here)."""
    if not isinstance(consultation_id, str) or not consultation_id:
        return None
    row = (await conn.execute(select(consultations.c.published, consultations.c.opens_at, consultations.c.closes_at)
                              .where(consultations.c.id == consultation_id))).first()
    if row is None:
        return None
    if not row.published:
        return Refusal("unknown_flow", {})
    refusal = Schedule(row.opens_at, row.closes_at).refusal(now)
    return Refusal("consultation_closed", refusal.params) if refusal and refusal.phrase == "flow_closed" else refusal


def is_open(flow: Flow, today: date) -> bool:
    st = flow.settings
    if st.opens_at and today < date.fromisoformat(str(st.opens_at)):
        return False
    if st.closes_at and today > date.fromisoformat(str(st.closes_at)):
        return False
    return True


def vn_date(value: date | datetime) -> str:
    """25/12/2026, as people in Vietnam write dates (instants shown in Vietnam time, UTC+7)."""
    if isinstance(value, datetime):
        value = (_aware(value) + VN_OFFSET).date()
    return value.strftime("%d/%m/%Y")


VN_OFFSET = datetime(2000, 1, 1, 7) - datetime(2000, 1, 1)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _instant(now: date | datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    if isinstance(now, datetime):
        return _aware(now)
    return datetime.combine(now, time(12), timezone.utc)
