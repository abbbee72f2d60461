"""Responses of a flow as a pandas DataFrame: one row per response, one column per result key.

Scoring and exports read the database only through this module, so the rules that decide which
responses count (never previews; dispositions; unit; period) live in one place.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Text, and_, cast, func, select
from sqlalchemy.engine import Connection

from ..flows import Flow, flow_from_source
from ..store.db import create_engine_sync
from ..store.tables import answers, flows, responses

DISPOSITIONS = ("started", "partial", "completed", "refused", "expired")
COMPLETED = ("completed",)
META_COLUMNS = ("response_id", "respondent", "channel", "unit", "invitation", "flow_version", "disposition",
                "started_at", "completed_at", "preview")
# Periods are calendar periods of Vietnam (UTC+7, no daylight saving); timestamps are stored in UTC.
PERIOD_TZ = timezone(timedelta(hours=7), "ICT")
CHUNK_SIZE = 5000
ID_BATCH = 500

_META_SELECT = (responses.c.id, responses.c.respondent_id, responses.c.channel, responses.c.unit_code,
                responses.c.invitation_code, responses.c.flow_version, responses.c.disposition,
                responses.c.started_at, responses.c.completed_at, responses.c.preview)


def answer_column(key: str) -> str:
    """The DataFrame column of a result key; a key named like a metadata column (par_index has a
    question ``unit``) gets ``_answer`` appended so both survive side by side."""
    return f"{key}_answer" if key in META_COLUMNS else key


# --- database access ----------------------------------------------------------------------------

@contextmanager
def connect(db: str | Engine) -> Iterator[Connection]:
    """A connection from a URL (engine disposed afterwards) or from an engine the caller owns."""
    engine = create_engine_sync(db) if isinstance(db, str) else db
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        if isinstance(db, str):
            engine.dispose()


def flow_versions(conn: Connection, flow_id: str) -> list[Flow]:
    """Every stored version of a flow, newest first; ValueError if there is none."""
    rows = conn.execute(select(flows.c.source).where(flows.c.flow_id == flow_id)
                        .order_by(flows.c.version.desc())).all()
    if not rows:
        raise ValueError(f"no flow named {flow_id}")
    return [flow_from_source(r.source) for r in rows]


def newest_flow(conn: Connection, flow_id: str) -> Flow:
    """The newest published version (the one respondents are offered), or the newest at all."""
    row = conn.execute(select(flows.c.source).where(flows.c.flow_id == flow_id)
                       .order_by(flows.c.published.desc(), flows.c.version.desc()).limit(1)).first()
    if row is None:
        raise ValueError(f"no flow named {flow_id}")
    return flow_from_source(row.source)


def result_keys(versions: Sequence[Flow]) -> list[str]:
    """Result keys of the newest version in its order, then keys only older versions asked."""
    keys: list[str] = []
    seen: set[str] = set()
    for f in versions:
        for k in f.result_keys:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    return keys


# --- filters ------------------------------------------------------------------------------------

def parse_period(period: str, tz: timezone = PERIOD_TZ) -> tuple[datetime | None, datetime | None]:
    """``YYYY``, ``YYYY-Qn``, ``YYYY-MM`` or ``FROM..TO`` (ISO dates, both inclusive, either may be
    empty) as a half-open UTC interval [start, end), so reports follow Vietnamese calendar days."""
    p = period.strip()
    try:
        if m := re.fullmatch(r"(\d{4})", p):
            y = int(m[1])
            lo, hi = date(y, 1, 1), date(y + 1, 1, 1)
        elif m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", p):
            y, q = int(m[1]), int(m[2])
            lo = date(y, 3 * q - 2, 1)
            hi = date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)
        elif m := re.fullmatch(r"(\d{4})-(\d{2})", p):
            y, mo = int(m[1]), int(m[2])
            lo = date(y, mo, 1)
            hi = date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)
        elif ".." in p:
            a, b = (s.strip() for s in p.split("..", 1))
            lo = date.fromisoformat(a) if a else None  # type: ignore[assignment]
            hi = date.fromisoformat(b) + timedelta(days=1) if b else None  # type: ignore[assignment]
            if lo is None and hi is None:
                raise ValueError
            if lo is not None and hi is not None and lo >= hi:
                raise ValueError(f"period {period!r}: FROM is after TO")
        else:
            raise ValueError
    except ValueError as e:
        if str(e).startswith("period"):
            raise
        raise ValueError(f"period {period!r} is not YYYY, YYYY-Qn, YYYY-MM or FROM..TO (ISO dates like 2025-01-31)") from None

    def utc(d: date | None) -> datetime | None:
        return None if d is None else datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(timezone.utc)

    return utc(lo), utc(hi)


Units = str | Sequence[str] | None


def _where(flow_id: str, dispositions: Iterable[str] | None, unit: Units, period: str | None, *,
           by_id: bool = False) -> list[Any]:
    """SQL conditions shared by every query here: previews never count.

    ``by_id``: the query walks a range of response ids. Writing the flow test as ``flow_id || ''``
    keeps the planner (SQLite's above all) off the flow index, which would rescan and sort every
    response of the flow for each chunk; walking the primary key makes an export one linear pass."""
    flow_col = (responses.c.flow_id + "") if by_id else responses.c.flow_id
    conds: list[Any] = [flow_col == flow_id, responses.c.preview.is_(False)]
    if dispositions is not None:
        wanted = sorted(set(dispositions))
        unknown = [d for d in wanted if d not in DISPOSITIONS]
        if unknown:
            raise ValueError(f"unknown disposition {', '.join(unknown)}: use {', '.join(DISPOSITIONS)}")
        if set(wanted) != set(DISPOSITIONS):
            conds.append(responses.c.disposition.in_(wanted))
    if isinstance(unit, str):
        conds.append(responses.c.unit_code == unit)
    elif unit is not None:  # a unit and its predecessors (UnitCatalogue.lineage)
        conds.append(responses.c.unit_code.in_(sorted(unit)))
    if period:
        lo, hi = parse_period(period)
        when = func.coalesce(responses.c.completed_at, responses.c.started_at)
        if lo is not None:
            conds.append(when >= lo)
        if hi is not None:
            conds.append(when < hi)
    return conds


# --- decoding -----------------------------------------------------------------------------------

def decode_json_texts(texts: Sequence[Any]) -> np.ndarray:
    """JSON texts to Python values, decoding each distinct text once: a round has millions of
    answers but only a handful of distinct ones per question (choice ids, lists of choices).
    Equal answers share one decoded object, so treat lists in the result as read-only."""
    codes, uniques = pd.factorize(np.asarray(texts, dtype=object), use_na_sentinel=True)
    decoded = np.empty(len(uniques) + 1, dtype=object)  # the last slot answers code -1 (SQL NULL)
    decoded[:] = None
    for i, t in enumerate(uniques):
        decoded[i] = json.loads(t) if isinstance(t, str) else t
    return decoded[codes]


def _raw_rows(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """Plain tuples from the DBAPI cursor. The answer queries select only text columns, which need
    no result processing, and building SQLAlchemy rows doubles the cost of millions of them."""
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()  # type: ignore[union-attr]
    finally:
        result.close()


# --- frames -------------------------------------------------------------------------------------

def _empty_meta() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in META_COLUMNS})


def _meta_frame(rows: Sequence[Any]) -> pd.DataFrame:
    if not rows:
        meta = _empty_meta()
    else:
        meta = pd.DataFrame.from_records(rows, columns=list(META_COLUMNS))
    for c in ("started_at", "completed_at"):
        meta[c] = pd.to_datetime(meta[c], utc=True)
    meta["flow_version"] = meta["flow_version"].astype("int64")
    meta["preview"] = meta["preview"].astype(bool)
    return meta


def _attach_answers(meta: pd.DataFrame, rows: Sequence[Any], keys: list[str], extra: bool) -> pd.DataFrame:
    """Spread (response_id, key, json text) rows into one column per key, without a per-row loop:
    positions come from an index lookup, values are assigned with numpy fancy indexing."""
    n = len(meta)
    if rows:
        ans = pd.DataFrame.from_records(rows, columns=["response_id", "key", "value"])
        pos = pd.Index(meta["response_id"]).get_indexer(ans["response_id"])
        keep = pos >= 0  # an answer written between the two queries has no row: ignore it
        pos = pos[keep]
        akeys = ans["key"].to_numpy(dtype=object)[keep]
        values = decode_json_texts(ans["value"].to_numpy(dtype=object)[keep])
    else:
        pos = np.empty(0, dtype=np.intp)
        values = np.empty(0, dtype=object)
        akeys = np.empty(0, dtype=object)
    all_keys = list(keys)
    if extra and len(akeys):
        known = set(keys)
        all_keys += sorted(k for k in pd.unique(akeys) if k not in known)
    if not all_keys:
        return meta
    kpos = pd.Index(all_keys).get_indexer(akeys)  # column of each answer, -1 for keys not wanted
    grid = np.empty((n, len(all_keys)), dtype=object)
    grid[:] = None
    hit = kpos >= 0
    grid[pos[hit], kpos[hit]] = values[hit]  # one fancy assignment spreads every answer
    wide = pd.DataFrame({answer_column(k): grid[:, j] for j, k in enumerate(all_keys)}, index=meta.index)
    return pd.concat([meta, wide], axis=1)


def _answers_query(conds: list[Any], keys: Sequence[str] | None) -> Any:
    q = (select(answers.c.response_id, answers.c.key, cast(answers.c.value, Text))
         .join(responses, responses.c.id == answers.c.response_id).where(and_(*conds)))
    if keys is not None:
        q = q.where(answers.c.key.in_(list(keys)))
    return q


def load_frame(db: str | Engine, flow_id: str, *, dispositions: Iterable[str] | None = COMPLETED,
               unit: Units = None, period: str | None = None, keys: Sequence[str] | None = None) -> pd.DataFrame:
    """All matching responses in one frame (two queries, spread in pandas).

    ``dispositions`` defaults to completed only, since that is what scores count; pass None for all.
    ``keys`` limits the answer columns (scoring needs only a few, which keeps 1M rows cheap); by
    default every result key of every stored version, plus any other key found in the answers.
    Missing answers are None; answers are the stored JSON values (choice ids, lists, numbers, text).
    """
    with connect(db) as conn:
        versions = flow_versions(conn, flow_id)
        conds = _where(flow_id, dispositions, unit, period)
        wanted = list(keys) if keys is not None else result_keys(versions)
        meta = _meta_frame(conn.execute(select(*_META_SELECT).where(and_(*conds))
                                        .order_by(responses.c.id)).all())
        rows = _raw_rows(conn, _answers_query(conds, keys)) if len(meta) else []
    return _attach_answers(meta, rows, wanted, extra=keys is None)


def load_tally(db: str | Engine, flow_id: str, keys: Sequence[str], *, dispositions: Iterable[str] | None = COMPLETED,
               unit: Units = None, period: str | None = None,
               ids: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """How many matching responses gave each answer, per unit: (tally with columns unit, key,
    value, n; responses per unit, None for no unit).

    Counting happens in the database (GROUP BY over a few thousand distinct answers), so scoring a
    national round moves kilobytes instead of millions of rows; every index formula depends only
    on these per-key counts (a multi answer is counted per distinct list).

    ``ids`` limits the count to those responses (quality control subtracts the excluded ones),
    asked for in batches so the statement stays small."""
    with connect(db) as conn:
        flow_versions(conn, flow_id)
        base = _where(flow_id, dispositions, unit, period)
        batches = [base] if ids is None else [base + [responses.c.id.in_(list(ids[i:i + ID_BATCH]))]
                                              for i in range(0, len(ids), ID_BATCH)]
        counts: list[Any] = []
        rows: list[Any] = []
        value = cast(answers.c.value, Text)
        for conds in batches:
            got = conn.execute(select(responses.c.unit_code, func.count()).where(and_(*conds))
                               .group_by(responses.c.unit_code)).all()
            counts += got
            if got and keys:
                rows += conn.execute(
                    select(responses.c.unit_code, answers.c.key, value, func.count())
                    .join(responses, responses.c.id == answers.c.response_id)
                    .where(and_(*conds, answers.c.key.in_(list(keys))))
                    .group_by(responses.c.unit_code, answers.c.key, value)).all()
    per_unit = pd.Series([int(n) for _, n in counts], index=pd.Index([u for u, _ in counts], dtype=object),
                         dtype="int64").groupby(level=0, dropna=False).sum()
    tally = pd.DataFrame.from_records(rows, columns=["unit", "key", "value", "n"]) if rows else \
        pd.DataFrame({"unit": [], "key": [], "value": [], "n": []}, dtype=object)
    tally["value"] = decode_json_texts(tally["value"].to_numpy())
    tally["n"] = tally["n"].astype("int64")
    return tally, per_unit


def iter_frames(db: str | Engine, flow_id: str, *, chunk_size: int = CHUNK_SIZE,
                dispositions: Iterable[str] | None = COMPLETED, unit: Units = None, period: str | None = None,
                keys: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
    """Frames of at most ``chunk_size`` responses ordered by response id, for exports in constant
    memory (keyset pagination: no OFFSET, no open cursor between chunks). Every chunk has the same
    columns: the result keys of all stored versions (or ``keys``); keys no version defines are left out."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    engine = create_engine_sync(db) if isinstance(db, str) else db
    try:
        with engine.connect() as conn:
            versions = flow_versions(conn, flow_id)
        conds = _where(flow_id, dispositions, unit, period, by_id=True)
        wanted = list(keys) if keys is not None else result_keys(versions)
        last: str | None = None
        while True:
            with engine.connect() as conn:
                page = conds + ([responses.c.id > last] if last is not None else [])
                meta_rows = conn.execute(select(*_META_SELECT).where(and_(*page))
                                         .order_by(responses.c.id).limit(chunk_size)).all()
                if not meta_rows:
                    return
                first_id, last_id = meta_rows[0][0], meta_rows[-1][0]
                rows = _raw_rows(conn, _answers_query(
                    conds + [responses.c.id >= first_id, responses.c.id <= last_id], keys))
            yield _attach_answers(_meta_frame(meta_rows), rows, wanted, extra=False)
            if len(meta_rows) < chunk_size:
                return
            last = last_id
    finally:
        if isinstance(db, str):
            engine.dispose()


def load_contexts(db: str | Engine, flow_id: str, *, period: str | None = None) -> dict[str, dict[str, Any]]:
    """Start context (dossier code, procedure…) of each non-preview response that has one: quality
    control tells a second rating of the same dossier from a rating of another dossier."""
    with connect(db) as conn:
        rows = conn.execute(select(responses.c.id, responses.c.context)
                            .where(and_(*_where(flow_id, None, None, period), responses.c.context.is_not(None)))).all()
    return {r.id: r.context for r in rows if isinstance(r.context, dict)}
