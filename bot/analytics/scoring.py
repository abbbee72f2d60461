"""Indices of a flow computed from its responses, following the flow's own ``scoring`` rules.

The formulas (domain.md) are data in the flow file, not code, so an official can correct a rule
without a release. Everything here is vectorised over columns: the national SIPAS round means a
million responses, and a per-row Python loop would not score them in seconds.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from ..flows import Flow
from ..flows.model import SKIP_CHOICE_ID, Question
from ..store.db import create_engine_sync
from .frame import COMPLETED, answer_column, load_tally, newest_flow

METHODS = ("share", "mean", "choice_share", "scaled_mean")


def _round2(value: float | None) -> float | None:
    """Half-up to 2 decimals, as published tables round (Python's round() would turn 3.125 into 3.12)."""
    if value is None or not np.isfinite(value):
        return None
    return float(Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _question(flow: Flow, key: str) -> Question | None:
    return flow.question(key) if flow.has_question(key) else None


def _excluded(q: Question | None) -> list[str]:
    """Answers that leave the denominator: "không biết / không trả lời" choices and the skip id."""
    ids = [c.id for c in q.choices if c.no_answer] if q is not None else []
    return ids + [SKIP_CHOICE_ID]


def _is_list_column(q: Question | None, s: pd.Series) -> bool:
    if q is not None:
        return q.type == "multi"
    return bool(s.map(lambda v: isinstance(v, (list, tuple))).any())


class _Columns:
    """Each answer column factorised (or exploded, for multi answers) once and reused by every
    index that reads it: SIPAS has eight expectation shares over the same list, and integer codes
    make every later test a numpy comparison instead of a pass over Python objects."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.df = df
        self.n = len(df)
        self._flat: dict[str, tuple[np.ndarray, pd.Index]] = {}
        self._exploded: dict[str, tuple[np.ndarray, np.ndarray, pd.Index]] = {}
        self._valid_items: dict[tuple[str, tuple[str, ...]], tuple[np.ndarray, np.ndarray]] = {}

    def flat(self, col: str) -> tuple[np.ndarray, pd.Index]:
        """(code per row, -1 for no answer; distinct values)."""
        if col not in self._flat:
            codes, uniques = pd.factorize(self.df[col], use_na_sentinel=True)
            self._flat[col] = (codes, pd.Index(uniques, dtype=object))
        return self._flat[col]

    def exploded(self, col: str) -> tuple[np.ndarray, np.ndarray, pd.Index]:
        """(row of each item, item code (-1 for none), distinct items); scalars count as one item
        and an empty list as a missing one."""
        if col not in self._exploded:
            s = pd.Series(self.df[col].to_numpy(dtype=object))  # positional, whatever the frame's index
            ex = s[s.notna()].explode()
            codes, uniques = pd.factorize(ex.to_numpy(dtype=object), use_na_sentinel=True)
            self._exploded[col] = (ex.index.to_numpy(dtype=np.intp), codes, pd.Index(uniques, dtype=object))
        return self._exploded[col]

    def valid_items(self, col: str, excluded: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(per item: counts; per row: has at least one item that counts)."""
        key = (col, tuple(excluded))
        if key not in self._valid_items:
            pos, codes, uniques = self.exploded(col)
            ok = (codes >= 0) & ~_member(codes, uniques, excluded)
            self._valid_items[key] = (ok, np.bincount(pos[ok], minlength=self.n) > 0)
        return self._valid_items[key]


def _member(codes: np.ndarray, uniques: pd.Index, values: list[Any]) -> np.ndarray:
    """codes ∈ values, with -1 (missing) never a member."""
    lookup = np.append(uniques.isin(values), False)  # index -1 lands on the appended False
    return lookup[codes]


def _flat_masks(cols: _Columns, col: str, excluded: list[str], wanted: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: a valid answer (present, not no_answer/skip); a valid answer among ``wanted``."""
    codes, uniques = cols.flat(col)
    valid = (codes >= 0) & ~_member(codes, uniques, excluded)
    return valid, valid & _member(codes, uniques, wanted)


def _list_masks(cols: _Columns, col: str, excluded: list[str], wanted: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: has a valid item (not no_answer/skip); has a valid item among ``wanted``."""
    pos, codes, uniques = cols.exploded(col)
    ok, valid = cols.valid_items(col, excluded)
    hit = ok & _member(codes, uniques, wanted)
    has = np.bincount(pos[hit], minlength=cols.n) > 0
    return valid, has & valid


class _Groups:
    """Units factorised once, so every per-unit sum is a bincount rather than a pandas groupby.
    ``weights`` make a row stand for that many identical responses (scoring from counts)."""

    def __init__(self, units: pd.Series | np.ndarray, weights: np.ndarray | None = None) -> None:
        codes, uniques = pd.factorize(np.asarray(units, dtype=object), use_na_sentinel=True)
        self.codes = codes
        self.units = [str(u) for u in uniques]
        self.has_unit = codes >= 0
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def weigh(self, values: np.ndarray) -> np.ndarray:
        v = values.astype(float)
        return v if self.weights is None else v * self.weights

    def sums(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes[self.has_unit], weights=values[self.has_unit], minlength=len(self.units))


def _by_group(num: np.ndarray, den: np.ndarray, groups: _Groups, scale: float = 100.0) -> tuple[float | None, pd.Series]:
    """Ratio num/den × scale over everything and per group (NaN where a group has no denominator)."""
    num, den = groups.weigh(num), groups.weigh(den)
    total_den = float(den.sum())
    total = scale * float(num.sum()) / total_den if total_den else None
    g_num, g_den = groups.sums(num), groups.sums(den)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(g_den > 0, scale * g_num / np.where(g_den > 0, g_den, 1), np.nan)
    return total, pd.Series(per, index=groups.units, dtype=float)


def _share(flow: Flow, cols: _Columns, groups: _Groups, idx: dict[str, Any]) -> tuple[float | None, pd.Series]:
    n = cols.n
    valid_n = np.zeros(n, dtype=np.int64)
    pos_n = np.zeros(n, dtype=np.int64)
    positive = [str(p) for p in idx["positive"]]
    for key in idx["keys"]:
        col = answer_column(key)
        if col not in cols.df.columns:
            continue
        q = _question(flow, key)
        excluded = _excluded(q)
        if _is_list_column(q, cols.df[col]):
            valid, pos = _list_masks(cols, col, excluded, positive)
        else:
            wanted: list[Any] = list(positive)
            if q is None or not q.is_choice:  # a number question scored by value: "4" matches 4
                wanted += [float(p) for p in positive if _is_number(p)]
            valid, pos = _flat_masks(cols, col, excluded, wanted)
        valid_n += valid
        pos_n += pos
    return _by_group(pos_n, valid_n, groups)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _choice_share(flow: Flow, cols: _Columns, groups: _Groups, idx: dict[str, Any]) -> tuple[float | None, pd.Series]:
    col = answer_column(idx["key"])
    if col not in cols.df.columns:
        zero = np.zeros(cols.n)
        return _by_group(zero, zero, groups)
    valid, has = _list_masks(cols, col, _excluded(_question(flow, idx["key"])), [str(idx["choice"])])
    return _by_group(has, valid, groups)


def _scale_max(flow: Flow, idx: dict[str, Any]) -> float:
    """Configured ``scale_max``, else the largest numeric choice id of the first key's question."""
    if idx.get("scale_max"):
        return float(idx["scale_max"])
    q = _question(flow, idx["keys"][0])
    numeric = [float(c.id) for c in (q.choices if q else ()) if not c.no_answer and _is_number(c.id)]
    if numeric:
        return max(numeric)
    if q is not None and isinstance(q.max, (int, float)) and q.max > 0:
        return float(q.max)
    raise ValueError(f"index {idx['name']}: cannot tell the scale maximum of '{idx['keys'][0]}'; set scale_max")


def _scaled_mean(flow: Flow, cols: _Columns, groups: _Groups, idx: dict[str, Any]) -> tuple[float | None, pd.Series]:
    total = np.zeros(cols.n, dtype=float)
    count = np.zeros(cols.n, dtype=np.int64)
    for key in idx["keys"]:
        col = answer_column(key)
        if col not in cols.df.columns:
            continue
        codes, uniques = cols.flat(col)
        numeric = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float)
        numeric[np.asarray(uniques.isin(_excluded(_question(flow, key))))] = np.nan
        num = np.append(numeric, np.nan)[codes]  # code -1 (no answer) reads the appended NaN
        ok = ~np.isnan(num)
        total += np.where(ok, num, 0.0)
        count += ok
    factor = float(idx.get("points") or 100) / _scale_max(flow, idx)
    return _by_group(total, count, groups, scale=factor)


def _mean(idx: dict[str, Any], totals: dict[str, float | None], per_unit: dict[str, pd.Series]) -> tuple[float | None, pd.Series]:
    """Weighted mean of earlier indices, leaving out those that have no value."""
    of = list(idx["of"])
    weights = [float(w) for w in idx.get("weights") or [1.0] * len(of)]
    pairs = [(totals[name], w) for name, w in zip(of, weights) if totals.get(name) is not None]
    den = sum(w for _, w in pairs)
    total = sum(v * w for v, w in pairs) / den if pairs and den else None  # type: ignore[operator]
    frame = pd.DataFrame({name: per_unit[name] for name in of}, dtype=float)
    w = pd.Series(weights, index=of)
    num_u = frame.mul(w, axis=1).sum(axis=1, min_count=1)
    den_u = frame.notna().mul(w, axis=1).sum(axis=1)
    return total, (num_u / den_u.where(den_u > 0)).astype(float)


def _indices(flow: Flow, df: pd.DataFrame, groups: _Groups) -> tuple[dict[str, float | None], dict[str, pd.Series]]:
    """Every index of ``flow.scoring`` in order: overall value and a value per unit."""
    cols = _Columns(df)
    totals: dict[str, float | None] = {}
    per_unit: dict[str, pd.Series] = {}
    for idx in flow.scoring:
        method = idx.get("method")
        if method == "share":
            total, per = _share(flow, cols, groups, idx)
        elif method == "choice_share":
            total, per = _choice_share(flow, cols, groups, idx)
        elif method == "scaled_mean":
            total, per = _scaled_mean(flow, cols, groups, idx)
        elif method == "mean":
            total, per = _mean(idx, totals, per_unit)
        else:
            raise ValueError(f"index {idx.get('name')}: unknown method {method!r} (use {', '.join(METHODS)})")
        totals[idx["name"]] = total
        per_unit[idx["name"]] = per
    return totals, per_unit


def _result(flow: Flow, responses: int, unit_counts: dict[str, int], totals: dict[str, float | None],
            per_unit: dict[str, pd.Series]) -> dict[str, Any]:
    return {
        "flow": flow.id,
        "flow_version": flow.version,
        "responses": responses,
        "excluded": 0,  # quality flags (speeders, straight-liners) will move responses here
        "indices": {name: _round2(v) for name, v in totals.items()},
        "by_unit": {unit: {"responses": n,
                           "indices": {name: _round2(per.get(unit, np.nan)) for name, per in per_unit.items()}}
                    for unit, n in sorted(unit_counts.items())},
    }


def score(flow: Flow, df: pd.DataFrame) -> dict[str, Any]:
    """Every index of ``flow.scoring`` in order, overall and per unit.

    ``df`` is a frame from ``load_frame`` already limited to the responses that count (completed,
    not previews). Index values are rounded half-up to 2 decimals only in the result; a ``mean``
    uses its parts unrounded. Responses without a unit count overall but not in ``by_unit``.
    """
    units = df["unit"].to_numpy(dtype=object) if "unit" in df.columns else np.full(len(df), None, dtype=object)
    groups = _Groups(units)
    totals, per_unit = _indices(flow, df, groups)
    counts = np.bincount(groups.codes[groups.has_unit], minlength=len(groups.units))
    return _result(flow, int(len(df)), {u: int(c) for u, c in zip(groups.units, counts)}, totals, per_unit)


def score_tally(flow: Flow, tally: pd.DataFrame, unit_counts: pd.Series) -> dict[str, Any]:
    """The same indices from answer counts (``load_tally``): each tally row stands for ``n``
    identical answers, which is all the formulas need. Gives exactly what ``score`` gives on the
    full frame."""
    keys = tally["key"].to_numpy(dtype=object)
    values = tally["value"].to_numpy(dtype=object)
    wide = pd.DataFrame({answer_column(k): np.where(keys == k, values, None) for k in scoring_keys(flow)},
                        index=pd.RangeIndex(len(tally)))
    groups = _Groups(tally["unit"].to_numpy(dtype=object), weights=tally["n"].to_numpy())
    totals, per_unit = _indices(flow, wide, groups)
    named = {str(u): int(n) for u, n in unit_counts.items() if u is not None and not pd.isna(u)}
    return _result(flow, int(unit_counts.sum()), named, totals, per_unit)


def scoring_keys(flow: Flow) -> list[str]:
    """The result keys the scoring rules read: loading only these keeps large rounds fast."""
    keys: list[str] = []
    for idx in flow.scoring:
        for k in list(idx.get("keys", [])) + ([idx["key"]] if "key" in idx else []):
            if k not in keys:
                keys.append(k)
    return keys


def score_flow(database_url: str | Engine, flow_id: str, *, unit: str | None = None,
               period: str | None = None) -> dict[str, Any]:
    """Score the completed, non-preview responses of every version of ``flow_id`` with the rules of
    its newest published version. ValueError for an unknown flow or a malformed period."""
    engine = create_engine_sync(database_url) if isinstance(database_url, str) else database_url
    try:
        with engine.connect() as conn:
            flow = newest_flow(conn, flow_id)
        tally, unit_counts = load_tally(engine, flow_id, scoring_keys(flow), dispositions=COMPLETED,
                                        unit=unit, period=period)
    finally:
        if isinstance(database_url, str):
            engine.dispose()
    result = score_tally(flow, tally, unit_counts)
    result["unit"] = unit
    result["period"] = period
    return result
