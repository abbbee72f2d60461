"""``hailong nlu eval``: the same questions through every NLU backend, side by side.

An evaluation file is TSV, one question per line: the expected answer id (or ``none`` for a question
the knowledge base does not cover, which must be escalated, not answered; or ``intent:<name>`` for
a message that is not a question) and the text. Lines starting with ``#`` are comments.

A backend is named on the command line (``--backend builtin,rasa``). ``builtin`` is
:class:`bot.nlu.builtin.BuiltinNlu`; any other name ``x`` is looked up as module ``bot.nlu.x``
exposing ``create(engine, nlu_dir)`` (plain or async) that returns an ``NluBackend`` or raises
:class:`BackendUnavailable` (or ImportError) with the reason — such a backend is skipped with that
reason printed, and the others are still evaluated.
"""
from __future__ import annotations

import importlib
import inspect
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .base import INTENTS, NluBackend, Understanding


class BackendUnavailable(RuntimeError):
    """A backend that cannot run here (not installed, no trained model …); the message says why."""


class EvalFileError(ValueError):
    pass


@dataclass(frozen=True)
class EvalItem:
    line: int
    expected: str  # answer id | "none" | "intent:<name>"
    text: str

    @property
    def kind(self) -> str:
        if self.expected == "none":
            return "oos"
        return "intent" if self.expected.startswith("intent:") else "answer"


def read_eval(path: Path) -> list[EvalItem]:
    items: list[EvalItem] = []
    errors: list[str] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = raw.split("\t", 1)
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            errors.append(f"{path}:{n}: expected 'answer id or none<TAB>question'")
            continue
        expected = parts[0].strip()
        if expected.startswith("intent:") and expected[7:] not in INTENTS:
            errors.append(f"{path}:{n}: unknown intent {expected[7:]!r}")
            continue
        items.append(EvalItem(n, expected, parts[1].strip()))
    if errors:
        raise EvalFileError("\n".join(errors))
    return items


@dataclass
class Outcome:
    item: EvalItem
    result: Understanding
    seconds: float

    @property
    def top(self) -> str | None:
        if self.result.answer_id:
            return self.result.answer_id
        return self.result.candidates[0].answer_id if self.result.candidates else None

    @property
    def ok(self) -> bool:
        k = self.item.kind
        if k == "oos":
            return self.result.answer_id is None
        if k == "intent":
            name = self.item.expected[7:]
            return self.result.intent == name and (name == "ask_question" or self.result.answer_id is None)
        return self.top == self.item.expected


@dataclass
class Report:
    backend: str
    outcomes: list[Outcome] = field(default_factory=list)

    def _of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.item.kind == kind]

    def metrics(self) -> dict[str, Any]:
        ins, oos, intents = self._of("answer"), self._of("oos"), self._of("intent")
        times = [o.seconds for o in self.outcomes]
        m: dict[str, Any] = {"backend": self.backend, "in_scope": len(ins), "out_of_scope": len(oos),
                             "intents": len(intents)}
        if ins:
            m["top1"] = sum(o.ok for o in ins) / len(ins)
            m["in_choices"] = sum(o.result.answer_id == o.item.expected
                                  or any(c.answer_id == o.item.expected for c in o.result.candidates)
                                  for o in ins) / len(ins)
            m["answered_right"] = sum(o.result.answer_id == o.item.expected for o in ins) / len(ins)
            m["answered_wrong"] = sum(bool(o.result.answer_id) and o.result.answer_id != o.item.expected
                                      for o in ins) / len(ins)
            m["not_answered"] = sum(o.result.answer_id is None for o in ins) / len(ins)
        if oos:
            m["oos_answered"] = sum(o.result.answer_id is not None for o in oos) / len(oos)
            m["oos_answered_count"] = sum(o.result.answer_id is not None for o in oos)
        if intents:
            m["intent_accuracy"] = sum(o.ok for o in intents) / len(intents)
        if times:
            m["mean_ms"] = statistics.fmean(times) * 1000
            m["p95_ms"] = sorted(times)[max(0, int(len(times) * 0.95) - 1)] * 1000
            m["questions_per_second"] = len(times) / sum(times) if sum(times) else float("inf")
        return m

    def misses(self) -> list[str]:
        out = []
        for o in self.outcomes:
            if o.ok:
                continue
            r = o.result
            if r.answer_id:
                got = f"answered {r.answer_id} (p={r.confidence:.2f})"
            elif r.escalate:
                got = "escalated" + (f", choices {', '.join(c.answer_id for c in r.candidates)}" if r.candidates else "")
            else:
                got = f"intent {r.intent} ({r.confidence:.2f})"
            out.append(f"  line {o.item.line}: expected {o.item.expected}, {got} — {o.item.text}")
        return out


