"""Indices of a flow computed from its responses, following the flow's own ``scoring`` rules.

The formulas (domain.md) are data in the flow file, not code, so an official can correct a rule
without a release. Everything here is vectorised over columns: the national SIPAS round means a
million responses, and a per-row Python loop would not score them in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from ..flows import Flow
from ..flows.model import SKIP_CHOICE_ID, Question
from .frame import answer_column
from .intervals import Z95, mean_se, share_se, wilson

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
    """Group labels (units, channels, periods…) factorised once, so every per-group sum is a
    bincount rather than a pandas groupby. ``weights`` make a row stand for that many identical
    responses (scoring from counts)."""

    def __init__(self, labels: pd.Series | np.ndarray, weights: np.ndarray | None = None) -> None:
        codes, uniques = pd.factorize(np.asarray(labels, dtype=object), use_na_sentinel=True)
        self.codes = codes
        self.labels = [str(u) for u in uniques]
        self.has_label = codes >= 0
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def weigh(self, values: np.ndarray) -> np.ndarray:
        v = values.astype(float)
        return v if self.weights is None else v * self.weights

    def totals(self, values: np.ndarray) -> np.ndarray:
        """Overall sum first, then one sum per group: position 0 is "everyone"."""
        v = self.weigh(values)
        per = np.bincount(self.codes[self.has_label], weights=v[self.has_label], minlength=len(self.labels))
        return np.concatenate([[v.sum()], per])

    def counts(self) -> np.ndarray:
        return self.totals(np.ones(len(self.codes))).astype(np.int64)


@dataclass
class _Parts:
    """Per-row sums an index is built from: index = scale × num / den. ``sumsq`` (sum of squared
    answer values) is set for means and None for shares, which decides the interval."""
    num: np.ndarray
    den: np.ndarray
    sumsq: np.ndarray | None
    scale: float
    top: float = 1.0  # largest answer value: the index runs from 0 to scale × top


@dataclass
class Estimate:
    """One index, overall (position 0) and per group (positions 1…): value, 95 % bounds, valid
    answers (None for a combination of indices) and standard error."""
    value: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray | None
    se: np.ndarray
    top: float  # the index's largest possible value (100, or a PAR sub-criterion's points)


def _estimate(parts: _Parts, groups: _Groups) -> Estimate:
    num, den = groups.totals(parts.num), groups.totals(parts.den)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(den > 0, parts.scale * num / np.where(den > 0, den, 1), np.nan)
    if parts.sumsq is None:
        lo, hi = wilson(num, den)
        se = share_se(num, den) * parts.scale
        lo, hi = lo * parts.scale, hi * parts.scale
    else:
        se = mean_se(num, groups.totals(parts.sumsq), den) * parts.scale
        lo = np.clip(value - Z95 * se, 0, parts.scale * parts.top)
        hi = np.clip(value + Z95 * se, 0, parts.scale * parts.top)
    return Estimate(value, lo, hi, den, se, parts.scale * parts.top)


def _share(flow: Flow, cols: _Columns, idx: dict[str, Any]) -> _Parts:
    valid_n = np.zeros(cols.n, dtype=np.int64)
    pos_n = np.zeros(cols.n, dtype=np.int64)
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
    return _Parts(pos_n, valid_n, None, 100.0)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _choice_share(flow: Flow, cols: _Columns, idx: dict[str, Any]) -> _Parts:
    col = answer_column(idx["key"])
    if col not in cols.df.columns:
        zero = np.zeros(cols.n)
        return _Parts(zero, zero, None, 100.0)
    valid, has = _list_masks(cols, col, _excluded(_question(flow, idx["key"])), [str(idx["choice"])])
    return _Parts(has, valid, None, 100.0)


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


def _scaled_mean(flow: Flow, cols: _Columns, idx: dict[str, Any]) -> _Parts:
    total = np.zeros(cols.n, dtype=float)
    sumsq = np.zeros(cols.n, dtype=float)
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
        value = np.where(ok, num, 0.0)
        total += value
        sumsq += value * value
        count += ok
    scale_max = _scale_max(flow, idx)
    return _Parts(total, count, sumsq, float(idx.get("points") or 100) / scale_max, scale_max)


def _combine(idx: dict[str, Any], done: dict[str, Estimate]) -> Estimate:
    """Weighted mean of earlier indices per group, leaving out parts that have no value there
    (SIPAS of a unit where nobody gave feedback is the mean of the other four elements)."""
    of = list(idx["of"])
    weights = np.array([float(w) for w in idx.get("weights") or [1.0] * len(of)])
    values = np.vstack([done[name].value for name in of])
    ses = np.vstack([done[name].se for name in of])
    present = ~np.isnan(values)
    w = weights[:, None] * present
    wsum = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(wsum > 0, np.nansum(values * w, axis=0) / np.where(wsum > 0, wsum, 1), np.nan)
        se = np.sqrt(np.nansum((w * ses) ** 2, axis=0)) / wsum
    se = np.where((present & np.isnan(ses)).any(axis=0), np.nan, se)  # a part without an interval
    top = max(done[name].top for name in of)
    return Estimate(value, np.clip(value - Z95 * se, 0, top), np.clip(value + Z95 * se, 0, top), None, se, top)


def estimates(flow: Flow, df: pd.DataFrame, groups: _Groups) -> dict[str, Estimate]:
    """Every index of ``flow.scoring`` in order, overall and per group."""
    cols = _Columns(df)
    out: dict[str, Estimate] = {}
    for idx in flow.scoring:
        method = idx.get("method")
        if method == "share":
            est = _estimate(_share(flow, cols, idx), groups)
        elif method == "choice_share":
            est = _estimate(_choice_share(flow, cols, idx), groups)
        elif method == "scaled_mean":
            est = _estimate(_scaled_mean(flow, cols, idx), groups)
        elif method == "mean":
            est = _combine(idx, out)
        else:
            raise ValueError(f"index {idx.get('name')}: unknown method {method!r} (use {', '.join(METHODS)})")
        out[idx["name"]] = est
    return out


# --- results ------------------------------------------------------------------------------------

UnitMapper = Callable[[str], str]


def _relabel(labels: np.ndarray, mapper: UnitMapper | None) -> np.ndarray:
    """Map each distinct label once (today's unit of a unit code), keeping None as None."""
    if mapper is None:
        return labels
    codes, uniques = pd.factorize(np.asarray(labels, dtype=object), use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:] = None
    for i, u in enumerate(uniques):
        mapped[i] = mapper(str(u))
    return mapped[codes]


def _cell(est: Estimate, i: int) -> tuple[float | None, list[float] | None]:
    value = _round2(float(est.value[i]))
    lo, hi = _round2(float(est.lo[i])), _round2(float(est.hi[i]))
    return value, None if value is None or lo is None or hi is None else [lo, hi]


def _block(ests: dict[str, Estimate], i: int, responses: int) -> dict[str, Any]:
    cells = {name: _cell(est, i) for name, est in ests.items()}
    return {"responses": responses, "indices": {name: c[0] for name, c in cells.items()},
            "ci": {name: c[1] for name, c in cells.items()},
            "valid": {name: None if est.n is None else int(round(float(est.n[i]))) for name, est in ests.items()}}


def _grouped(flow: Flow, df: pd.DataFrame, labels: np.ndarray, weights: np.ndarray | None,
             counts: dict[str, int] | None = None) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(overall block, block per label, sorted); responses per label from ``counts`` if given."""
    groups = _Groups(labels, weights)
    ests = estimates(flow, df, groups)
    n = groups.counts() if counts is None else None
    per: dict[str, dict[str, Any]] = {}
    for j, label in sorted(enumerate(groups.labels, start=1), key=lambda t: t[1]):
        per[label] = _block(ests, j, counts.get(label, 0) if counts is not None else int(n[j]))  # type: ignore[index]
    for label in sorted(set(counts or {}) - set(per)):  # responses that answered none of the scored keys
        per[label] = _block({k: _nothing(e) for k, e in ests.items()}, 0, counts[label])  # type: ignore[index]
    total = int(sum((counts or {}).values())) if counts is not None else int(n[0])  # type: ignore[index]
    return _block(ests, 0, total), dict(sorted(per.items()))


def _nothing(est: Estimate) -> Estimate:
    nan = np.array([np.nan])
    return Estimate(nan, nan, nan, None if est.n is None else np.array([0.0]), nan, est.top)


def score(flow: Flow, df: pd.DataFrame, *, by: Sequence[str] = (), units: UnitMapper | None = None,
          excluded: int = 0) -> dict[str, Any]:
    """Every index of ``flow.scoring`` in order: overall, per unit and per ``by`` column.

    ``df`` holds the responses that count (completed, not previews, not excluded by quality
    control). ``units`` maps a stored unit code to today's unit, so a 2021 response for a merged
    province is reported under its successor. ``by`` names other frame columns to break down by
    (``channel``, ``period``, an answer column such as ``service_used`` or ``gender``). Values are
    rounded half-up to 2 decimals only here; a ``mean`` uses its parts unrounded. Responses
    without a unit count overall but not in ``by_unit``.
    """
    unit_col = df["unit"].to_numpy(dtype=object) if "unit" in df.columns else np.full(len(df), None, dtype=object)
    overall, by_unit = _grouped(flow, df, _relabel(unit_col, units), None)
    result = _result(flow, overall, by_unit, excluded)
    for col in by:
        if col not in df.columns:
            raise ValueError(f"cannot break down by {col!r}: not a column of the responses")
        _, per = _grouped(flow, df, _labels(df[col]), None)
        result.setdefault("breakdowns", {})[col] = per
    return result


def _labels(s: pd.Series) -> np.ndarray:
    """A column as group labels: lists (multi answers) joined, missing values left out."""
    return s.map(lambda v: ";".join(map(str, v)) if isinstance(v, (list, tuple)) else v).to_numpy(dtype=object)


def _result(flow: Flow, overall: dict[str, Any], by_unit: dict[str, Any], excluded: int) -> dict[str, Any]:
    return {"flow": flow.id, "flow_version": flow.version, "responses": overall["responses"], "excluded": excluded,
            "indices": overall["indices"], "ci": overall["ci"], "valid": overall["valid"], "by_unit": by_unit}


def score_tally(flow: Flow, tally: pd.DataFrame, unit_counts: pd.Series, *, units: UnitMapper | None = None,
                excluded: int = 0) -> dict[str, Any]:
    """The same indices from answer counts (``load_tally``): each tally row stands for ``n``
    identical answers, which is all the formulas (and their intervals) need. Gives exactly what
    ``score`` gives on the full frame."""
    keys = tally["key"].to_numpy(dtype=object)
    values = tally["value"].to_numpy(dtype=object)
    wide = pd.DataFrame({answer_column(k): np.where(keys == k, values, None) for k in scoring_keys(flow)},
                        index=pd.RangeIndex(len(tally)))
    counts: dict[str, int] = {}
    for u, n in unit_counts.items():
        if u is not None and not pd.isna(u):
            today = units(str(u)) if units else str(u)
            counts[today] = counts.get(today, 0) + int(n)
    overall, by_unit = _grouped(flow, wide, _relabel(tally["unit"].to_numpy(dtype=object), units),
                                tally["n"].to_numpy(), counts)
    overall["responses"] = int(unit_counts.sum())
    return _result(flow, overall, by_unit, excluded)


def scoring_keys(flow: Flow) -> list[str]:
    """The result keys the scoring rules read: loading only these keeps large rounds fast."""
    keys: list[str] = []
    for idx in flow.scoring:
        for k in list(idx.get("keys", [])) + ([idx["key"]] if "key" in idx else []):
            if k not in keys:
                keys.append(k)
    return keys
