"""Reads flow YAML, checks it against the shipped JSON Schema and the rules a schema can't say,
and reports every problem with its file and line in words an official can act on."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from .model import ChoiceDef, ContextParam, Flow, FlowSettings, Question, Section

SCHEMA_PATH = Path(__file__).with_name("flow.schema.json")
YES_NO_CHOICES = (ChoiceDef("yes", "Có", aliases=("co", "dong y", "ok", "vang", "u", "uh", "y")),
                  ChoiceDef("no", "Không", aliases=("khong", "ko", "k", "n", "hong")))


@dataclass(frozen=True)
class FlowError:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class FlowInvalid(Exception):
    def __init__(self, errors: list[FlowError]):
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[path + (key,)] = k.start_mark.line + 1
            _lines(v, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _lines(v, path + (i,), out)


def _line_of(lines: dict[tuple[Any, ...], int], path: Iterable[Any]) -> int | None:
    p = tuple(path)
    while p not in lines and p:
        p = p[:-1]
    return lines.get(p)


def _plain(err: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in err.absolute_path) or "the file"
    v = err.validator
    if v == "required":
        missing = re.findall(r"'([^']+)' is a required property", err.message)
        return f"{where}: missing field '{missing[0] if missing else err.message}'"
    if v == "additionalProperties":
        extra = re.findall(r"'([^']+)'", err.message)
        return f"{where}: unknown field '{extra[0] if extra else '?'}' (check the spelling)"
    if v == "type":
        want = err.validator_value
        names = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
                 "array": "a list", "object": "a mapping of fields"}
        wanted = " or ".join(names.get(w, w) for w in (want if isinstance(want, list) else [want]))
        hint = " (put yes/no/on/off and numbers used as ids in quotes)" if "string" in str(want) else ""
        return f"{where}: expected {wanted}, found {err.instance!r}{hint}"
    if v == "enum":
        return f"{where}: {err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    if v == "pattern":
        return f"{where}: {err.instance!r} is not a valid id (lowercase letters, digits and _, starting with a letter)"
    if v in ("minItems", "minLength"):
        return f"{where}: must not be empty"
    if v == "maxLength":
        return f"{where}: longer than {err.validator_value} characters"
    if v == "oneOf" and err.validator_value and isinstance(err.instance, dict):
        return f"{where}: a condition needs exactly one of key, all, any, not"
    if v == "format":
        return f"{where}: {err.instance!r} is not a date like 2026-12-31"
    return f"{where}: {err.message}"


def load_flow_file(path: str | Path) -> Flow:
    path = Path(path)
    return load_flow_text(path.read_text(encoding="utf-8"), str(path))


def validate_flow_file(path: str | Path) -> list[FlowError]:
    try:
        load_flow_file(path)
    except FlowInvalid as e:
        return e.errors
    except (OSError, UnicodeDecodeError) as e:
        return [FlowError(str(path), None, f"cannot read the file: {e}")]
    return []


def load_flow_text(text: str, name: str = "<flow>") -> Flow:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        raise FlowInvalid([FlowError(name, mark.line + 1 if mark else None, f"not valid YAML: {problem}")]) from None
    if node is None or not isinstance(data, dict):
        raise FlowInvalid([FlowError(name, 1, "the file must be a mapping with id, version, title, sections…")])
    lines: dict[tuple[Any, ...], int] = {}
    _lines(node, (), lines)
    errors = [FlowError(name, _line_of(lines, e.absolute_path), _plain(e))
              for e in sorted(_validator().iter_errors(data), key=lambda e: (_line_of(lines, e.absolute_path) or 0))]
    if errors:
        raise FlowInvalid(errors)
    flow, problems = _build(data)
    if problems:
        raise FlowInvalid([FlowError(name, _line_of(lines, p), msg) for p, msg in problems])
    return flow


def _choices(raw: list[dict[str, Any]]) -> tuple[ChoiceDef, ...]:
    return tuple(ChoiceDef(id=c["id"], label=c["label"], short=c.get("short"), aliases=tuple(c.get("aliases", ())),
                           other=bool(c.get("other")), no_answer=bool(c.get("no_answer")),
                           exclusive=bool(c.get("exclusive"))) for c in raw)


def _condition_keys(cond: dict[str, Any]) -> Iterable[str]:
    if "key" in cond:
        yield cond["key"]
    for sub in cond.get("all", []) + cond.get("any", []):
        yield from _condition_keys(sub)
    if "not" in cond:
        yield from _condition_keys(cond["not"])


def _build(data: dict[str, Any]) -> tuple[Flow, list[tuple[tuple[Any, ...], str]]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    scales = {name: _choices(s["choices"]) for name, s in data.get("scales", {}).items()}
    questions: list[Question] = []
    sections: list[Section] = []
    seen: set[str] = set()
    section_ids = {s["id"] for s in data["sections"]}

    def check_when(cond: dict[str, Any] | None, path: tuple[Any, ...]) -> None:
        for key in _condition_keys(cond or {}):
            if key not in seen:
                problems.append((path, f"the condition refers to '{key}', which is not an earlier question"))

    for si, s in enumerate(data["sections"]):
        spath = ("sections", si)
        check_when(s.get("when"), spath + ("when",))
        keys = []
        for qi, q in enumerate(s["questions"]):
            qpath = spath + ("questions", qi)
            key = q["key"]
            if key in seen or key in section_ids:
                problems.append((qpath + ("key",), f"the key '{key}' is used twice; every result key must be unique"))
            check_when(q.get("when"), qpath + ("when",))
            qtype = q["type"]
            choices: tuple[ChoiceDef, ...] = ()
            if qtype == "scale" and "scale" in q:
                if q["scale"] not in scales:
                    problems.append((qpath + ("scale",), f"no scale named '{q['scale']}' under scales"))
                choices = scales.get(q["scale"], ())
            elif qtype == "yes_no":
                choices = YES_NO_CHOICES
            if "choices" in q:
                choices = _choices(q["choices"])
            ids = [c.id for c in choices]
            if len(set(ids)) != len(ids):
                problems.append((qpath, "two choices share the same id"))
            if qtype in ("number", "date"):
                lo, hi = q.get("min"), q.get("max")
                if qtype == "date":
                    for bound in ("min", "max"):
                        value = q.get(bound)
                        if value is not None and value != "today":
                            try:
                                date.fromisoformat(str(value))
                            except ValueError:
                                problems.append((qpath + (bound,), f"{bound} must be a date like 2026-12-31 or 'today'"))
                elif lo is not None and hi is not None and (not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)) or lo > hi):
                    problems.append((qpath, "min must be a number not above max"))
            if qtype == "multi" and q.get("min_choices") and q.get("max_choices") and q["min_choices"] > q["max_choices"]:
                problems.append((qpath, "min_choices is above max_choices"))
            questions.append(Question(
                key=key, type=qtype, text=q["text"], section=s["id"], number=len(questions) + 1, help=q.get("help"),
                required=q.get("required", True), when=q.get("when"), choices=choices, min=q.get("min"),
                max=q.get("max"), integer=bool(q.get("integer")), min_choices=q.get("min_choices"),
                max_choices=q.get("max_choices"), max_length=q.get("max_length"), min_length=q.get("min_length"),
                unit_kinds=tuple(q.get("unit_kinds", ("province",))),
            ))
            seen.add(key)
            keys.append(key)
        sections.append(Section(id=s["id"], title=s.get("title"), intro=s.get("intro"), when=s.get("when"), keys=tuple(keys)))

    by_key = {q.key: q for q in questions}
    index_names: set[str] = set()
    for ii, idx in enumerate(data.get("scoring", {}).get("indices", [])):
        ipath = ("scoring", "indices", ii)
        for key in idx.get("keys", []) + ([idx["key"]] if "key" in idx else []):
            if key not in by_key:
                problems.append((ipath, f"index '{idx['name']}' uses '{key}', which is not a question of this flow"))
        for ref in idx.get("of", []):
            if ref not in index_names:
                problems.append((ipath, f"index '{idx['name']}' uses index '{ref}', which is not defined before it"))
        if "weights" in idx and len(idx["weights"]) != len(idx.get("of", [])):
            problems.append((ipath, "weights must have one number per index in 'of'"))
        if idx["name"] in index_names:
            problems.append((ipath, f"index name '{idx['name']}' is used twice"))
        index_names.add(idx["name"])

    st = data.get("settings", {})
    consent = data.get("consent") or {}
    flow = Flow(
        id=data["id"], version=data["version"], title=data["title"], closing=data["closing"],
        questions=tuple(questions), sections=tuple(sections), description=data.get("description", ""),
        language=data.get("language", "vi"), intro=data.get("intro"), consent_text=consent.get("text"),
        consent_yes=consent.get("yes", "Đồng ý"), consent_no=consent.get("no", "Không đồng ý"),
        settings=FlowSettings(
            anonymous=st.get("anonymous", True), one_response_per=st.get("one_response_per", "none"),
            expires_after_days=st.get("expires_after_days"), opens_at=st.get("opens_at"),
            closes_at=st.get("closes_at"), review=st.get("review", True), listed=st.get("listed", True)),
        context=tuple(ContextParam(key=c["key"], label=c.get("label"), required=c.get("required", False),
                                   pattern=c.get("pattern")) for c in data.get("context", [])),
        scoring=tuple(data.get("scoring", {}).get("indices", [])),
        source=data,
    )
    return flow, problems


def flow_from_source(data: dict[str, Any]) -> Flow:
    """Rebuild a flow stored in the database (already validated when it was loaded)."""
    flow, problems = _build(data)
    if problems:
        raise FlowInvalid([FlowError(f"{data.get('id')}@{data.get('version')}", None, m) for _, m in problems])
    return flow