async def evaluate(backend: NluBackend, items: Sequence[EvalItem], *, name: str | None = None) -> Report:
    report = Report(name or backend.name)
    for it in items:
        t0 = time.perf_counter()
        r = await backend.understand(it.text)
        report.outcomes.append(Outcome(it, r, time.perf_counter() - t0))
    return report


async def make_backend(name: str, engine: Any, nlu_dir: Path) -> NluBackend:
    """The backend called ``name``, ready to answer; raises :class:`BackendUnavailable` with the reason."""
    if name == "builtin":
        from .builtin import BuiltinNlu

        nlu = BuiltinNlu(engine, nlu_dir)
        await nlu.reload()
        return nlu
    try:
        module = importlib.import_module(f"{__package__}.{name}")
    except ImportError as e:
        raise BackendUnavailable(f"not installed here ({e})") from None
    create = getattr(module, "create", None)
    if create is None:
        raise BackendUnavailable(f"bot.nlu.{name} has no create(engine, nlu_dir)")
    try:
        backend = create(engine, nlu_dir)
        if inspect.isawaitable(backend):
            backend = await backend
    except BackendUnavailable:
        raise
    except ImportError as e:
        raise BackendUnavailable(f"a dependency is missing ({e})") from None
    except Exception as e:
        raise BackendUnavailable(f"{type(e).__name__}: {e}") from None
    return backend


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def format_reports(reports: Sequence[Report], skipped: dict[str, str], *, misses: bool = True) -> str:
    lines: list[str] = []
    for name, reason in skipped.items():
        lines.append(f"skipped {name}: {reason}")
    if not reports:
        return "\n".join(lines)
    ms = [r.metrics() for r in reports]
    width = max(12, *(len(r.backend) + 2 for r in reports))

    def row(label: str, values: list[str]) -> str:
        return f"{label:<40}" + "".join(f"{v:>{width}}" for v in values)

    lines.append(row("", [m["backend"] for m in ms]))
    first = ms[0]
    if first["in_scope"]:
        lines.append(row(f"in-scope questions", [str(m["in_scope"]) for m in ms]))
        lines.append(row("  top-1 accuracy", [_pct(m.get("top1")) for m in ms]))
        lines.append(row("  right answer given or among the choices", [_pct(m.get("in_choices")) for m in ms]))
        lines.append(row("  answered, right answer", [_pct(m.get("answered_right")) for m in ms]))
        lines.append(row("  answered, wrong answer", [_pct(m.get("answered_wrong")) for m in ms]))
        lines.append(row("  not answered (choices or escalated)", [_pct(m.get("not_answered")) for m in ms]))
    if first["out_of_scope"]:
        lines.append(row("out-of-scope questions", [str(m["out_of_scope"]) for m in ms]))
        lines.append(row("  answered instead of escalated",
                         [f"{_pct(m.get('oos_answered'))} ({m.get('oos_answered_count', 0)})" for m in ms]))
    if first["intents"]:
        lines.append(row("intent examples", [str(m["intents"]) for m in ms]))
        lines.append(row("  intent accuracy", [_pct(m.get("intent_accuracy")) for m in ms]))
    lines.append(row("time per question, mean (ms)", [f"{m.get('mean_ms', 0):.2f}" for m in ms]))
    lines.append(row("time per question, p95 (ms)", [f"{m.get('p95_ms', 0):.2f}" for m in ms]))
    lines.append(row("questions per second", [f"{m.get('questions_per_second', 0):.0f}" for m in ms]))
    if misses:
        for r in reports:
            miss = r.misses()
            lines.append(f"\n{r.backend}: {len(miss)} misses" + (":" if miss else ""))
            lines.extend(miss)
    return "\n".join(lines)
