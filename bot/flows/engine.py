"""The flow engine: a pure step function.

``start`` and ``step`` take a flow, the respondent's state and what they sent, and return the new
state, what to say, and the effects to store. No I/O happens here, so branching, back, edit,
review and submit are all testable as plain function calls; the conversation service applies
the effects in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

from ..dialogues import Dialogues
from ..messages import Choice, InputSpec, Outbound
from .conditions import holds
from .model import SKIP_CHOICE_ID, ChoiceDef, Flow, Question, other_key
from .parsers import Accepted, Rejected, UnitLookup, parse_answer, parse_single

Status = Literal["in_progress", "completed", "refused", "expired"]
Stage = Literal["consent", "question", "other", "review", "edit_pick", "paused", "done"]
SUBMIT_ID = "_submit"
EDIT_ID = "_edit"


@dataclass(frozen=True)
class FlowState:
    flow_id: str
    flow_version: int
    status: Status = "in_progress"
    stage: Stage = "question"
    current: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    fails: int = 0
    started_at: str = ""
    context: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"flow_id": self.flow_id, "flow_version": self.flow_version, "status": self.status,
                "stage": self.stage, "current": self.current, "answers": self.answers, "fails": self.fails,
                "started_at": self.started_at, "context": self.context}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "FlowState":
        return cls(**{k: data[k] for k in ("flow_id", "flow_version", "status", "stage", "current", "answers",
                                           "fails", "started_at", "context") if k in data})

    @property
    def active(self) -> bool:
        return self.status == "in_progress"


@dataclass(frozen=True)
class AnswerSet:
    key: str
    value: Any


@dataclass(frozen=True)
class AnswerCleared:
    key: str


Effect = AnswerSet | AnswerCleared


@dataclass(frozen=True)
class StepResult:
    state: FlowState
    outbounds: list[Outbound]
    effects: list[Effect] = field(default_factory=list)


@dataclass(frozen=True)
class Env:
    """What the engine may consult besides the flow: phrases, units, and the clock."""

    dialogues: Dialogues
    units: UnitLookup | None = None
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    max_failed_attempts: int = 3

    @property
    def today(self) -> date:
        return self.now.date()


# ---- reading the flow against the answers -------------------------------------------------

def visible(flow: Flow, answers: dict[str, Any], q: Question) -> bool:
    return holds(flow.section(q.section).when, answers) and holds(q.when, answers)


def path(flow: Flow, answers: dict[str, Any]) -> list[Question]:
    return [q for q in flow.questions if visible(flow, answers, q)]


def next_question(flow: Flow, answers: dict[str, Any]) -> Question | None:
    for q in flow.questions:
        if q.key not in answers and visible(flow, answers, q):
            return q
    return None


def _prune(flow: Flow, answers: dict[str, Any]) -> tuple[dict[str, Any], list[Effect]]:
    """Drop answers to questions a changed answer has hidden, so stored data stays consistent."""
    kept = dict(answers)
    effects: list[Effect] = []
    changed = True
    while changed:
        changed = False
        for q in flow.questions:
            if q.key in kept and not visible(flow, kept, q):
                del kept[q.key]
                effects.append(AnswerCleared(q.key))
                if other_key(q.key) in kept:
                    del kept[other_key(q.key)]
                    effects.append(AnswerCleared(other_key(q.key)))
                changed = True
    return kept, effects


# ---- rendering -------------------------------------------------------------------------------

def _choice(c: ChoiceDef) -> Choice:
    return Choice(c.id, c.label, c.short)


def input_for(q: Question, env: Env) -> InputSpec:
    kind = {"single": "choice", "scale": "choice", "yes_no": "choice", "multi": "multi"}.get(q.type, q.type)
    choices = tuple(_choice(c) for c in q.choices)
    if not q.required and q.is_choice and not any(c.no_answer for c in q.choices):
        choices += (Choice(SKIP_CHOICE_ID, env.dialogues.say("skip_label")),)
    lo = q.min if q.type != "date" or q.min != "today" else env.today.isoformat()
    hi = q.max if q.type != "date" or q.max != "today" else env.today.isoformat()
    return InputSpec(
        type=kind,  # type: ignore[arg-type]
        choices=choices, min=lo, max=hi,
        min_choices=(q.min_choices or 1) if q.type == "multi" else None,
        max_choices=q.max_choices if q.type == "multi" else None,
        max_length=(q.max_length or 2000) if q.type == "text" else None,
    )


def _ask(flow: Flow, q: Question, env: Env, *, prev_section: str | None) -> list[Outbound]:
    out: list[Outbound] = []
    section = flow.section(q.section)
    if section.id != prev_section and (section.title or section.intro):
        out.append(Outbound("\n".join(t for t in (section.title, section.intro) if t)))
    text = f"{env.dialogues.say('progress', number=q.number, total=len(flow.questions))}\n{q.text}"
    if q.help:
        text += f"\n{q.help}"
    if not q.required and not q.is_choice:
        text += f"\n{env.dialogues.say('optional_hint')}"
    out.append(Outbound(text, input_for(q, env)))
    return out


def display(flow: Flow, key: str, value: Any, env: Env, units_name: Any = None) -> str:
    if value is None:
        return env.dialogues.say("no_answer_given")
    q = flow.question(key)
    if q.is_choice:
        ids = value if isinstance(value, list) else [value]
        labels = [(q.choice(i).label if q.choice(i) else str(i)) for i in ids]  # type: ignore[union-attr]
        return "; ".join(labels)
    if q.type == "unit" and env.units is not None and hasattr(env.units, "name"):
        return env.units.name(value) or str(value)  # type: ignore[attr-defined]
    if q.type == "date":
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _review(flow: Flow, state: FlowState, env: Env) -> list[Outbound]:
    lines = [env.dialogues.say("review_intro")]
    for q in path(flow, state.answers):
        if q.key not in state.answers:
            continue
        answer = display(flow, q.key, state.answers[q.key], env)
        if other_key(q.key) in state.answers:
            answer += f" ({state.answers[other_key(q.key)]})"
        lines.append(env.dialogues.say("review_line", number=q.number, text=q.text, answer=answer))
    choices = (Choice(SUBMIT_ID, env.dialogues.say("review_submit")), Choice(EDIT_ID, env.dialogues.say("review_edit")))
    return [Outbound("\n".join(lines)), Outbound(env.dialogues.say("review_prompt"), InputSpec("choice", choices))]


def _consent_choices(flow: Flow) -> tuple[ChoiceDef, ...]:
    return (ChoiceDef("yes", flow.consent_yes, aliases=("co", "dong y", "ok", "y", "vang", "yes")),
            ChoiceDef("no", flow.consent_no, aliases=("khong", "no", "tu choi", "n")))


def _consent_question(flow: Flow) -> Question:
    return Question(key="_consent", type="single", text=flow.consent_text or "", section="", number=0,
                    choices=_consent_choices(flow))


def _consent_prompt(flow: Flow) -> Outbound:
    return Outbound(flow.consent_text or "", InputSpec("choice", tuple(_choice(c) for c in _consent_choices(flow))))


# ---- transitions -----------------------------------------------------------------------------

def start(flow: Flow, env: Env, *, context: dict[str, str] | None = None) -> StepResult:
    state = FlowState(flow_id=flow.id, flow_version=flow.version, started_at=env.now.isoformat(),
                      context=dict(context or {}))
    out: list[Outbound] = []
    if flow.intro:
        out.append(Outbound(flow.intro.strip()))
    if flow.consent_text:
        out.append(_consent_prompt(flow))
        return StepResult(replace(state, stage="consent"), out)
    return _advance(flow, state, env, out, prev_section=None)


def _advance(flow: Flow, state: FlowState, env: Env, out: list[Outbound], *, prev_section: str | None,
             effects: list[Effect] | None = None) -> StepResult:
    effects = effects or []
    q = next_question(flow, state.answers)
    if q is None:
        if flow.settings.review:
            return StepResult(replace(state, stage="review", current=None, fails=0), out + _review(flow, state, env), effects)
        return _submit(flow, state, env, out, effects)
    return StepResult(replace(state, stage="question", current=q.key, fails=0),
                      out + _ask(flow, q, env, prev_section=prev_section), effects)


def _submit(flow: Flow, state: FlowState, env: Env, out: list[Outbound], effects: list[Effect]) -> StepResult:
    return StepResult(replace(state, status="completed", stage="done", current=None, fails=0),
                      out + [Outbound(flow.closing.strip())], effects)


def _expired(flow: Flow, state: FlowState, env: Env) -> bool:
    days = flow.settings.expires_after_days
    if not days or not state.started_at:
        return False
    return env.now - datetime.fromisoformat(state.started_at) > timedelta(days=days)


def reask(flow: Flow, state: FlowState, env: Env) -> list[Outbound]:
    """The prompt for where the respondent stands now (used on resume and after a command)."""
    if state.stage == "consent":
        return [_consent_prompt(flow)]
    if state.stage in ("review", "edit_pick"):
        return _review(flow, state, env)
    if state.current is None:
        return []
    q = flow.question(state.current)
    if state.stage == "other":
        return [Outbound(env.dialogues.say("other_prompt", label=_other_label(q, state.answers.get(q.key))),
                         InputSpec("text", max_length=500))]
    return _ask(flow, q, env, prev_section=q.section)


def _other_label(q: Question, value: Any) -> str:
    ids = value if isinstance(value, list) else [value]
    for c in q.choices:
        if c.other and c.id in ids:
            return c.label
    return ""


def step(flow: Flow, state: FlowState, env: Env, *, text: str | None = None, choice: Any = None) -> StepResult:
    """One respondent message. ``text`` is what they typed; ``choice`` a button id (or ids)."""
    if not state.active:
        return StepResult(state, [Outbound(env.dialogues.say("finished_already"))])
    if _expired(flow, state, env):
        return StepResult(replace(state, status="expired", stage="done", current=None),
                          [Outbound(env.dialogues.say("expired"))])
    d = env.dialogues
    command = d.command(text) if text is not None and choice is None else None
    if state.stage == "paused":
        state = replace(state, stage="consent" if state.current is None and not state.answers and flow.consent_text else
                        ("question" if state.current else "review"))
        if command and command[0] == "stop":
            return _refuse(state, env)
        return StepResult(state, [Outbound(d.say("resumed"))] + reask(flow, state, env))
    if command:
        name, arg = command
        result = _command(flow, state, env, name, arg)
        if result is not None:
            return result

    if state.stage == "consent":
        parsed = parse_single(_consent_question(flow), text=text, choice=choice if isinstance(choice, str) else None)
        if isinstance(parsed, Rejected):
            return _reject(flow, state, env, parsed)
        if parsed.value == "no":
            return StepResult(replace(state, status="refused", stage="done"), [Outbound(d.say("consent_declined"))])
        return _advance(flow, replace(state, stage="question"), env, [], prev_section=None)

    if state.stage in ("review", "edit_pick"):
        return _review_step(flow, state, env, text=text, choice=choice)

    assert state.current is not None
    q = flow.question(state.current)
    if state.stage == "other":
        parsed = parse_answer(replace(q, type="text", max_length=500, required=True), text=text if choice is None else str(choice))
        if isinstance(parsed, Rejected):
            return _reject(flow, state, env, parsed)
        answers = {**state.answers, other_key(q.key): parsed.value}
        return _advance(flow, replace(state, answers=answers), env, [], prev_section=q.section,
                        effects=[AnswerSet(other_key(q.key), parsed.value)])

    parsed = parse_answer(q, text=text, choice=choice, units=env.units, today=env.today)
    if isinstance(parsed, Rejected):
        return _reject(flow, state, env, parsed)
    answers = {**state.answers, q.key: parsed.value}
    effects: list[Effect] = [AnswerSet(q.key, parsed.value)]
    if other_key(q.key) in answers and not parsed.needs_other_text:
        del answers[other_key(q.key)]
        effects.append(AnswerCleared(other_key(q.key)))
    answers, cleared = _prune(flow, answers)
    effects += cleared
    state = replace(state, answers=answers, fails=0)
    if parsed.needs_other_text:
        return StepResult(replace(state, stage="other"),
                          [Outbound(d.say("other_prompt", label=_other_label(q, parsed.value)), InputSpec("text", max_length=500))],
                          effects)
    return _advance(flow, state, env, [], prev_section=q.section, effects=effects)


def _reject(flow: Flow, state: FlowState, env: Env, rejected: Rejected) -> StepResult:
    d = env.dialogues
    fails = state.fails + 1
    params = dict(rejected.params or {})
    candidates = params.pop("candidates", None)
    out: list[Outbound] = []
    if fails >= env.max_failed_attempts:
        out.append(Outbound(d.say("help_after_failures")))
        fails = 0
    prompt = reask(flow, state, env)
    if candidates:
        out.append(Outbound(d.say(rejected.reason, **params),
                            InputSpec("unit", tuple(Choice(code, name) for code, name in candidates))))
        return StepResult(replace(state, fails=fails), out)
    # the explanation rides on the re-asked question so it is one message with the right input
    last = prompt[-1]
    out += prompt[:-1] + [replace(last, text=f"{d.say(rejected.reason, **params)}\n{last.text}")]
    return StepResult(replace(state, fails=fails), out)


def _refuse(state: FlowState, env: Env) -> StepResult:
    return StepResult(replace(state, status="refused", stage="done", current=None), [Outbound(env.dialogues.say("refused"))])


def _command(flow: Flow, state: FlowState, env: Env, name: str, arg: str) -> StepResult | None:
    d = env.dialogues
    if name == "stop":
        return _refuse(state, env)
    if name == "pause":
        return StepResult(replace(state, stage="paused"), [Outbound(d.say("paused"))])
    if name in ("resume", "menu"):
        return StepResult(state, reask(flow, state, env))
    if name == "help":
        return StepResult(state, [Outbound(d.say("question_help_hint"))] + reask(flow, state, env))
    if state.stage == "consent":
        return None
    if name == "back":
        if state.stage == "other":
            return StepResult(replace(state, stage="question"), reask(flow, replace(state, stage="question"), env))
        visible_path = path(flow, state.answers)
        if state.stage in ("review", "edit_pick"):
            target = visible_path[-1] if visible_path else None
        else:
            idx = next((i for i, q in enumerate(visible_path) if q.key == state.current), 0)
            target = visible_path[idx - 1] if idx > 0 else None
        if target is None:
            return StepResult(state, [Outbound(d.say("at_first_question"))] + reask(flow, state, env))
        new = replace(state, stage="question", current=target.key, fails=0)
        return StepResult(new, _ask(flow, target, env, prev_section=target.section))
    if name == "review":
        if state.stage in ("review", "edit_pick"):
            return StepResult(state, _review(flow, state, env))
        summary = _review(flow, state, env)[0]
        return StepResult(state, [summary] + reask(flow, state, env))
    if name == "edit":
        if not arg:
            return StepResult(replace(state, stage="edit_pick"),
                              [Outbound(d.say("edit_which", total=len(flow.questions)), InputSpec("number", min=1, max=len(flow.questions)))])
        return _edit(flow, state, env, int(arg))
    if name == "submit" and state.stage == "review":
        return _submit(flow, state, env, [], [])
    return None


def _edit(flow: Flow, state: FlowState, env: Env, number: int) -> StepResult:
    target = next((q for q in path(flow, state.answers) if q.number == number and q.key in state.answers), None)
    if target is None:
        return StepResult(state, [Outbound(env.dialogues.say("edit_invalid", number=number))] + reask(flow, state, env))
    return StepResult(replace(state, stage="question", current=target.key, fails=0),
                      _ask(flow, target, env, prev_section=None))


def _review_step(flow: Flow, state: FlowState, env: Env, *, text: str | None, choice: Any) -> StepResult:
    if state.stage == "edit_pick":
        raw = (text or (choice if isinstance(choice, str) else "") or "").strip()
        if raw.isascii() and raw.isdigit() and len(raw) < 7:
            return _edit(flow, replace(state, stage="review"), env, int(raw))
        return StepResult(state, [Outbound(env.dialogues.say("edit_which", total=len(flow.questions)),
                                           InputSpec("number", min=1, max=len(flow.questions)))])
    d = env.dialogues
    review_q = Question(key="_review", type="single", text="", section="", number=0,
                        choices=(ChoiceDef(SUBMIT_ID, d.say("review_submit")), ChoiceDef(EDIT_ID, d.say("review_edit"))))
    parsed = parse_single(review_q, text=text, choice=choice if isinstance(choice, str) else None)
    if isinstance(parsed, Accepted) and parsed.value == SUBMIT_ID:
        return _submit(flow, state, env, [], [])
    if isinstance(parsed, Accepted):
        return _command(flow, state, env, "edit", "")  # type: ignore[return-value]
    return _reject(flow, state, env, Rejected("invalid_choice", {"count": 2}))
