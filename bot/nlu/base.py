"""The seam between the conversation and language understanding: one protocol, several backends."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Intents every backend recognises (nlu_data/nlu.yml is the single source of training examples).
INTENTS = ("greeting", "help", "start_survey", "ask_question", "give_opinion", "complaint", "talk_to_official",
           "stop", "thanks", "none")


@dataclass(frozen=True)
class Candidate:
    answer_id: str
    question: str
    score: float  # calibrated: the estimated probability that this answer is right

    def to_json(self) -> dict[str, Any]:
        return {"answer_id": self.answer_id, "question": self.question, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Understanding:
    """What a free-text message means.

    ``answer`` is set only when the best official answer is confident enough to give; otherwise
    ``escalate`` says the question should go to officials, and ``candidates`` (best first) may be
    offered as "did you mean" choices.
    """

    text: str
    intent: str
    confidence: float
    answer: str | None = None
    answer_id: str | None = None
    matched_question: str | None = None
    escalate: bool = False
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    topic: str | None = None
    unit: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "intent": self.intent, "confidence": round(self.confidence, 4),
                "answer": self.answer, "answer_id": self.answer_id, "matched_question": self.matched_question,
                "escalate": self.escalate, "candidates": [c.to_json() for c in self.candidates]}


class NluBackend(Protocol):
    name: str

    async def understand(self, text: str, *, unit: str | None = None) -> Understanding:
        """Intent and, for questions, the best official answer for ``text`` (``unit``: the
        respondent's unit, to prefer its own answers)."""
        ...

    async def entry(self, answer_id: str) -> Understanding | None:
        """The official answer with this id (a "did you mean" choice the respondent picked)."""
        ...

    async def reload(self) -> None:
        """Pick up knowledge-base changes (an import, an official's answer published)."""
        ...

    async def close(self) -> None: ...
