"""Scoring a stored round: quality control, today's unit catalogue and the formulas put together.

``score_flow`` is what ``hailong score``, reports and the console call. It counts answers in the
database (``load_tally``) and corrects the counts for quality control by subtracting the answers
of flagged responses and adding those an analyst included anyway, so a national round is scored
without moving millions of rows; breakdowns by channel, period or a profile answer need the rows
and read the frame instead.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from sqlalchemy import Engine

from ..flows import Flow
from ..settings import Settings
from ..store.db import create_engine_sync
from ..units import UnitCatalogue, load_catalogue
from .frame import COMPLETED, DISPOSITIONS, PERIOD_TZ, load_contexts, load_frame, load_tally, newest_flow
from .overrides import load_overrides
from .quality import QualityReport, QualityRules, flag_frame
from .scoring import UnitMapper, score, score_tally, scoring_keys

PERIOD_GRAINS = ("year", "quarter", "month")


def default_catalogue() -> UnitCatalogue:
    return load_catalogue(Path(Settings.from_env().units_dir))


def today_vn() -> date:
    return datetime.now(PERIOD_TZ).date()


def check_quality(db: Engine, flow: Flow, *, period: str | None = None) -> QualityReport:
    """Flags of every non-preview response of ``flow`` in ``period`` (all units: the speeder
    median and duplicates are judged over the whole round, so a unit's score does not depend on
    whether it was scored alone), with stored overrides applied."""
    rules = QualityRules.of(flow)
    df = load_frame(db, flow.id, dispositions=DISPOSITIONS, period=period, keys=rules.grid_keys(flow))
    context_keys = [c.split(".", 1)[1] for c in rules.duplicate_by if c.startswith("context.")]
    if context_keys:
        contexts = load_contexts(db, flow.id, period=period)
        for k in context_keys:
            df[f"context.{k}"] = df["response_id"].map(lambda rid, k=k: (contexts.get(rid) or {}).get(k))
    return flag_frame(flow, df, rules, load_overrides(db, flow.id))


def _mapper(units: UnitCatalogue, today: date) -> UnitMapper:
    cache: dict[str, str] = {}

    def to_today(code: str) -> str:
        if code not in cache:
            cache[code] = units.today_code(code, today)
        return cache[code]
    return to_today


def _signed(tally: pd.DataFrame, sign: int) -> pd.DataFrame:
    out = tally.copy()
    out["n"] = out["n"] * sign
    return out


def _corrected_tally(engine: Engine, flow: Flow, report: QualityReport | None, unit: Any,
                     period: str | None) -> tuple[pd.DataFrame, pd.Series]:
    """Counts of completed responses, minus the uncounted ones, plus incomplete ones included."""
    keys = scoring_keys(flow)
    tally, counts = load_tally(engine, flow.id, keys, dispositions=COMPLETED, unit=unit, period=period)
    if report is None:
        return tally, counts
    parts = [tally]
    for ids, sign in ((report.uncounted_completed(), -1), (report.counted_incomplete(), 1)):
        if ids:
            t, c = load_tally(engine, flow.id, keys, dispositions=None, unit=unit, period=period, ids=ids)
            parts.append(_signed(t, sign))
            counts = counts.add(c * sign, fill_value=0).astype("int64")
    return pd.concat(parts, ignore_index=True), counts[counts != 0]


def _breakdown_frame(engine: Engine, flow: Flow, report: QualityReport | None, unit: Any, period: str | None,
                     by: Sequence[str]) -> pd.DataFrame:
    answer_keys = [b for b in by if b not in PERIOD_GRAINS and b != "channel"]
    unknown = [k for k in answer_keys if k not in flow.result_keys]
    if unknown:
        raise ValueError(f"cannot break down by {', '.join(unknown)}: use channel, {', '.join(PERIOD_GRAINS)} "
                         f"or a question key of {flow.id}")
    df = load_frame(engine, flow.id, dispositions=DISPOSITIONS, unit=unit, period=period,
                    keys=list(dict.fromkeys(scoring_keys(flow) + answer_keys)))
    counted = df["disposition"] == "completed"
    if report is not None:
        counted &= ~df["response_id"].isin(report.uncounted_completed())
        counted |= df["response_id"].isin(report.counted_incomplete())
    df = df[counted].reset_index(drop=True)
    when = df["completed_at"].fillna(df["started_at"]).dt.tz_convert(PERIOD_TZ)
    df["year"] = when.dt.strftime("%Y")
    df["quarter"] = when.dt.year.astype(str) + "-Q" + when.dt.quarter.astype(str)
    df["month"] = when.dt.strftime("%Y-%m")
    return df


def score_flow(database_url: str | Engine, flow_id: str, *, unit: str | None = None, period: str | None = None,
               by: Sequence[str] = (), quality: bool = True, units: UnitCatalogue | None = None,
               today: date | None = None) -> dict[str, Any]:
    """Score ``flow_id`` with the rules of its newest published version.

    Counts completed, non-preview responses of every version, minus those quality control flags
    (``excluded`` says how many, ``hailong qc`` says which and why) and plus incomplete ones an
    analyst included. ``by_unit`` is in today's catalogue (``today``, default the current date in
    Vietnam): a 2021 response for a province merged in 2025 counts for its successor, and
    ``unit`` selects a unit together with every predecessor. ``by`` adds breakdowns by
    ``channel``, ``year``/``quarter``/``month`` or a question key (service, profile answers).
    ValueError for an unknown flow, a malformed period or an unknown breakdown."""
    catalogue = units or default_catalogue()
    mapper = _mapper(catalogue, today or today_vn())
    selected = sorted(catalogue.lineage(unit)) if unit else None
    engine = create_engine_sync(database_url) if isinstance(database_url, str) else database_url
    try:
        with engine.connect() as conn:
            flow = newest_flow(conn, flow_id)
        report = check_quality(engine, flow, period=period) if quality else None
        if report is not None and selected is not None:
            report.flags = [f for f in report.flags if f.unit in selected]
        excluded = len(report.excluded) if report else 0
        if by:
            df = _breakdown_frame(engine, flow, report, selected, period, by)
            result = score(flow, df, by=by, units=mapper, excluded=excluded)
        else:
            tally, counts = _corrected_tally(engine, flow, report, selected, period)
            result = score_tally(flow, tally, counts, units=mapper, excluded=excluded)
    finally:
        if isinstance(database_url, str):
            engine.dispose()
    result["unit"] = unit
    result["period"] = period
    return result
