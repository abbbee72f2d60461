"""Sample-size planning: how many completed responses each unit needs (domain.md).

Yamane's n = N / (1 + N·e²) for a population of N and a margin of error e (5 % by default, at
95 % confidence and maximal variance p = 0.5), rounded up: a unit that falls one response short
of the plan is short of its margin.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MARGIN = 0.05


def sample_size(population: int, margin: float = DEFAULT_MARGIN) -> int:
    """Responses needed from a population of ``population``; ValueError for N < 0 or e ∉ (0, 1)."""
    if population < 0:
        raise ValueError(f"population must be 0 or more, not {population}")
    if not 0 < margin < 1:
        raise ValueError(f"margin must be between 0 and 1 (0.05 for ±5 %), not {margin}")
    if population == 0:
        return 0
    return math.ceil(population / (1 + population * margin * margin) - 1e-9)


@dataclass(frozen=True)
class UnitPlan:
    unit: str
    population: int
    sample: int


def plan_from_tsv(path: Path, margin: float = DEFAULT_MARGIN) -> list[UnitPlan]:
    """A plan per row of a TSV with columns ``unit`` and ``population`` (header required).
    ValueError naming the line for a missing column or a population that is not a whole number."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if not reader.fieldnames or not {"unit", "population"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs a header with columns unit and population (tab-separated)")
        plans: list[UnitPlan] = []
        for line, row in enumerate(reader, start=2):
            text = (row["population"] or "").replace(",", "").replace(".", "").strip()
            if not text.isdigit():
                raise ValueError(f"{path}:{line}: population {row['population']!r} is not a whole number")
            plans.append(UnitPlan(row["unit"].strip(), int(text), sample_size(int(text), margin)))
    return plans
