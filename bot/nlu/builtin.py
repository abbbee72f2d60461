"""The built-in NLU backend: intents from ``nlu_data/nlu.yml`` and answers from the ``kb_entries`` table,
with no model download and nothing heavier than numpy, rapidfuzz and underthesea.

``understand`` decides between the intent classifier and the knowledge base:

- a confident official answer is given (intent ``ask_question``) unless the classifier is sure the
  message is something else (a greeting, "stop", "làm khảo sát"…) and it does not read as a question;
- otherwise the classifier's intent is used when it is clear;
- otherwise, if the message reads as a question, ``escalate`` is set (forward it to officials) and
  the closest official questions are offered as ``candidates``; if not, the intent is ``none``.

``confidence`` is the calibrated probability of the answer when one is given, else the intent's.
"""
from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from ..settings import REPO_ROOT
from ..text import clean
from .base import Candidate, Understanding
from .calibration import Calibration
from .intents import IntentClassifier, load_nlu_yaml
from .kb import KbEntry, kb_version, load_entries
from .normalize import TextNormalizer, load_synonyms
from .retrieval import Retrieval, Retriever

log = logging.getLogger(__name__)

DEFAULT_NLU_DIR = REPO_ROOT / "nlu_data"
MAX_TEXT = 1000  # characters looked at; a 10,000-character paste is cut, not refused

# intents that never take an official answer when the classifier is sure of them
COMMANDS = frozenset({"greeting", "help", "start_survey", "stop", "thanks"})
ROUTES = frozenset({"complaint", "give_opinion", "talk_to_official"})
SURE_INTENT = 0.5   # the classifier is sure enough to override a confident answer (non-questions only)
CLEAR_INTENT = 0.3  # the classifier's intent is used when no answer is confident
VERY_SURE_INTENT = 0.75  # ... even if the message reads as a question


