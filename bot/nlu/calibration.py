"""From ranking features to "the probability that this answer is right", and when to answer.

A logistic model over features of a hit (:meth:`bot.nlu.index.Hit.features`) — its rank score, its
margin over the best other entry, how much of the question it explains, character similarity — is
fitted on a development set of citizen questions (paraphrases with the right answer id, and
out-of-scope questions labelled ``none``). Thresholds are then chosen on out-of-fold
probabilities: answer when p ≥ ``answer_threshold`` (picked so that at most ``max_oos_answered``
of out-of-scope questions are answered), offer "did you mean" choices down to
``suggest_threshold``. Everything is stored as data in ``nlu_data/calibration.json``;
``hailong nlu calibrate DEV.tsv`` refits it for another knowledge base.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

# Features chosen on the development set (out-of-fold): each has the sign one expects — more matched
# and more similar raise the probability, words no entry knows lower it. The rank score itself, the
# margin over the runner-up and facet agreement were collinear with these and did not improve
# abstention; how much of the query the answer text contains (cov_a) did (out of fold, 74 % → 77 % of
# in-scope questions answered right at the same share of out-of-scope ones answered).
FEATURES = ("bm25n", "cov_q", "cov_d", "char", "unknown", "cov_a")


@dataclass(frozen=True)
class Calibration:
    weights: Mapping[str, float] = field(default_factory=lambda: {
        "bm25n": 4.0, "cov_q": 1.5, "cov_d": 3.5, "char": 3.5, "unknown": -2.5, "cov_a": 0.0})
    bias: float = -8.0
    answer_threshold: float = 0.5
    suggest_threshold: float = 0.1
    max_candidates: int = 3
    # ranking parameters (bot.nlu.index.IndexParams) tuned with the same data
    ranking: Mapping[str, float] = field(default_factory=dict)
    fitted_on: str = ""
    report: Mapping[str, Any] = field(default_factory=dict)

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.bias + sum(w * features.get(k, 0.0) for k, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    @classmethod
    def load(cls, path: Path) -> "Calibration":
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def fit_logistic(X: np.ndarray, y: np.ndarray, *, l2: float = 0.2, iterations: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (a handful of features, a few hundred rows)."""
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))])
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(A @ w, -50, 50)))
        g = A.T @ (p - y) + reg * w
        H = (A * (p * (1 - p))[:, None]).T @ A + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


@dataclass(frozen=True)
class Sample:
    features: Mapping[str, float]  # of the best hit (empty when nothing matched)
    in_scope: bool
    correct: bool  # the best hit is the expected answer
    # an out-of-scope question (counts for the threshold), not just a message that must not be answered
    oos: bool = False


def out_of_fold(samples: Sequence[Sample], *, folds: int = 5, l2: float = 0.2) -> np.ndarray:
    X = np.array([[s.features.get(f, 0.0) for f in FEATURES] for s in samples])
    y = np.array([1.0 if s.correct else 0.0 for s in samples])
    out = np.zeros(len(samples))
    order = np.arange(len(samples))
    for k in range(folds):
        test = order % folds == k
        w, b = fit_logistic(X[~test], y[~test], l2=l2)
        out[test] = 1.0 / (1.0 + np.exp(-(X[test] @ w + b)))
    return out


def choose_threshold(probabilities: Sequence[float], samples: Sequence[Sample], *,
                     max_oos_answered: float) -> tuple[float, dict[str, float]]:
    """The lowest threshold that answers at most ``max_oos_answered`` of out-of-scope questions (and at
    most that share of in-scope questions wrongly), maximising right answers."""
    oos = [p for p, s in zip(probabilities, samples) if s.oos]
    ins = [(p, s.correct) for p, s in zip(probabilities, samples) if s.in_scope]
    best: tuple[float, dict[str, float]] | None = None
    for t in sorted(set(np.round(np.linspace(0.05, 0.95, 91), 2))):
        oos_rate = sum(p >= t for p in oos) / max(len(oos), 1)
        wrong = sum(p >= t and not c for p, c in ins) / max(len(ins), 1)
        right = sum(p >= t and c for p, c in ins) / max(len(ins), 1)
        if oos_rate <= max_oos_answered and wrong <= max_oos_answered:
            stats = {"threshold": float(t), "answered_right": right, "answered_wrong": wrong,
                     "oos_answered": oos_rate}
            if best is None or right > best[1]["answered_right"]:
                best = (float(t), stats)
    if best is None:
        return 0.95, {"threshold": 0.95}
    return best


