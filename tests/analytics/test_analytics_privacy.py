"""Exports hide personal data unless the reader's role allows it."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.analytics import export_responses
from bot.flows import load_flow_text
from bot.store.db import create_engine_sync

from analytics_fixtures import add_flow, add_response, vn

CALLBACK = """\
id: callback
version: 1
title: Gọi lại
closing: Cảm ơn
sections:
  - id: s
    questions:
      - {key: full_name, type: text, required: false, text: "Họ tên?"}
      - {key: phone, type: phone, text: "Số điện thoại?"}
      - {key: comment, type: text, required: false, text: "Góp ý?"}
"""


@pytest.fixture
def callback_url(own_url: str) -> str:
    engine = create_engine_sync(own_url)
    with engine.begin() as conn:
        add_flow(conn, load_flow_text(CALLBACK))
        add_response(conn, "c1", "callback", unit="u", at=vn(2024, 1, 2), answers_={
            "full_name": "Nguyễn Văn An", "phone": "0912345678",
            "comment": "Gọi tôi theo số 0912 345 678 hoặc an@example.vn nhé"})
        add_response(conn, "c2", "callback", unit="u", at=vn(2024, 1, 3), answers_={
            "phone": "0912345678", "comment": "Thủ tục nhanh"})
    engine.dispose()
    return own_url


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {r["response_id"]: r for r in csv.DictReader(fh)}


def test_personal_fields_are_pseudonymised_by_default(callback_url: str, tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    assert export_responses(callback_url, "callback", "csv", out) == 2
    rows = _rows(out)
    c1, c2 = rows["c1"], rows["c2"]
    assert c1["phone"].startswith("anon-") and c1["phone"] == c2["phone"]  # same person, same token
    assert c1["full_name"].startswith("anon-") and "Nguyễn" not in out.read_text(encoding="utf-8-sig")
    assert c1["comment"] == "Gọi tôi theo số [đã ẩn] hoặc [đã ẩn] nhé"
    assert c2["comment"] == "Thủ tục nhanh" and c2["full_name"] == ""


def test_pseudonyms_differ_between_exports_unless_keyed(callback_url: str, tmp_path: Path) -> None:
    a, b, k1, k2 = (tmp_path / f"{n}.csv" for n in ("a", "b", "k1", "k2"))
    export_responses(callback_url, "callback", "csv", a)
    export_responses(callback_url, "callback", "csv", b)
    assert _rows(a)["c1"]["phone"] != _rows(b)["c1"]["phone"]
    export_responses(callback_url, "callback", "csv", k1, pseudonym_key=b"k")
    export_responses(callback_url, "callback", "parquet", k2.with_suffix(".parquet"), pseudonym_key=b"k")
    import pyarrow.parquet as pq
    parquet = {r["response_id"]: r for r in pq.read_table(k2.with_suffix(".parquet")).to_pylist()}
    assert _rows(k1)["c1"]["phone"] == parquet["c1"]["phone"]


def test_roles_allowed_personal_data_get_it(callback_url: str, tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    export_responses(callback_url, "callback", "csv", out, include_personal=True)
    c1 = _rows(out)["c1"]
    assert (c1["full_name"], c1["phone"]) == ("Nguyễn Văn An", "0912345678")
    assert "0912 345 678" in c1["comment"]
