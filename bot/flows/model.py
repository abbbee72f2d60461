"""A survey flow as immutable data. Built by the loader from YAML; read by the engine."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

QuestionType = Literal["single", "multi", "scale", "yes_no", "number", "date", "text", "phone", "unit"]
CHOICE_TYPES = frozenset({"single", "scale", "yes_no"})
SKIP_CHOICE_ID = "_skip"


@dataclass(frozen=True)
class ChoiceDef:
    id: str
    label: str
    short: str | None = None
    aliases: tuple[str, ...] = ()
    other: bool = False
    no_answer: bool = False
    exclusive: bool = False


@dataclass(frozen=True)
class Question:
    key: str
    type: QuestionType
    text: str
    section: str
    number: int  # 1-based position in the flow, shown to respondents ("sửa câu 3")
    help: str | None = None
    required: bool = True
    when: dict[str, Any] | None = None
    choices: tuple[ChoiceDef, ...] = ()
    min: float | str | None = None
    max: float | str | None = None
    integer: bool = False
    min_choices: int | None = None
    max_choices: int | None = None
    max_length: int | None = None
    min_length: int | None = None
    unit_kinds: tuple[str, ...] = ("province",)

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES or self.type == "multi"

    def choice(self, choice_id: str) -> ChoiceDef | None:
        for c in self.choices:
            if c.id == choice_id:
                return c
        return None


@dataclass(frozen=True)
class Section:
    id: str
    title: str | None
    intro: str | None
    when: dict[str, Any] | None
    keys: tuple[str, ...]


@dataclass(frozen=True)
class ContextParam:
    key: str
    label: str | None = None
    required: bool = False
    pattern: str | None = None


@dataclass(frozen=True)
class FlowSettings:
    anonymous: bool = True
    one_response_per: Literal["respondent", "invitation", "none"] = "none"
    expires_after_days: float | None = None
    opens_at: str | None = None
    closes_at: str | None = None
    review: bool = True
    listed: bool = True


@dataclass(frozen=True)
class Flow:
    id: str
    version: int
    title: str
    closing: str
    questions: tuple[Question, ...]
    sections: tuple[Section, ...]
    description: str = ""
    language: str = "vi"
    intro: str | None = None
    consent_text: str | None = None
    consent_yes: str = "Đồng ý"
    consent_no: str = "Không đồng ý"
    settings: FlowSettings = field(default_factory=FlowSettings)
    context: tuple[ContextParam, ...] = ()
    scoring: tuple[dict[str, Any], ...] = ()
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {q.key: q for q in self.questions})
        object.__setattr__(self, "_section_of", {s.id: s for s in self.sections})

    def question(self, key: str) -> Question:
        return self._by_key[key]  # type: ignore[attr-defined]

    def has_question(self, key: str) -> bool:
        return key in self._by_key  # type: ignore[attr-defined]

    def section(self, section_id: str) -> Section:
        return self._section_of[section_id]  # type: ignore[attr-defined]

    @property
    def result_keys(self) -> list[str]:
        """Export columns: every question key, plus ``<key>_other`` where an "other" choice exists."""
        keys: list[str] = []
        for q in self.questions:
            keys.append(q.key)
            if any(c.other for c in q.choices):
                keys.append(other_key(q.key))
        return keys


def other_key(key: str) -> str:
    return f"{key}_other"