def fit(samples: Sequence[Sample], *, ranking: Mapping[str, float], fitted_on: str,
        max_oos_answered: float = 0.04, l2: float = 0.2, margin: float = 0.03) -> Calibration:
    """Fit the logistic model on ``samples`` and choose thresholds on out-of-fold probabilities.
    ``margin`` is added to the threshold found, for safety on unseen questions."""
    X = np.array([[s.features.get(f, 0.0) for f in FEATURES] for s in samples])
    y = np.array([1.0 if s.correct else 0.0 for s in samples])
    w, b = fit_logistic(X, y, l2=l2)
    oof = out_of_fold(samples, l2=l2)
    threshold, stats = choose_threshold(oof.tolist(), samples, max_oos_answered=max_oos_answered)
    threshold = min(0.95, threshold + margin)
    suggest = min(0.1, threshold / 3)
    report = {"samples": len(samples), "in_scope": sum(s.in_scope for s in samples),
              "out_of_scope": sum(s.oos for s in samples),
              "other_negatives": sum(not s.in_scope and not s.oos for s in samples),
              "top1_correct": sum(s.correct for s in samples), "out_of_fold": stats,
              "max_oos_answered": max_oos_answered, "threshold_margin": margin}
    return Calibration(weights={f: round(float(v), 5) for f, v in zip(FEATURES, w)}, bias=round(b, 5),
                       answer_threshold=round(threshold, 3), suggest_threshold=round(suggest, 3),
                       ranking=dict(ranking), fitted_on=fitted_on, report=report)


def samples_for(entries: Sequence[Any], items: Sequence[Any], synonyms: Any, ranking: Mapping[str, float],
                *, negatives: Sequence[str] = (), segment: bool = True) -> list[Sample]:
    """Features of the best hit for each question of an evaluation file (``intent:`` lines are skipped),
    plus ``negatives``: messages that must never get an answer (greetings, "stop" … from nlu.yml)."""
    from .index import IndexParams, KbIndex

    index = KbIndex(entries, synonyms, IndexParams.from_json(dict(ranking)), segment=segment)
    out: list[Sample] = []
    for it in items:
        if it.kind == "intent":
            continue
        hits = index.search(index.analyze(it.text), 2)
        top = index.entries[hits[0].doc].id if hits else None
        out.append(Sample(features=hits[0].features() if hits else {}, in_scope=it.kind == "answer",
                          correct=it.kind == "answer" and top == it.expected, oos=it.kind == "oos"))
    for text in negatives:
        hits = index.search(index.analyze(text), 2)
        out.append(Sample(features=hits[0].features() if hits else {}, in_scope=False, correct=False))
    return out


def calibrate(entries: Sequence[Any], items: Sequence[Any], synonyms: Any, *, ranking: Mapping[str, float],
              fitted_on: str, negatives: Sequence[str] = (), max_oos_answered: float = 0.04,
              learn_ranking: bool = True) -> Calibration:
    """Learn the rank score's weights on ``items`` (:mod:`bot.nlu.rerank`), then fit the answer
    probability and thresholds under that ranking."""
    from dataclasses import asdict as _asdict

    from .index import IndexParams, KbIndex
    from .rerank import learn_ranking as _learn

    params = IndexParams.from_json(dict(ranking))
    ranking_report: dict[str, Any] = {}
    if learn_ranking:
        weights, ranking_report = _learn(KbIndex(entries, synonyms, params), items)
        params = IndexParams.from_json({**_asdict(params), **weights})
    ranking = _asdict(params)  # every ranking parameter, written out as data
    cal = fit(samples_for(entries, items, synonyms, ranking, negatives=negatives), ranking=ranking,
              fitted_on=fitted_on, max_oos_answered=max_oos_answered)
    if not ranking_report:
        return cal
    return replace(cal, report={**cal.report, "ranking": ranking_report})
