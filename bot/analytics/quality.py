"""Quality control: which responses should not count, and why.

Rules are data: defaults below, overridden per flow by ``scoring.quality`` in the flow file, so
the ministry can tighten a rule without a release. Flags are recomputed on every run from the
responses (a rule change applies to past rounds too); only analysts' overrides are stored.

Reasons (a response can have several):

- ``incomplete``: started but never completed (started / partial / expired);
- ``speeder``: completed in less than ``speeder_fraction`` of the median completion time of the
  flow's completed responses in the same scope (only once there are ``speeder_min_responses``);
- ``straightlining``: the same answer on every item of the rating grid (the flow's scale
  questions, or ``straightline_keys``), with at least ``straightline_min_items`` answered;
- ``duplicate_respondent``: the same respondent pseudonym completed the flow again for the same
  ``duplicate_by`` fields (unit, and the flow's required context such as the dossier code);
  the first completion counts, later ones are flagged;
- ``duplicate_invitation``: an invitation code used by more than one completed response.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..flows import Flow

INCOMPLETE = ("started", "partial", "expired")
REASONS = ("incomplete", "speeder", "straightlining", "duplicate_respondent", "duplicate_invitation")


@dataclass(frozen=True)
class QualityRules:
    """Thresholds of the flags; see the module docstring for what each one means."""
    speeder_fraction: float = 0.3
    speeder_min_responses: int = 20
    straightline_min_items: int = 10
    straightline_keys: tuple[str, ...] = ()
    duplicate_by: tuple[str, ...] = ("unit",)

    @classmethod
    def of(cls, flow: Flow) -> "QualityRules":
        """The defaults, overridden by the flow's ``scoring.quality`` block. Without one, the
        required context parameters (the one-stop dossier code) join ``duplicate_by``: rating
        two dossiers is fine, rating one dossier twice is not."""
        given: dict[str, Any] = dict((flow.source.get("scoring") or {}).get("quality") or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"flow {flow.id}: unknown quality rule {', '.join(unknown)}")
        if "duplicate_by" not in given:
            given["duplicate_by"] = ["unit"] + [f"context.{c.key}" for c in flow.context if c.required]
        for k in ("straightline_keys", "duplicate_by"):
            if k in given:
                given[k] = tuple(given[k])
        strangers = [k for k in given.get("straightline_keys", ()) if not flow.has_question(k)]
        if strangers:
            raise ValueError(f"flow {flow.id}: straightline_keys {', '.join(strangers)} are not questions of the flow")
        return cls(**given)

    def grid_keys(self, flow: Flow) -> list[str]:
        """The rating grid: configured keys, else every scale question of the flow."""
        return list(self.straightline_keys) or [q.key for q in flow.questions if q.type == "scale"]


@dataclass(frozen=True)
class Flag:
    """A response quality control has an opinion about, and what counts in the end."""
    response_id: str
    respondent: str | None
    unit: str | None
    disposition: str
    reasons: tuple[str, ...]
    override: str | None = None  # include | exclude
    override_reason: str | None = None
    counted: bool = False


@dataclass
class QualityReport:
    """Flags of one scope (flow + period), plus the overrides that apply to it."""
    flow_id: str
    rules: QualityRules
    flags: list[Flag] = field(default_factory=list)

    @property
    def excluded(self) -> list[Flag]:
        """Flagged or analyst-excluded and not counted: what ``score`` reports as ``excluded``."""
        return [f for f in self.flags if not f.counted]

    def uncounted_completed(self) -> list[str]:
        return [f.response_id for f in self.flags if f.disposition == "completed" and not f.counted]

    def counted_incomplete(self) -> list[str]:
        return [f.response_id for f in self.flags if f.disposition != "completed" and f.counted]

    def as_json(self) -> dict[str, Any]:
        return {"flow": self.flow_id, "rules": {k: (list(v) if isinstance(v, tuple) else v)
                                                for k, v in self.rules.__dict__.items()},
                "flagged": len([f for f in self.flags if f.reasons]), "excluded": len(self.excluded),
                "responses": [f.__dict__ | {"reasons": list(f.reasons)} for f in self.flags]}


def _durations(df: pd.DataFrame) -> np.ndarray:
    return (df["completed_at"] - df["started_at"]).dt.total_seconds().to_numpy(dtype=float)


def speeders(df: pd.DataFrame, completed: np.ndarray, rules: QualityRules) -> np.ndarray:
    secs = _durations(df)
    if completed.sum() < rules.speeder_min_responses:
        return np.zeros(len(df), dtype=bool)
    median = float(np.nanmedian(secs[completed]))
    return completed & (secs < rules.speeder_fraction * median)


def straightliners(df: pd.DataFrame, completed: np.ndarray, keys: Sequence[str], rules: QualityRules) -> np.ndarray:
    cols = [k for k in keys if k in df.columns]
    if not cols:
        return np.zeros(len(df), dtype=bool)
    # one factorisation over the whole grid, so equal answers get equal codes in every column;
    # a row has a single distinct answer when its smallest and largest code agree
    flat = df[cols].to_numpy(dtype=object).ravel()
    codes = pd.factorize(flat, use_na_sentinel=True)[0].reshape(len(df), len(cols))
    answered_mask = codes >= 0
    answered = answered_mask.sum(axis=1)
    lowest = np.where(answered_mask, codes, np.iinfo(codes.dtype).max).min(axis=1)
    highest = np.where(answered_mask, codes, -1).max(axis=1)
    return completed & (answered >= rules.straightline_min_items) & (lowest == highest)


def _later_duplicates(df: pd.DataFrame, subset: list[str], mask: np.ndarray) -> np.ndarray:
    """Rows under ``mask`` sharing ``subset`` with an earlier completed row (by completion time)."""
    sub = df.loc[mask, subset + ["completed_at"]].sort_values("completed_at", kind="stable")
    dup = sub.duplicated(subset=subset, keep="first")
    out = np.zeros(len(df), dtype=bool)
    out[df.index.get_indexer(dup.index[dup.to_numpy()])] = True
    return out


def duplicates(df: pd.DataFrame, completed: np.ndarray, rules: QualityRules) -> tuple[np.ndarray, np.ndarray]:
    """(duplicate respondent, duplicate invitation) among completed responses."""
    missing = [c for c in rules.duplicate_by if c not in df.columns]
    if missing:
        raise ValueError(f"duplicate_by names {', '.join(missing)}, which the responses do not have")
    keyed = df.assign(**{c: df[c].map(lambda v: v if v is None or isinstance(v, (str, int, float)) else str(v))
                         for c in rules.duplicate_by})
    by_respondent = _later_duplicates(keyed, ["respondent", *rules.duplicate_by], completed)
    invited = completed & df["invitation"].notna().to_numpy()
    return by_respondent, _later_duplicates(df, ["invitation"], invited)


def flag_frame(flow: Flow, df: pd.DataFrame, rules: QualityRules,
               overrides: dict[str, tuple[str, str]] | None = None) -> QualityReport:
    """Flags for a frame of one scope (``load_frame(..., dispositions=None)`` with the grid keys
    and ``context.<key>`` columns), with the analyst's ``overrides`` {response_id: (decision,
    reason)} applied. Only flagged or overridden responses are listed."""
    df = df.reset_index(drop=True)
    overrides = overrides or {}
    disp = df["disposition"].to_numpy(dtype=object)
    completed = disp == "completed"
    checks = {
        "incomplete": np.isin(disp, INCOMPLETE),
        "speeder": speeders(df, completed, rules),
        "straightlining": straightliners(df, completed, rules.grid_keys(flow), rules),
    }
    checks["duplicate_respondent"], checks["duplicate_invitation"] = duplicates(df, completed, rules)
    any_flag = np.zeros(len(df), dtype=bool)
    for m in checks.values():
        any_flag |= m
    listed = any_flag | df["response_id"].isin(list(overrides)).to_numpy()
    report = QualityReport(flow.id, rules)
    ids, people, units = (df[c].to_numpy(dtype=object) for c in ("response_id", "respondent", "unit"))
    for i in np.flatnonzero(listed):  # plain arrays: a national round may flag tens of thousands
        rid = str(ids[i])
        decision, why = overrides.get(rid, (None, None))
        counted = decision == "include" or (decision is None and bool(completed[i]) and not any_flag[i])
        if decision == "include" and disp[i] == "refused":
            counted = False  # a refusal has no answers to count
        report.flags.append(Flag(rid, people[i], units[i], str(disp[i]),
                                 tuple(r for r in REASONS if checks[r][i]), decision, why, counted))
    return report
