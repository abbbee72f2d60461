"""Flow versions in the database: every version is kept; the newest published one is offered."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..flows import Flow, flow_from_source, load_flow_file
from .tables import flows, responses


def checksum(source: dict) -> str:
    return hashlib.sha256(json.dumps(source, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class LoadOutcome:
    flow_id: str
    version: int
    action: str  # added | unchanged | replaced | conflict
    message: str = ""


async def save_flow(engine: AsyncEngine, flow: Flow, *, published: bool = True) -> LoadOutcome:
    digest = checksum(flow.source)
    now = datetime.now(timezone.utc)
    async with engine.begin() as conn:
        row = (await conn.execute(select(flows.c.checksum).where(
            and_(flows.c.flow_id == flow.id, flows.c.version == flow.version)))).first()
        if row is None:
            await conn.execute(flows.insert().values(flow_id=flow.id, version=flow.version, title=flow.title,
                                                     source=flow.source, checksum=digest, published=published,
                                                     created_at=now))
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


class FlowRegistry:
    """Flows by id and version, cached in process (a stored version never changes once answered)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._cache: dict[tuple[str, int], Flow] = {}
        self._latest: dict[str, int] | None = None

    async def refresh(self) -> None:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(flows.c.flow_id, func.max(flows.c.version)).where(
                flows.c.published.is_(True)).group_by(flows.c.flow_id))).all()
        self._latest = {r[0]: r[1] for r in rows}

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

    async def open_flows(self, today: date | None = None) -> list[Flow]:
        await self.refresh()
        assert self._latest is not None
        out = []
        for flow_id in sorted(self._latest):
            flow = await self.get(flow_id)
            if flow is not None and is_open(flow, today or date.today()):
                out.append(flow)
        return out


def is_open(flow: Flow, today: date) -> bool:
    st = flow.settings
    if st.opens_at and today < date.fromisoformat(str(st.opens_at)):
        return False
    if st.closes_at and today > date.fromisoformat(str(st.closes_at)):
        return False
    return True