class BuiltinNlu:
    name = "builtin"

    def __init__(self, engine: AsyncEngine | None, nlu_dir: Path = DEFAULT_NLU_DIR, *,
                 calibration: Calibration | None = None, segment: bool = True) -> None:
        self.engine = engine
        self.nlu_dir = Path(nlu_dir)
        self.synonyms, self._normalizer, self.intents = _language(self.nlu_dir)
        self.calibration = calibration or Calibration.load(self.nlu_dir / "calibration.json")
        self.segment = segment
        self._retriever: Retriever | None = None
        self._version: tuple[int, str] | None = None
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------ building
    @classmethod
    def from_entries(cls, entries: Sequence[KbEntry], nlu_dir: Path = DEFAULT_NLU_DIR, **kw: object) -> "BuiltinNlu":
        """A backend over ``entries`` without a database (evaluation, calibration, benchmarks)."""
        nlu = cls(None, nlu_dir, **kw)  # type: ignore[arg-type]
        nlu.use_entries(entries)
        return nlu

    def use_entries(self, entries: Sequence[KbEntry]) -> None:
        self._retriever = Retriever(entries, self.synonyms, self.calibration, segment=self.segment)

    async def reload(self) -> None:
        """Rebuild the index from ``kb_entries`` (off the event loop); the old one serves meanwhile."""
        if self.engine is None:
            return
        async with self._lock:
            t0 = time.perf_counter()
            version = await kb_version(self.engine)
            entries = await load_entries(self.engine)
            retriever = await asyncio.to_thread(Retriever, entries, self.synonyms, self.calibration,
                                                segment=self.segment)
            self._retriever, self._version = retriever, version
            log.info("knowledge base indexed", extra={"entries": len(entries),
                                                      "seconds": round(time.perf_counter() - t0, 3)})

    async def refresh(self) -> bool:
        """Reload only if ``kb_entries`` changed since the last load (cheap enough to call per minute)."""
        if self.engine is None:
            return False
        if self._retriever is not None and await kb_version(self.engine) == self._version:
            return False
        await self.reload()
        return True

    async def _ready(self) -> Retriever:
        if self._retriever is None:
            await self.reload()
        if self._retriever is None:
            self._retriever = Retriever([], self.synonyms, self.calibration, segment=False)
        return self._retriever

    async def close(self) -> None:
        self._retriever = None

    # ------------------------------------------------------------ answering
    async def understand(self, text: str, *, unit: str | None = None) -> Understanding:
        return self.understand_now(await self._ready(), text, unit=unit)

    def understand_sync(self, text: str, *, unit: str | None = None) -> Understanding:
        """The same as :meth:`understand` once an index is loaded (``from_entries`` or ``reload``)."""
        if self._retriever is None:
            raise RuntimeError("no knowledge base loaded: call reload() or use from_entries()")
        return self.understand_now(self._retriever, text, unit=unit)

    def understand_now(self, retriever: Retriever, text: str, *, unit: str | None = None) -> Understanding:
        original = text if isinstance(text, str) else str(text)
        text = clean(original)[:MAX_TEXT]
        expanded = self._normalizer.expand(text)
        if not expanded:
            return Understanding(text=original, intent="none", confidence=0.0)
        found = retriever.retrieve(text, unit=unit, expanded=expanded)
        question = self._normalizer.is_question(text, expanded)
        if found.answer is not None and question:
            return self._answer(original, found)
        intent = self.intents.predict(text, expanded)
        name, conf = intent.intent, intent.confidence
        if found.answer is not None:
            # not a question: a sure command ("làm khảo sát", "dừng") or a complaint/opinion/request
            # to talk to someone is routed as such rather than answered
            if (name in COMMANDS and conf >= SURE_INTENT) or (name in ROUTES and conf >= CLEAR_INTENT):
                return Understanding(text=original, intent=name, confidence=conf)
            return self._answer(original, found)
        # "phiếu khảo sát có dài không", "làm khảo sát trên zalo kiểu gì": a question about surveys, not
        # the command to start one, when the knowledge base has something to offer
        about_surveys = question and name == "start_survey" and bool(found.candidates)
        if name != "ask_question" and conf >= CLEAR_INTENT and not about_surveys and (
                not question or conf >= (SURE_INTENT if name in COMMANDS else VERY_SURE_INTENT)):
            return Understanding(text=original, intent=name, confidence=conf)
        if question or intent.intent == "ask_question" or len(found.content) >= 3:
            best = found.best
            return Understanding(text=original, intent="ask_question",
                                 confidence=max(intent.probabilities.get("ask_question", 0.0), 0.5 if question else 0.0),
                                 escalate=True, candidates=_candidates(found),
                                 topic=best.entry.topic if best and found.candidates else None)
        return Understanding(text=original, intent="none", confidence=1.0 - intent.confidence)

    @staticmethod
    def _answer(text: str, found: Retrieval) -> Understanding:
        a = found.answer
        assert a is not None
        return Understanding(text=text, intent="ask_question", confidence=a.probability, answer=a.entry.answer,
                             answer_id=a.entry.id, matched_question=a.entry.question, candidates=_candidates(found),
                             topic=a.entry.topic, unit=a.entry.unit)

    async def entry(self, answer_id: str) -> Understanding | None:
        e = (await self._ready()).entry(answer_id)
        if e is None:
            return None
        return Understanding(text=e.question, intent="ask_question", confidence=1.0, answer=e.answer, answer_id=e.id,
                             matched_question=e.question, topic=e.topic, unit=e.unit)


_LANGUAGE: dict[tuple[str, float, float], tuple[object, TextNormalizer, IntentClassifier]] = {}


def _language(nlu_dir: Path) -> tuple:  # type: ignore[type-arg]
    """Synonyms, normaliser and the trained intent classifier, shared by every backend built on the
    same (unchanged) ``nlu_data``: training takes about half a second."""
    nlu, syn = nlu_dir / "nlu.yml", nlu_dir / "synonyms.yml"
    key = (str(nlu_dir.resolve()), nlu.stat().st_mtime, syn.stat().st_mtime if syn.exists() else 0.0)
    if key not in _LANGUAGE:
        synonyms = load_synonyms(syn)
        normalizer = TextNormalizer(synonyms)
        _LANGUAGE[key] = (synonyms, normalizer, IntentClassifier(load_nlu_yaml(nlu), normalizer.expand))
    return _LANGUAGE[key]


def _candidates(found: Retrieval) -> tuple[Candidate, ...]:
    return tuple(Candidate(answer_id=s.entry.id, question=s.entry.question, score=s.probability)
                 for s in found.candidates)
