"""Response exports for analysts: CSV (Excel-friendly), XLSX with a codebook, Parquet.

Streams chunks of responses, so a national round exports in constant memory, and writes to a
temporary file renamed at the end, so a failure never leaves a half-written file that looks
complete. Spreadsheet cells that Excel would run as formulas are neutralised.
"""
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from ..flows import Flow, Question
from ..flows.model import other_key
from ..store.db import create_engine_sync
from .privacy import masking_for
from .frame import CHUNK_SIZE, DISPOSITIONS, PERIOD_TZ, answer_column, flow_versions, iter_frames, result_keys

FORMATS = ("csv", "xlsx", "parquet")
EXPORT_META = ("response_id", "respondent", "channel", "unit", "flow_version", "disposition", "started_at", "completed_at")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELL = 32_767
MULTI_SEPARATOR = ";"
CODEBOOK_HEADER = ("result key", "question number", "question text", "type", "choice id", "choice label")


# --- columns ------------------------------------------------------------------------------------

def _defining_question(versions: list[Flow], key: str) -> tuple[Question | None, bool]:
    """The question behind a result key in the newest version that has it; True if ``key`` is the
    "other, please specify" text of that question."""
    for f in versions:
        if f.has_question(key):
            return f.question(key), False
        for q in f.questions:
            if other_key(q.key) == key:
                return q, True
    return None, False


def _kinds(versions: list[Flow], keys: list[str]) -> dict[str, str]:
    """number | multi | text per result key: decides cell types and the Parquet schema."""
    out: dict[str, str] = {}
    for k in keys:
        q, is_other = _defining_question(versions, k)
        out[k] = "text" if q is None or is_other else ("number" if q.type == "number" else
                                                       "multi" if q.type == "multi" else "text")
    return out


def guard_formula(s: pd.Series) -> pd.Series:
    """Prefix text cells starting with = + - @ tab or CR with ' so a spreadsheet shows them instead
    of running them (CSV/formula injection); numbers are left alone."""
    codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)  # each distinct value once
    risky_u = np.fromiter((isinstance(v, str) and v.startswith(FORMULA_PREFIXES) for v in uniques),
                          dtype=bool, count=len(uniques))
    if not risky_u.any():
        return s
    risky = np.append(risky_u, False)[codes]
    s = s.copy()
    s[risky] = "'" + s[risky]
    return s


