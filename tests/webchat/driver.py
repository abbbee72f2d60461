"""Answering a survey the way a respondent would, from nothing but the bot's last message.

Shared by the web chat API tests and the restart test: given the last message (its ``input``)
and the question key from ``flow_state``, pick what to send and what the stored answer must be.
"""
from __future__ import annotations

from typing import Any

SCALE_IDS = ["1", "2", "3", "4", "5", "0"]
SUBMIT_ID = "_submit"
NO_ANSWER_IDS = {"0", "_skip"}
# typed forms of a five-point satisfaction scale and the choice id each must be stored as
SCALE_TYPED = [("4", "4"), ("hai long", "4"), ("bốn", "4"), ("Rất hài lòng", "5"), ("chọn 3", "3"), ("bt", "3")]


def choice_ids(message: dict[str, Any]) -> list[str]:
    return [c["id"] for c in message["input"]["choices"]]


def is_review(message: dict[str, Any]) -> bool:
    return SUBMIT_ID in choice_ids(message)


def is_consent(message: dict[str, Any], flow_state: dict[str, Any]) -> bool:
    return flow_state["question"] is None and choice_ids(message) == ["yes", "no"]


def valid_choices(message: dict[str, Any]) -> list[str]:
    return [c["id"] for c in message["input"]["choices"]
            if c["id"] not in NO_ANSWER_IDS and not c["label"].startswith("Không biết")]


def plan(message: dict[str, Any], question: str, turn: int, answered: dict[str, Any], *,
         yes_no: str = "yes", typed_scale: bool = True) -> tuple[dict[str, Any], str, Any]:
    """(request body without cid, result key, value that must be stored) for the current question."""
    spec = message["input"]
    kind = spec["type"]
    if kind == "text" and question in answered:  # "please specify" after an "other" choice
        return {"text": "Thủ tục khác"}, f"{question}_other", "Thủ tục khác"
    if kind == "choice":
        ids = choice_ids(message)
        if ids[:len(SCALE_IDS)] == SCALE_IDS:
            forms = [(None, "1")] + (SCALE_TYPED if typed_scale else [])
            typed, value = forms[turn % len(forms)]
            return ({"choice": value} if typed is None else {"text": typed}), question, value
        if ids == ["yes", "no"]:
            return {"choice": yes_no}, question, yes_no
        first = valid_choices(message)[0]
        return {"choice": first}, question, first
    if kind == "multi":
        valid = valid_choices(message)
        if turn % 2:
            return {"text": "1, 3"}, question, [valid[0], valid[2]]
        return {"choice": valid[:2]}, question, valid[:2]
    if kind == "unit":
        return {"text": "ha noi"}, question, "p.ha_noi"
    if kind == "number":
        return {"text": "2"}, question, 2
    if kind == "date":
        return {"text": "25/11/2026"}, question, "2026-11-25"
    if kind == "phone":
        return {"text": "0912 345 678"}, question, "0912345678"
    if kind == "text":
        return {"text": "  Cần niêm yết rõ hơn.  "}, question, "Cần niêm yết rõ hơn."
    raise AssertionError(f"no way to answer input {spec!r} at {question!r}")
