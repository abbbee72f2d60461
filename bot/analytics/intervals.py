"""95 % confidence intervals for the published indices, vectorised over units.

Which interval, and why:

- **shares** (``share``, ``choice_share``): Wilson score interval. Unit samples are small (a
  commune may have 30 ballots) and shares sit near 80–100 %, where the textbook normal interval
  overshoots 100 % and collapses to zero width at 100 %; Wilson does neither.
- **means** (``scaled_mean``): normal approximation mean ± z·s/√n with the sample standard
  deviation, scaled like the index. No bootstrap: it has to run on a million rows in seconds and
  give the same numbers every time.
- **combinations** (``mean`` of indices, e.g. SIPAS = mean of five elements): weighted sum of the
  parts' standard errors assuming independent parts, ±z·√(Σwᵢ²seᵢ²)/Σwᵢ. The five elements are
  answered by the same people and are positively correlated, so this is somewhat narrow;
  it is stated as such in reports.

Answers, not respondents, are the sampling units when an index reads several questions (design
effect ignored). Intervals are clipped to the index's range.
"""
from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054


def wilson(k: np.ndarray, n: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson bounds of k successes out of n as proportions (NaN where n = 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        z2n = z * z / n
        centre = (p + z2n / 2) / (1 + z2n)
        half = z * np.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    bad = n <= 0
    return np.where(bad, np.nan, np.clip(centre - half, 0, 1)), np.where(bad, np.nan, np.clip(centre + half, 0, 1))


def share_se(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Standard error √(p(1−p)/n) of a proportion, used when shares are combined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.asarray(k, dtype=float) / np.asarray(n, dtype=float)
        return np.where(np.asarray(n) > 0, np.sqrt(p * (1 - p) / n), np.nan)


def mean_se(total: np.ndarray, sumsq: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Standard error s/√n of a mean from its sum, sum of squares and count (NaN below n = 2)."""
    total = np.asarray(total, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.maximum(np.asarray(sumsq, dtype=float) - total * total / n, 0.0) / (n - 1)
        return np.where(n > 1, np.sqrt(var / n), np.nan)
