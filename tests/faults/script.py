"""What a simulated respondent will send, worked out in advance with the pure flow engine.

Platform users cannot read the bot's replies synchronously (they arrive later through the outbox),
so their messages are planned up front: the engine is a pure step function, so running it on the
same flow with the same inputs gives exactly the questions the server will ask, and therefore the
answers the database must end up holding. Web chat respondents answer interactively instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.dialogues import load_dialogues
from bot.flows import Env, Flow, load_flow_file, start, step
from bot.settings import REPO_ROOT
from bot.units import UnitCatalogue
from webchat.driver import is_review, plan

SUBMIT = "_submit"


@dataclass(frozen=True)
class Turn:
    """One message: ``text`` or ``choice`` (a choice id), and how many bot messages answer it."""

    text: str | None = None
    choice: str | None = None
    replies: int = 0


@dataclass
class Script:
    turns: list[Turn] = field(default_factory=list)
    answers: dict[str, Any] = field(default_factory=dict)  # what the answers table must hold
    completed: bool = False


@lru_cache(maxsize=None)
def _env_parts() -> tuple[Any, Any]:
    return load_dialogues(REPO_ROOT / "dialogues"), UnitCatalogue.load(REPO_ROOT / "data" / "units")


@lru_cache(maxsize=None)
def _flow(flow_id: str) -> Flow:
    return load_flow_file(REPO_ROOT / "survey_flows" / f"{flow_id}.yaml")


def survey(flow_id: str = "sipas", *, answers: int | None = None, submit: bool = True) -> Script:
    """A script that opens ``flow_id`` by typing its id, consents, answers ``answers`` questions
    (all when None) and submits. Multi-choice questions are answered in typed form ("1, 3"), the way
    a platform user without checkboxes does."""
    dialogues, units = _env_parts()
    env = Env(dialogues, units)
    flow = _flow(flow_id)
    result = start(flow, env)
    script = Script([Turn(text=flow_id, replies=len(result.outbounds))])
    state, last = result.state, result.outbounds[-1].to_json()
    result = step(flow, state, env, choice="yes")  # consent
    script.turns.append(Turn(choice="yes", replies=len(result.outbounds)))
    state, last = result.state, result.outbounds[-1].to_json()
    answered: dict[str, Any] = {}
    n = 0
    while state.status == "in_progress" and state.current is not None and state.stage in ("question", "other"):
        if answers is not None and n >= answers:
            return _finish(script, answered)
        turn = n if last["input"]["type"] != "multi" else 2 * n + 1
        body, key, value = plan(last, state.current, turn, answered, yes_no="no")
        choice = body.get("choice")
        if isinstance(choice, list):  # not reached: multi is typed (odd turn)
            raise AssertionError(choice)
        result = step(flow, state, env, text=body.get("text"), choice=choice)
        assert result.state.fails == 0, (state.current, body, [o.text for o in result.outbounds])
        answered[key] = value
        script.turns.append(Turn(text=body.get("text"), choice=choice, replies=len(result.outbounds)))
        state, n = result.state, n + 1
        last = result.outbounds[-1].to_json()
    assert is_review(last), last
    if submit:
        result = step(flow, state, env, choice=SUBMIT)
        assert result.state.status == "completed"
        script.turns.append(Turn(choice=SUBMIT, replies=len(result.outbounds)))
        script.completed = True
    return _finish(script, answered)


def _finish(script: Script, answered: dict[str, Any]) -> Script:
    script.answers = dict(answered)
    return script
