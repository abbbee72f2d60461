"""Answer parsing: one pure function per question type, from what a person typed or tapped to a
stored value, or a rejection with the reason to explain. A rejection is a normal outcome."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from typing import Any, Callable, Protocol

from rapidfuzz import fuzz, process

from ..text import clean, expand, fold, lower, number_word, strip_ordinal_prefix
from .model import SKIP_CHOICE_ID, ChoiceDef, Question

FUZZY_MIN = 85.0
FUZZY_MARGIN = 6.0


@dataclass(frozen=True)
class Accepted:
    value: Any
    # set when the chosen option wants "please specify"
    needs_other_text: bool = False


@dataclass(frozen=True)
class Rejected:
    reason: str  # a dialogue key, e.g. "invalid_choice"
    params: dict[str, Any] | None = None


ParseResult = Accepted | Rejected


class UnitLookup(Protocol):
    def find(self, text: str, kinds: tuple[str, ...], on: date) -> list[tuple[str, str, float]]:
        """Best (code, name, score) candidates for what was typed."""


SKIP_WORDS = frozenset({"bo qua", "khong tra loi", "skip", "bo", "qua", "khong biet", "kb", "ko biet", "k biet"})


def _match_choice(q: Question, raw: str, choices: tuple[ChoiceDef, ...]) -> ChoiceDef | None:
    text = clean(raw)
    if not text:
        return None
    by_id = {c.id: c for c in choices}
    if text in by_id:
        return by_id[text]
    low = lower(text)
    folded = fold(text)
    number: int | None = None
    stripped = strip_ordinal_prefix(folded)
    if stripped.isascii() and stripped.isdigit() and len(stripped) < 7:
        number = int(stripped)
    # exact label with diacritics, then a correctly accented number word, then folded forms
    for c in choices:
        if lower(c.label) == low or (c.short and lower(c.short) == low):
            return c
    if number is not None and 1 <= number <= len(choices):
        return choices[number - 1]
    word = number_word(text, exact_diacritics=True)
    if word is not None and 1 <= word <= len(choices):
        return choices[word - 1]
    expanded = expand(folded)
    for c in choices:
        forms = _forms(c)
        if folded in forms or expanded in forms:
            return c
    word = number_word(stripped, exact_diacritics=False)
    if word is not None and 1 <= word <= len(choices):
        return choices[word - 1]
    if len(folded) < 3:
        return None
    names = {c.id: fold(c.label) for c in choices}
    best = process.extract(expanded, names, scorer=fuzz.ratio, limit=2)
    if best and best[0][1] >= FUZZY_MIN and (len(best) == 1 or best[0][1] - best[1][1] >= FUZZY_MARGIN):
        return by_id[best[0][2]]
    return None


@lru_cache(maxsize=8192)
def _forms(c: ChoiceDef) -> frozenset[str]:
    """Folded ways to name a choice: its label, short title, aliases, and each half of a
    "Không biết / Không trả lời" style label."""
    forms = {fold(c.label), *(fold(a) for a in c.aliases)}
    if c.short:
        forms.add(fold(c.short))
    for part in re.split(r"[/(),;]", c.label):
        if fold(part):
            forms.add(fold(part))
    return frozenset(forms)


def is_skip(q: Question, raw: str | None, choice: str | None = None) -> bool:
    if q.required:
        return False
    return choice == SKIP_CHOICE_ID or (raw is not None and fold(raw) in SKIP_WORDS)


def parse_single(q: Question, text: str | None, choice: str | None, **_: Any) -> ParseResult:
    raw = choice if choice is not None else (text or "")
    c = _match_choice(q, raw, q.choices)
    if c is None:
        return Rejected("invalid_choice", {"count": len(q.choices)})
    return Accepted(c.id, needs_other_text=c.other)


_SPLIT = re.compile(r"\s*(?:,|;|\+|&|/|\bva\b|\bvoi\b|\n)\s*")


def parse_multi(q: Question, text: str | None, choice: str | tuple[str, ...] | list[str] | None, **_: Any) -> ParseResult:
    if choice is not None:
        parts = list(choice) if isinstance(choice, (list, tuple)) else [p for p in str(choice).split(",")]
    else:
        raw = text or ""
        folded = fold(raw)
        # "1 3 5" or "1, 3 và 5"
        if re.fullmatch(r"[0-9\s,;.+&]+|[0-9\s,;.+&]*(?:\s*va\s*[0-9]+)", folded.replace("va", " va ")) and any(ch in "0123456789" for ch in folded):
            parts = re.findall(r"[0-9]+", folded)
        else:
            single = _match_choice(q, raw, q.choices)
            parts = [single.id] if single else [p for p in _SPLIT.split(folded) if p]
    chosen: list[ChoiceDef] = []
    for part in parts:
        c = _match_choice(q, str(part), q.choices)
        if c is None:
            return Rejected("invalid_multi", {"part": str(part)[:40], "count": len(q.choices)})
        if c not in chosen:
            chosen.append(c)
    if not chosen:
        return Rejected("invalid_multi", {"part": "", "count": len(q.choices)})
    if len(chosen) > 1 and any(c.exclusive or c.no_answer for c in chosen):
        return Rejected("exclusive_choice", {"label": next(c.label for c in chosen if c.exclusive or c.no_answer)})
    lo = q.min_choices or 1
    if len(chosen) < lo:
        return Rejected("too_few_choices", {"min": lo})
    if q.max_choices and len(chosen) > q.max_choices:
        return Rejected("too_many_choices", {"max": q.max_choices})
    order = {c.id: i for i, c in enumerate(q.choices)}
    ids = sorted((c.id for c in chosen), key=order.__getitem__)
    return Accepted(ids, needs_other_text=any(c.other for c in chosen))


_NUMBER = re.compile(r"^[+-]?\d{1,15}(?:[.,]\d{1,6})?$")


def parse_number(q: Question, text: str | None, **_: Any) -> ParseResult:
    raw = clean(text or "").replace(" ", "")
    value: float | None = None
    if _NUMBER.match(raw):
        value = float(raw.replace(",", "."))
    else:
        word = number_word(text or "", exact_diacritics=False)
        if word is not None:
            value = float(word)
    if value is None:
        return Rejected("invalid_number")
    if q.integer and value != int(value):
        return Rejected("not_integer")
    lo = q.min if isinstance(q.min, (int, float)) else None
    hi = q.max if isinstance(q.max, (int, float)) else None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return Rejected("number_out_of_range", {"min": _fmt(lo), "max": _fmt(hi)})
    return Accepted(int(value) if q.integer or value == int(value) else value)


def _fmt(n: float | int | None) -> str:
    if n is None:
        return ""
    return str(int(n)) if n == int(n) else str(n)


_DATE_DMY = re.compile(r"^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{2}|\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATE_WORDS = re.compile(r"^ngay (\d{1,2}) thang (\d{1,2}) nam (\d{4})$")


def _bound(value: Any, today: date) -> date | None:
    if value is None:
        return None
    return today if value == "today" else date.fromisoformat(str(value))


def parse_date(q: Question, text: str | None, today: date | None = None, **_: Any) -> ParseResult:
    today = today or date.today()
    raw = clean(text or "")
    folded = fold(raw)
    d: date | None = None
    try:
        if folded in ("hom nay", "today"):
            d = today
        elif folded in ("hom qua", "yesterday"):
            d = today - timedelta(days=1)
        elif m := _DATE_ISO.match(raw):
            d = date(int(m[1]), int(m[2]), int(m[3]))
        elif m := _DATE_DMY.match(raw):
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            d = date(year, int(m[2]), int(m[1]))
        elif m := _DATE_WORDS.match(folded):
            d = date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        d = None
    if d is None:
        return Rejected("invalid_date")
    lo, hi = _bound(q.min, today), _bound(q.max, today)
    if lo and d < lo:
        return Rejected("date_too_early", {"min": lo.strftime("%d/%m/%Y")})
    if hi and d > hi:
        return Rejected("date_too_late", {"max": hi.strftime("%d/%m/%Y")})
    return Accepted(d.isoformat())


def parse_text(q: Question, text: str | None, **_: Any) -> ParseResult:
    value = clean(text or "")
    if not value:
        return Rejected("empty_text")
    limit = q.max_length or 2000
    if len(value) > limit:
        return Rejected("text_too_long", {"max": limit})
    if q.min_length and len(value) < q.min_length:
        return Rejected("text_too_short", {"min": q.min_length})
    return Accepted(value)


_PHONE = re.compile(r"^(?:\+?84|0)(\d{9})$")


def parse_phone(q: Question, text: str | None, **_: Any) -> ParseResult:
    digits = re.sub(r"[\s.\-()]", "", clean(text or ""))
    m = _PHONE.match(digits)
    if not m or m[1][0] not in "35789":
        return Rejected("invalid_phone")
    return Accepted("0" + m[1])


def parse_unit(q: Question, text: str | None, choice: str | None = None, units: UnitLookup | None = None,
               today: date | None = None, **_: Any) -> ParseResult:
    if units is None:
        return Rejected("invalid_unit")
    raw = choice if choice is not None else (text or "")
    hits = units.find(raw, q.unit_kinds, today or date.today())
    if not hits:
        return Rejected("invalid_unit")
    if len(hits) == 1 or hits[0][2] - hits[1][2] >= FUZZY_MARGIN or hits[0][2] >= 99.5:
        return Accepted(hits[0][0])
    return Rejected("ambiguous_unit", {"candidates": [(code, name) for code, name, _ in hits[:5]]})


PARSERS: dict[str, Callable[..., ParseResult]] = {
    "single": parse_single, "scale": parse_single, "yes_no": parse_single, "multi": parse_multi,
    "number": parse_number, "date": parse_date, "text": parse_text, "phone": parse_phone, "unit": parse_unit,
}


def parse_answer(q: Question, *, text: str | None = None, choice: Any = None, units: UnitLookup | None = None,
                 today: date | None = None) -> ParseResult:
    if is_skip(q, text, choice if isinstance(choice, str) else None):
        return Accepted(None)
    if q.type not in ("single", "scale", "yes_no", "multi", "unit"):
        if choice is not None and text is None:
            text = choice if isinstance(choice, str) else ",".join(choice)
        choice = None
    elif q.type != "multi" and isinstance(choice, (list, tuple)):
        if len(choice) != 1:
            return Rejected("invalid_choice", {"count": len(q.choices)})
        choice = choice[0]
    return PARSERS[q.type](q, text=text, choice=choice, units=units, today=today)
