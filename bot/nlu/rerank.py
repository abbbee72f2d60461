"""The rank score's weights, learned from development questions instead of set by hand.

:meth:`bot.nlu.index.KbIndex.search` scores its best BM25 hits by a weighted sum of features (BM25,
coverage of the query and of the entry, character similarity, coverage by the answer text, whether
the entry asks what the query asks). Which weights order the right entry first is learned here by
pairwise logistic regression (the right entry's features minus each wrong candidate's, both ways
round): a handful of weights, a few thousand pairs, so it cannot memorise single questions and
generalises as well as the features do. :func:`cross_validate` reports the out-of-fold top-1 so
that the figure written next to the weights is not an in-sample one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .calibration import fit_logistic
from .index import KbIndex

# feature of a hit → the IndexParams weight that multiplies it
RANK_WEIGHTS = {"bm25n": "w_bm25", "cov_q": "w_cov_q", "cov_d": "w_cov_d", "char": "w_char",
                "cov_a": "w_cov_a", "facet": "w_facet", "cov_e": "w_cov_e", "miss": "w_miss", "cov_s": "w_cov_s"}
FEATURES = tuple(RANK_WEIGHTS)


@dataclass(frozen=True)
class Candidates:
    """The features of one question's candidates (BM25's best ``depth``) and which one is right."""

    features: np.ndarray  # candidates × FEATURES
    right: int | None      # row of the expected entry, None when BM25 did not find it


def candidate_lists(index: KbIndex, items: Sequence[Any]) -> list[Candidates]:
    """One :class:`Candidates` per in-scope question of ``items`` (``EvalItem``s)."""
    out: list[Candidates] = []
    for it in items:
        if it.kind != "answer":
            continue
        hits = index.search(index.analyze(it.text), index.params.depth)
        rows = np.array([[h.features()[f] for f in FEATURES] for h in hits]).reshape(len(hits), len(FEATURES))
        ids = [index.entries[h.doc].id for h in hits]
        out.append(Candidates(rows, ids.index(it.expected) if it.expected in ids else None))
    return out


def fit_weights(lists: Sequence[Candidates], *, l2: float = 0.1) -> np.ndarray:
    """Weights (in FEATURES order) under which the right candidate outscores the others."""
    diffs = [c.features[c.right] - c.features[j] for c in lists if c.right is not None
             for j in range(len(c.features)) if j != c.right]
    if not diffs:
        return np.zeros(len(FEATURES))
    X = np.array(diffs)
    w, _ = fit_logistic(np.vstack([X, -X]), np.r_[np.ones(len(X)), np.zeros(len(X))], l2=l2)
    return w


def top1(lists: Sequence[Candidates], w: np.ndarray) -> float:
    """Share of questions whose right entry scores best under ``w`` (not found counts as wrong)."""
    if not lists:
        return 0.0
    ok = sum(c.right is not None and int(np.argmax(c.features @ w)) == c.right for c in lists)
    return ok / len(lists)


def cross_validate(lists: Sequence[Candidates], *, folds: int = 5, l2: float = 0.1) -> float:
    """Top-1 of each fold under weights fitted on the other folds."""
    ok = 0.0
    for k in range(folds):
        train = [c for i, c in enumerate(lists) if i % folds != k]
        test = [c for i, c in enumerate(lists) if i % folds == k]
        ok += top1(test, fit_weights(train, l2=l2)) * len(test)
    return ok / max(len(lists), 1)


def learn_ranking(index: KbIndex, items: Sequence[Any], *, l2: float = 0.1) -> tuple[dict[str, float], dict[str, float]]:
    """The ranking weights learned on ``items`` (IndexParams names, scaled so that BM25's weight is 1)
    and a report: in-sample and out-of-fold top-1, and the share BM25 found at all."""
    lists = candidate_lists(index, items)
    w = fit_weights(lists, l2=l2)
    scale = w[0] if w[0] > 0 else 1.0
    weights = {RANK_WEIGHTS[f]: round(float(v / scale), 4) for f, v in zip(FEATURES, w)}
    report = {"questions": len(lists), "recall_at_depth": sum(c.right is not None for c in lists) / max(len(lists), 1),
              "top1_in_sample": top1(lists, w), "top1_out_of_fold": cross_validate(lists, l2=l2)}
    return weights, report


def weights_of(params: Mapping[str, float]) -> np.ndarray:
    return np.array([float(params.get(RANK_WEIGHTS[f], 0.0)) for f in FEATURES])
