"""Branching conditions (``when:``) evaluated against the answers given so far."""
from __future__ import annotations

from typing import Any, Mapping


def holds(cond: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    if not cond:
        return True
    if "all" in cond:
        return all(holds(c, answers) for c in cond["all"])
    if "any" in cond:
        return any(holds(c, answers) for c in cond["any"])
    if "not" in cond:
        return not holds(cond["not"], answers)
    key = cond["key"]
    answered = key in answers and answers[key] is not None
    value = answers.get(key)
    if "answered" in cond and answered != cond["answered"]:
        return False
    if not answered:
        return "answered" in cond and len(cond) == 2
    if "equals" in cond and str(value) != str(cond["equals"]):
        return False
    if "in" in cond and str(value) not in {str(v) for v in cond["in"]}:
        return False
    if "not_in" in cond and str(value) in {str(v) for v in cond["not_in"]}:
        return False
    if "includes" in cond and (not isinstance(value, list) or cond["includes"] not in value):
        return False
    for op, test in (("gte", lambda a, b: a >= b), ("lte", lambda a, b: a <= b)):
        if op in cond:
            try:
                if not test(float(value), float(cond[op])):
                    return False
            except (TypeError, ValueError):
                return False
    return True
