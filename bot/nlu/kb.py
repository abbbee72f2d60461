"""The knowledge base: official questions and answers, imported from JSONL, CSV or XLSX into ``kb_entries``.

Entries are stored exactly as officials wrote them (no paraphrases are expected or generated).
Importing again updates by ``id``; an entry without an id gets one derived from its folded question,
so re-importing the same question updates it too. A file with any error imports nothing, and every
error names the file, the line (row) and the field.

Accepted columns (case-insensitive; Vietnamese headers too): ``question`` (câu hỏi), ``answer``
(trả lời), optional ``id`` (mã), ``topic`` or ``procedure`` (chủ đề, lĩnh vực, thủ tục), ``unit``
(đơn vị, cơ quan), ``source`` (nguồn, căn cứ). Other columns are ignored.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ..store.db import upsert
from ..store.tables import kb_entries
from ..text import clean, fold

MAX_QUESTION = 2000
MAX_ANSWER = 20000
MAX_ID, MAX_TOPIC, MAX_UNIT, MAX_SOURCE = 100, 80, 40, 2000
_ID = re.compile(r"^[\w.:/-]+$", re.UNICODE)
_CHUNK = 500

# folded header → field
_HEADERS = {
    "id": "id", "ma": "id", "ma cau hoi": "id", "stt": "id",
    "question": "question", "cau hoi": "question", "hoi": "question",
    "answer": "answer", "tra loi": "answer", "cau tra loi": "answer", "dap": "answer",
    "topic": "topic", "chu de": "topic", "linh vuc": "topic",
    "procedure": "procedure", "thu tuc": "procedure", "thu tuc hanh chinh": "procedure",
    "unit": "unit", "unit code": "unit", "unit_code": "unit", "don vi": "unit", "co quan": "unit",
    "source": "source", "nguon": "source", "can cu": "source", "can cu phap ly": "source",
}


@dataclass(frozen=True)
class KbEntry:
    id: str
    question: str
    answer: str
    topic: str | None = None
    unit: str | None = None
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "answer": self.answer, "topic": self.topic,
                "unit": self.unit, "source": self.source}


class KbImportError(ValueError):
    """Every problem found in a file; nothing was imported."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    total: int
    inserted: int
    updated: int
    unchanged: int
    deleted: int

    def summary(self) -> str:
        return (f"{self.total} entries: {self.inserted} new, {self.updated} updated, {self.unchanged} unchanged"
                + (f", {self.deleted} removed" if self.deleted else ""))


def derived_id(question: str) -> str:
    return "q-" + hashlib.sha1(fold(question).encode()).hexdigest()[:12]


# ---------------------------------------------------------------- reading files

def read_entries(path: Path) -> list[KbEntry]:
    """Parse and check a JSONL, CSV/TSV or XLSX file; raises :class:`KbImportError` listing every error."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise KbImportError([f"{path}: no such file"])
    if suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    elif suffix in (".csv", ".tsv", ".txt"):
        rows = _csv_rows(path, tab=suffix == ".tsv")
    elif suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    else:
        raise KbImportError([f"{path}: unknown format {suffix or '(no extension)'}: use .jsonl, .csv or .xlsx"])
    return _check(path, rows)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    raw = path.read_bytes()
    text = _decode(path, raw)
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield n, f"not valid JSON ({e.msg} at column {e.colno})"
            continue
        if not isinstance(obj, dict):
            yield n, "expected a JSON object {\"question\": ..., \"answer\": ...}"
            continue
        yield n, {_field(k): v for k, v in obj.items()}


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise KbImportError([f"{path}:{line}: not UTF-8 text (save the file as UTF-8)"]) from None


def _field(header: object) -> str:
    h = fold(str(header or "")).strip()
    return _HEADERS.get(h, _HEADERS.get(h.replace(" ", "_"), h))


def _csv_rows(path: Path, *, tab: bool) -> Iterator[tuple[int, dict[str, Any] | str]]:
    text = _decode(path, path.read_bytes())
    first = text.split("\n", 1)[0]
    delimiter = "\t" if tab else max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if not any(c.strip() for c in row):
                continue
            if header is None:
                header = [_field(h) for h in row]
                missing = [f for f in ("question", "answer") if f not in header]
                if missing:
                    yield start, f"the header row has no {' and no '.join(missing)} column (found: {', '.join(row)})"
                    return
                continue
            if len(row) > len(header):
                yield start, f"{len(row)} values but the header has {len(header)} columns"
                continue
            yield start, dict(zip(header, row))
    except csv.Error as e:
        yield last + 1, f"CSV error: {e}"
    if header is None:
        yield 1, "empty file: expected a header row with question and answer"


def _cell(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


def _xlsx_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:
        yield 1, f"not a readable XLSX workbook ({type(e).__name__}: {e})"
        return
    try:
        ws = wb.worksheets[0]
        header: list[str] | None = None
        for n, row in enumerate(ws.iter_rows(values_only=True), 1):
            if not any(c is not None and str(c).strip() for c in row):
                continue
            if header is None:
                header = [_field(h) for h in row]
                missing = [f for f in ("question", "answer") if f not in header]
                if missing:
                    yield n, f"the header row has no {' and no '.join(missing)} column"
                    return
                continue
            yield n, {h: _cell(v) for h, v in zip(header, row) if h}
        if header is None:
            yield 1, "empty sheet: expected a header row with question and answer"
    finally:
        wb.close()


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> tuple[str | None, str | None]:
    """(value, error)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, (f"'{name}' is missing or empty" if required else None)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None, f"'{name}' must be text, not {type(value).__name__}"
    s = clean(str(_cell(value)))
    if len(s) > limit:
        return None, f"'{name}' is {len(s)} characters long (at most {limit})"
    return s, None


