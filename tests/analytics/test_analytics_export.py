"""Exports officials open in Excel: Vietnamese intact, no formula runs, nothing half-written."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from bot.analytics import export_responses
from bot.analytics import export as export_mod

ALL_ROWS = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s9"]  # every disposition, never the preview s8


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8"), newline="")))


def test_csv(round_url: str, tmp_path: Path) -> None:
    out = tmp_path / "sipas.csv"
    assert export_responses(round_url, "sipas", "csv", out, chunk_size=3) == 8
    rows = read_csv(out)
    assert [r["response_id"] for r in rows] == ALL_ROWS
    by_id = {r["response_id"]: r for r in rows}
    s1, s3 = by_id["s1"], by_id["s3"]
    assert list(rows[0])[:8] == ["response_id", "respondent", "channel", "unit", "flow_version", "disposition",
                                 "started_at", "completed_at"]
    assert "invitation" not in rows[0] and "preview" not in rows[0]
    assert s1["service_used_other"] == "'=HYPERLINK(\"http://evil.example\",\"bấm vào\")"  # not run by Excel
    assert by_id["s5"]["service_used_other"] == "'- thủ tục khác"
    assert s3["service_used_other"] == "Cấp đổi giấy phép lái xe"
    assert s1["expectations"] == "info;simpler" and s3["expectations"] == "faster;fees;attitude"
    assert s1["trips"] == "2" and s1["flow_version"] == "1"  # numbers stay numbers
    assert s1["completed_at"] == "2024-02-10 09:00:00"  # Vietnam time
    assert by_id["s6"]["completed_at"] == "2024-10-01 01:30:00"
    assert by_id["s7"]["disposition"] == "partial" and by_id["s7"]["completed_at"] == ""
    assert by_id["s9"]["disposition"] == "refused" and by_id["s9"]["e1_satisfaction"] == ""


def test_csv_filters(round_url: str, tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    assert export_responses(round_url, "sipas", "csv", out, unit="79") == 3
    assert export_responses(round_url, "sipas", "csv", out, dispositions=["completed"], period="2024-Q1") == 2
    assert [r["response_id"] for r in read_csv(out)] == ["s1", "s2"]


def test_xlsx_has_codebook_and_guarded_cells(round_url: str, tmp_path: Path) -> None:
    out = tmp_path / "sipas.xlsx"
    assert export_responses(round_url, "sipas", "xlsx", out) == 8
    wb = load_workbook(out)
    assert wb.sheetnames == ["responses", "codebook"]
    ws = wb["responses"]
    header = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert list(rows) == ALL_ROWS
    cell = ws.cell(row=2, column=header.index("service_used_other") + 1)
    assert cell.data_type == "s" and cell.value.startswith("'=HYPERLINK")
    assert rows["s1"]["expectations"] == "info;simpler" and rows["s1"]["trips"] == 2
    assert rows["s3"]["service_used_other"] == "Cấp đổi giấy phép lái xe"
    assert rows["s1"]["completed_at"].isoformat() == "2024-02-10T09:00:00"
    book = list(wb["codebook"].iter_rows(values_only=True))
    assert book[0] == ("result key", "question number", "question text", "type", "choice id", "choice label")
    e1_zero = [r for r in book if r[0] == "e1_satisfaction" and r[4] == "0"]
    assert len(e1_zero) == 1 and e1_zero[0][3] == "scale" and e1_zero[0][5].startswith("Không biết")
    assert any(r[0] == "service_used_other" for r in book) and any(r[0] == "trips" and r[4] is None for r in book)


def test_parquet_reads_back(round_url: str, tmp_path: Path) -> None:
    out = tmp_path / "sipas.parquet"
    assert export_responses(round_url, "sipas", "parquet", out, chunk_size=5) == 8
    t = pq.read_table(out)
    assert t.num_rows == 8
    assert t.schema.field("trips").type == pa.float64()
    assert t.schema.field("e1_satisfaction").type == pa.string()
    rows = {r["response_id"]: r for r in t.to_pylist()}
    assert rows["s1"]["expectations"] == "info;simpler" and rows["s1"]["trips"] == 2.0
    assert rows["s1"]["service_used_other"].startswith("=HYPERLINK")  # not a spreadsheet: raw value
    assert rows["s3"]["service_used_other"] == "Cấp đổi giấy phép lái xe"
    assert rows["s7"]["completed_at"] is None


def test_empty_export_still_has_columns(round_url: str, tmp_path: Path) -> None:
    out = tmp_path / "none.parquet"
    assert export_responses(round_url, "sipas", "parquet", out, period="2020") == 0
    assert pq.read_table(out).num_rows == 0 and "e1_satisfaction" in pq.read_schema(out).names


def test_failure_leaves_no_file(round_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: Path, chunks, *args) -> int:  # type: ignore[no-untyped-def]
        path.write_text("half")
        raise RuntimeError("disk full")

    monkeypatch.setitem(export_mod.WRITERS, "csv", broken)
    with pytest.raises(RuntimeError):
        export_responses(round_url, "sipas", "csv", tmp_path / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(round_url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        export_responses(round_url, "sipas", "json", tmp_path / "x.json")
    with pytest.raises(ValueError, match="no flow named nope"):
        export_responses(round_url, "nope", "csv", tmp_path / "x.csv")
    with pytest.raises(ValueError, match="period"):
        export_responses(round_url, "sipas", "csv", tmp_path / "x.csv", period="soon")
    assert list(tmp_path.iterdir()) == []
