"""Retrieval with abstention: the best official answers for a text, each with a calibrated probability,
and whether the best one is sure enough to give."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .calibration import Calibration
from .index import Hit, IndexParams, KbIndex
from .kb import KbEntry
from .normalize import Synonyms


@dataclass(frozen=True)
class Scored:
    entry: KbEntry
    probability: float
    hit: Hit


@dataclass(frozen=True)
class Retrieval:
    candidates: tuple[Scored, ...]  # best first, down to the suggestion threshold
    best: Scored | None              # the best hit whatever its probability
    answer: Scored | None            # ``best`` when sure enough to answer
    content: tuple[str, ...]         # the canonical content tokens of the query

    @property
    def probability(self) -> float:
        return self.best.probability if self.best else 0.0


class Retriever:
    def __init__(self, entries: Sequence[KbEntry], synonyms: Synonyms, calibration: Calibration, *,
                 segment: bool = True) -> None:
        self.calibration = calibration
        self.index = KbIndex(entries, synonyms, IndexParams.from_json(dict(calibration.ranking)), segment=segment)

    def __len__(self) -> int:
        return len(self.index)

    def retrieve(self, text: str, *, unit: str | None = None, depth: int = 5,
                 expanded: list[str] | None = None) -> Retrieval:
        query = self.index.analyze(text, expanded)
        hits = self.index.search(query, depth, unit=unit)
        cal = self.calibration
        probs = [cal.probability(h.features()) for h in hits]
        # A query that several entries contain whole ("căn cước": where, how long, how much?) does not
        # say which one is meant: they share the probability, and none is given as the answer.
        ambiguous = [i for i, h in enumerate(hits) if h.cov_q >= 0.99]
        ambiguous = ambiguous if len(ambiguous) > 1 and hits[0].cov_d < 0.99 else []
        for i in ambiguous:
            probs[i] /= len(ambiguous)
        if len(probs) > 1:
            # the calibrated probability is the best hit's; the others share what it leaves, in proportion
            rest = sum(probs[1:])
            room = 1.0 - probs[0]
            if rest > room:
                probs[1:] = [q * room / rest for q in probs[1:]]
        scored = [Scored(self.index.entries[h.doc], q, h) for h, q in zip(hits, probs)]
        best = scored[0] if scored else None
        # one ordinary word ("dừng", "ok") is never enough to pick an answer, however well it matches
        enough = (len(query.content) > 1 or any("_" in t for t in query.content)) and not ambiguous
        answer = best if best is not None and enough and best.probability >= cal.answer_threshold else None
        candidates = tuple(s for s in scored if s.probability >= cal.suggest_threshold)[:cal.max_candidates]
        return Retrieval(candidates=candidates, best=best, answer=answer, content=tuple(query.content))

    def entry(self, answer_id: str) -> KbEntry | None:
        i = self.index.by_id.get(answer_id)
        return None if i is None else self.index.entries[i]