def _check(path: Path, rows: Iterable[tuple[int, dict[str, Any] | str]]) -> list[KbEntry]:
    errors: list[str] = []
    entries: list[KbEntry] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        where = f"{path}:{line}"
        if isinstance(row, str):
            errors.append(f"{where}: {row}")
            continue
        problems: list[str] = []
        q, e = _text(row.get("question"), "question", MAX_QUESTION, required=True)
        problems += [e] if e else []
        a, e = _text(row.get("answer"), "answer", MAX_ANSWER, required=True)
        problems += [e] if e else []
        topic, e = _text(row.get("topic") if row.get("topic") not in (None, "") else row.get("procedure"),
                         "topic", MAX_TOPIC)
        problems += [e] if e else []
        unit, e = _text(row.get("unit"), "unit", MAX_UNIT)
        problems += [e] if e else []
        source, e = _text(row.get("source"), "source", MAX_SOURCE)
        problems += [e] if e else []
        id_, e = _text(row.get("id"), "id", MAX_ID)
        problems += [e] if e else []
        if id_ is not None and not _ID.match(id_):
            problems.append(f"'id' {id_!r} may hold only letters, digits and . _ : / -")
        if problems:
            errors.extend(f"{where}: {p}" for p in problems)
            continue
        assert q is not None and a is not None
        id_ = id_ or derived_id(q)
        if id_ in seen:
            errors.append(f"{where}: id {id_!r} is already used on line {seen[id_]}"
                          + (" (same question)" if id_.startswith("q-") and not row.get("id") else ""))
            continue
        seen[id_] = line
        entries.append(KbEntry(id=id_, question=q, answer=a, topic=topic, unit=unit, source=source))
    if errors:
        raise KbImportError(errors)
    if not entries:
        raise KbImportError([f"{path}: no entries"])
    return entries


# ---------------------------------------------------------------- the database

def _row(e: KbEntry) -> dict[str, Any]:
    return {"id": e.id, "question": e.question, "answer": e.answer, "topic": e.topic, "unit_code": e.unit,
            "source": e.source}


_COMPARED = ("question", "answer", "topic", "unit_code", "source")


async def store_entries(engine: AsyncEngine, entries: list[KbEntry], *, replace: bool = False) -> ImportResult:
    """Insert or update ``entries`` by id in one transaction; ``replace`` also removes entries not listed."""
    now = datetime.now(timezone.utc)
    dialect = engine.dialect.name
    inserted = updated = unchanged = deleted = 0
    async with engine.begin() as conn:
        existing = {r.id: r for r in (await conn.execute(
            select(kb_entries.c.id, *(kb_entries.c[c] for c in _COMPARED)))).all()}
        changed: list[dict[str, Any]] = []
        for e in entries:
            row = _row(e)
            old = existing.get(e.id)
            if old is None:
                inserted += 1
            elif all(getattr(old, c) == row[c] for c in _COMPARED):
                unchanged += 1
                continue
            else:
                updated += 1
            changed.append({**row, "created_at": now, "updated_at": now})
        for i in range(0, len(changed), _CHUNK):
            await conn.execute(upsert(dialect, kb_entries, changed[i:i + _CHUNK], ["id"],
                                      update=[*_COMPARED, "updated_at"]))
        if replace:
            gone = sorted(set(existing) - {e.id for e in entries})
            for i in range(0, len(gone), _CHUNK):
                await conn.execute(delete(kb_entries).where(kb_entries.c.id.in_(gone[i:i + _CHUNK])))
            deleted = len(gone)
    return ImportResult(total=len(entries), inserted=inserted, updated=updated, unchanged=unchanged, deleted=deleted)


async def import_file(engine: AsyncEngine, path: Path, *, replace: bool = False) -> ImportResult:
    return await store_entries(engine, read_entries(path), replace=replace)


async def load_entries(engine: AsyncEngine) -> list[KbEntry]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(kb_entries).order_by(kb_entries.c.id))).all()
    return [KbEntry(id=r.id, question=r.question, answer=r.answer, topic=r.topic, unit=r.unit_code, source=r.source)
            for r in rows]


async def kb_version(engine: AsyncEngine) -> tuple[int, str]:
    """(number of entries, last change): cheap to poll, changes whenever an import changes anything."""
    async with engine.connect() as conn:
        n, last = (await conn.execute(select(func.count(), func.max(kb_entries.c.updated_at)))).one()
    return int(n), str(last)
