"""Confidence intervals and sample sizes against values computed by hand (domain.md)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.analytics.intervals import mean_se, wilson
from bot.analytics.sampling import plan_from_tsv, sample_size
from bot.cli import main


def test_wilson_matches_the_textbook_values() -> None:
    lo, hi = wilson(np.array([3, 0, 10]), np.array([5, 10, 10]))
    # 3/5: 0.2307–0.8824; 0/10: 0–0.2775; 10/10: 0.7225–1 (the normal interval would be 1–1)
    assert np.round(lo, 4).tolist() == [0.2307, 0.0, 0.7225]
    assert np.round(hi, 4).tolist() == [0.8824, 0.2775, 1.0]
    lo0, hi0 = wilson(np.array([0]), np.array([0]))
    assert np.isnan(lo0[0]) and np.isnan(hi0[0])


def test_mean_standard_error() -> None:
    # answers 5 4 3 4 2 5 1: sum 24, squares 96, s² = (96 − 24²/7)/6 = 2.2857, se = √(s²/7) = 0.5714
    assert round(float(mean_se(np.array([24.0]), np.array([96.0]), np.array([7]))[0]), 4) == 0.5714
    assert np.isnan(mean_se(np.array([4.0]), np.array([16.0]), np.array([1]))[0])



@pytest.mark.parametrize("population, margin, expected", [
    (1000, 0.05, 286),  # 1000 / 3.5 = 285.7 -> 286
    (100, 0.05, 80), (50_000, 0.05, 397), (10, 0.05, 10), (0, 0.05, 0), (1000, 0.1, 91)])
def test_sample_size(population: int, margin: float, expected: int) -> None:
    assert sample_size(population, margin) == expected


def test_sample_size_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="margin"):
        sample_size(100, 5)
    with pytest.raises(ValueError, match="population"):
        sample_size(-1)


def test_sample_size_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample-size", "--population", "1000"]) == 0
    assert capsys.readouterr().out.strip() == "286"
    tsv = tmp_path / "pop.tsv"
    tsv.write_text("unit\tpopulation\np.ha_noi\t8.500.000\np.cao_bang\t1000\n", encoding="utf-8")
    assert main(["sample-size", "--populations", str(tsv)]) == 0
    assert capsys.readouterr().out.splitlines() == ["unit\tpopulation\tsample", "p.ha_noi\t8500000\t400",
                                                    "p.cao_bang\t1000\t286", "total\t8501000\t686"]
    assert [p.sample for p in plan_from_tsv(tsv, 0.1)] == [100, 91]
    tsv.write_text("unit\tpopulation\np.ha_noi\tmany\n", encoding="utf-8")
    assert main(["sample-size", "--populations", str(tsv)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tsv}:2: population 'many' is not a whole number"
    assert main(["sample-size"]) == 2
    assert main(["sample-size", "--population", "10", "--margin", "0"]) == 2
