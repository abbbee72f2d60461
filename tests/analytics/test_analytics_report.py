"""The period report an official opens: self-contained HTML with charts, a PDF, an XLSX."""
from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.analytics.report import render_report
from bot.cli import main


def test_report_in_three_formats(round_url: str, tmp_path: Path) -> None:
    paths = render_report(round_url, "sipas", period="2024", previous="2024-Q1", out_dir=tmp_path / "r")
    assert [p.name for p in paths] == ["sipas_2024.html", "sipas_2024.pdf", "sipas_2024.xlsx"]
    page = paths[0].read_text(encoding="utf-8")
    assert page.count("<svg") == 4  # ranking, profile, change, participation
    assert "<script" not in page and "src=" not in page and "<link" not in page  # nothing fetched
    assert "Xếp hạng đơn vị" in page and "Chỉ số SIPAS" in page and "69.33" in page
    assert "50.37–88.30" in page  # the headline's interval
    assert paths[1].read_bytes().startswith(b"%PDF")
    wb = load_workbook(paths[2])
    rows = {r[0]: r for r in wb["chi_so"].iter_rows(min_row=2, values_only=True)}
    # now (2024): e1 60.00; before (2024-Q1: s1 5, s2 4): e1 100 -> −40 points
    assert rows["e1"][2] == 60.0 and rows["e1"][6] == 100.0 and rows["e1"][7] == -40.0
    assert rows["sipas"][3:5] == (50.37, 88.3)
    ranking = list(wb["don_vi"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[3]) for r in ranking] == [(1, "79", 3), (2, "01", 3)]  # 73.33 before 63.33


def test_report_cli(round_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HAILONG_DATABASE_URL", round_url)
    assert main(["report", "sipas", "--period", "2024-Q2", "--out", str(tmp_path), "--format", "html"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "sipas_2024-Q2.html")
    assert main(["report", "sipas", "--period", "2024", "--out", str(tmp_path), "--format", "docx"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown report format docx")
    assert main(["report", "sipas", "--period", "whenever", "--out", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == [tmp_path / "sipas_2024-Q2.html"]