def _join_multi(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return MULTI_SEPARATOR.join(str(x) for x in v)
    return v


def _answer_cells(chunk: pd.DataFrame, keys: list[str], kinds: dict[str, str], *, numbers: bool) -> dict[str, pd.Series]:
    """Answer columns as export values: lists joined with ';'; with ``numbers`` the number
    questions are coerced to float (for a typed Parquet column), otherwise left as stored."""
    cols: dict[str, pd.Series] = {}
    for k in keys:
        s = chunk[answer_column(k)]
        if kinds[k] == "number" and numbers:
            s = pd.to_numeric(s, errors="coerce").astype(float)
        elif kinds[k] == "multi":
            s = s.map(_join_multi)
        cols[answer_column(k)] = s
    return cols


def _local_naive(ts: pd.Series) -> pd.Series:
    """UTC timestamps as Vietnam wall-clock time (what officials expect to read in a sheet)."""
    return ts.dt.tz_convert(PERIOD_TZ).dt.tz_localize(None)


def _sheet_frame(chunk: pd.DataFrame, keys: list[str], kinds: dict[str, str], *, dates_as: str) -> pd.DataFrame:
    """A chunk as spreadsheet cells (CSV/XLSX): guarded text, numbers as numbers, None for empty."""
    out = pd.DataFrame({c: chunk[c] for c in EXPORT_META})
    out["flow_version"] = out["flow_version"].astype(object)
    for c in ("started_at", "completed_at"):
        local = _local_naive(chunk[c])
        out[c] = local.dt.strftime("%Y-%m-%d %H:%M:%S") if dates_as == "text" else local.astype(object)
    for name, s in _answer_cells(chunk, keys, kinds, numbers=False).items():
        out[name] = s
    out = out.astype(object)
    out = out.where(out.notna(), None)
    for c in out.columns:
        out[c] = guard_formula(out[c])
    return out


def _rows(df: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    return df.itertuples(index=False, name=None)


# --- codebook -----------------------------------------------------------------------------------

def codebook_rows(versions: list[Flow], keys: list[str]) -> list[tuple[Any, ...]]:
    """One row per choice (or per question without choices): what every column and code means."""
    rows: list[tuple[Any, ...]] = []
    for k in keys:
        q, is_other = _defining_question(versions, k)
        col = answer_column(k)
        if q is None:
            rows.append((col, None, None, None, None, None))
        elif is_other:
            rows.append((col, q.number, f"{q.text} (nội dung ghi rõ cho lựa chọn “khác”)", "text", None, None))
        elif q.choices:
            rows.extend((col, q.number, q.text, q.type, c.id, c.label) for c in q.choices)
        else:
            rows.append((col, q.number, q.text, q.type, None, None))
    return rows


# --- writers ------------------------------------------------------------------------------------

Chunks = Iterable[pd.DataFrame]


def _write_csv(path: Path, chunks: Chunks, keys: list[str], kinds: dict[str, str], versions: list[Flow]) -> int:
    n = 0
    header = list(EXPORT_META) + [answer_column(k) for k in keys]
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:  # the BOM makes Excel read UTF-8
        w = csv.writer(fh)
        w.writerow(header)
        for chunk in chunks:
            w.writerows(_rows(_sheet_frame(chunk, keys, kinds, dates_as="text")))
            n += len(chunk)
    return n


def _xlsx_clean(df: pd.DataFrame) -> pd.DataFrame:
    """Strip control characters openpyxl refuses and cut text to Excel's cell limit."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean(v: Any) -> Any:
        return ILLEGAL_CHARACTERS_RE.sub("", v)[:XLSX_MAX_CELL] if isinstance(v, str) else v

    for c in df.columns:
        codes, uniques = pd.factorize(df[c].to_numpy(dtype=object), use_na_sentinel=True)
        cleaned = np.empty(len(uniques) + 1, dtype=object)
        cleaned[:] = None
        changed = np.zeros(len(uniques) + 1, dtype=bool)
        for i, v in enumerate(uniques):  # each distinct value once
            cleaned[i] = clean(v)
            changed[i] = cleaned[i] is not v and cleaned[i] != v
        if changed.any():
            mask = changed[codes]
            s = df[c].copy()
            s[mask] = cleaned[codes][mask]
            df[c] = s
    return df


def _write_xlsx(path: Path, chunks: Chunks, keys: list[str], kinds: dict[str, str], versions: list[Flow]) -> int:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("responses")
    ws.append(list(EXPORT_META) + [answer_column(k) for k in keys])
    n = 0
    for chunk in chunks:
        if n + len(chunk) > XLSX_MAX_ROWS - 1:
            raise ValueError(f"more than {XLSX_MAX_ROWS - 1:,} responses do not fit in one Excel sheet: "
                             "export csv or parquet, or narrow --unit/--period")
        for row in _rows(_xlsx_clean(_sheet_frame(chunk, keys, kinds, dates_as="datetime"))):
            ws.append(row)
        n += len(chunk)
    cb = wb.create_sheet("codebook")
    cb.append(list(CODEBOOK_HEADER))
    book = pd.DataFrame(codebook_rows(versions, keys), columns=list(CODEBOOK_HEADER), dtype=object)
    book = book.where(book.notna(), None)
    for c in book.columns:
        book[c] = guard_formula(book[c])
    for row in _rows(_xlsx_clean(book)):
        cb.append(row)
    wb.save(path)
    return n


def _parquet_schema(keys: list[str], kinds: dict[str, str]) -> pa.Schema:
    ts = pa.timestamp("us", tz="UTC")
    fields = [pa.field("response_id", pa.string()), pa.field("respondent", pa.string()),
              pa.field("channel", pa.string()), pa.field("unit", pa.string()), pa.field("flow_version", pa.int64()),
              pa.field("disposition", pa.string()), pa.field("started_at", ts), pa.field("completed_at", ts)]
    fields += [pa.field(answer_column(k), pa.float64() if kinds[k] == "number" else pa.string()) for k in keys]
    return pa.schema(fields)


def _as_text(s: pd.Series) -> pd.Series:
    return s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else
                 v if isinstance(v, str) else str(v))


def _write_parquet(path: Path, chunks: Chunks, keys: list[str], kinds: dict[str, str], versions: list[Flow]) -> int:
    schema = _parquet_schema(keys, kinds)
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for chunk in chunks:
            cols: dict[str, Any] = {c: chunk[c] for c in EXPORT_META}
            cols.update(_answer_cells(chunk, keys, kinds, numbers=True))
            arrays = []
            for field in schema:
                s = cols[field.name]
                if pa.types.is_string(field.type):
                    s = _as_text(s.astype(object))
                arrays.append(pa.array(s, type=field.type, from_pandas=True))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            n += len(chunk)
    return n


WRITERS: dict[str, Callable[[Path, Chunks, list[str], dict[str, str], list[Flow]], int]] = {
    "csv": _write_csv, "xlsx": _write_xlsx, "parquet": _write_parquet}


def export_responses(database_url: str | Engine, flow_id: str, fmt: str, out_path: str | Path, *,
                     unit: str | None = None, period: str | None = None,
                     dispositions: Iterable[str] | None = None, chunk_size: int = CHUNK_SIZE,
                     include_personal: bool = False, pseudonym_key: bytes | None = None) -> int:
    """Write one row per response (all dispositions unless given; never previews) and return the
    number of rows. Columns: EXPORT_META, then one per result key of every stored version (newest
    first; a key named like a metadata column gets ``_answer`` appended). Times are Vietnam local
    time in CSV/XLSX and UTC instants in Parquet. ValueError for a bad format, flow or period.

    Unless ``include_personal`` (roles allowed to see personal data), phone and name-like answers
    are replaced by pseudonyms keyed with ``pseudonym_key`` (random per export when None, so two
    exports cannot be joined on them) and phone numbers / e-mails in free text are blanked."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")
    out = Path(out_path)
    if not out.parent.is_dir():
        raise ValueError(f"folder {out.parent} does not exist")
    engine = create_engine_sync(database_url) if isinstance(database_url, str) else database_url
    try:
        with engine.connect() as conn:
            versions = flow_versions(conn, flow_id)
        keys = result_keys(versions)
        kinds = _kinds(versions, keys)
        chunks = iter_frames(engine, flow_id, chunk_size=chunk_size, unit=unit, period=period,
                             dispositions=DISPOSITIONS if dispositions is None else dispositions)
        if not include_personal:
            masking = masking_for(versions, keys, pseudonym_key)
            chunks = (masking.apply(c) for c in chunks)
        fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            n = WRITERS[fmt](tmp, chunks, keys, kinds, versions)
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return n
    finally:
        if isinstance(database_url, str):
            engine.dispose()
