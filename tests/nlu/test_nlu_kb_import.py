"""`hailong kb import`: JSONL, CSV (with a BOM, Vietnamese headers) and XLSX; update by id; a file with
any error imports nothing and says where. Storage tests run on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path
from typing import AsyncIterator

import pytest
from openpyxl import Workbook

from bot.nlu.kb import KbImportError, derived_id, import_file, kb_version, load_entries, read_entries, store_entries
from bot.settings import Settings
from bot.store.db import create_engine_async


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator:  # type: ignore[type-arg]
    e = create_engine_async(settings.effective_database_url)
    yield e
    await e.dispose()


def _jsonl(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {"id": "cc.noi_lam", "question": "Làm thẻ căn cước ở đâu?", "answer": "Tại công an cấp xã.", "topic": "can_cuoc",
     "unit": "bo_cong_an", "source": "Luật Căn cước 2023"},
    {"id": "ks.han", "question": "Đăng ký khai sinh trong bao lâu?", "answer": "Trong 60 ngày.", "topic": "ho_tich"},
]


async def test_jsonl_import_then_update_by_id(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = _jsonl(tmp_path / "kb.jsonl", ROWS)
    r = await import_file(engine, f)
    assert (r.inserted, r.updated, r.unchanged) == (2, 0, 0)
    v1 = await kb_version(engine)
    changed = [dict(ROWS[0], answer="Tại công an cấp xã hoặc cấp tỉnh."), ROWS[1],
               {"question": "Hồ sơ trễ hẹn thì sao?", "answer": "Cơ quan phải xin lỗi bằng văn bản."}]
    r = await import_file(engine, _jsonl(tmp_path / "kb2.jsonl", changed))
    assert (r.inserted, r.updated, r.unchanged, r.deleted) == (1, 1, 1, 0)
    entries = {e.id: e for e in await load_entries(engine)}
    assert entries["cc.noi_lam"].answer == "Tại công an cấp xã hoặc cấp tỉnh."
    assert entries["cc.noi_lam"].unit == "bo_cong_an" and entries["cc.noi_lam"].source == "Luật Căn cước 2023"
    # no id: one derived from the folded question, so importing the same question again updates it
    assert derived_id("Hồ sơ trễ hẹn thì sao?") in entries
    assert derived_id("ho so tre hen thi sao") == derived_id("Hồ sơ trễ hẹn thì sao?")
    assert await kb_version(engine) != v1


async def test_replace_removes_entries_missing_from_the_file(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    await import_file(engine, _jsonl(tmp_path / "a.jsonl", ROWS))
    r = await import_file(engine, _jsonl(tmp_path / "b.jsonl", ROWS[1:]), replace=True)
    assert r.deleted == 1
    assert [e.id for e in await load_entries(engine)] == ["ks.han"]


async def test_csv_with_bom_semicolons_and_vietnamese_headers(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "kb.csv"
    f.write_bytes("\ufeffMã;Câu hỏi;Trả lời;Thủ tục;Đơn vị\n"
                  "ct.1;Chứng thực bản sao ở đâu?;\"Tại UBND cấp xã; hoặc phòng công chứng.\";chung-thuc;p.ha_noi\n"
                  "\n"
                  "ct.2;\"Lệ phí\nchứng thực?\";2.000 đồng/trang;;\n".encode("utf-8"))
    entries = read_entries(f)
    assert [e.id for e in entries] == ["ct.1", "ct.2"]
    assert entries[0].answer == "Tại UBND cấp xã; hoặc phòng công chứng."
    assert entries[0].topic == "chung-thuc" and entries[0].unit == "p.ha_noi"
    assert entries[1].question == "Lệ phí\nchứng thực?" and entries[1].topic is None
    r = await store_entries(engine, entries)
    assert r.inserted == 2


async def test_xlsx_import(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wb = Workbook()
    ws = wb.active
    ws.append(["id", "question", "answer", "topic", "source"])
    ws.append([101, "Xin phiếu lý lịch tư pháp ở đâu?", "Tại Sở Tư pháp.", "tu_phap", "Luật Lý lịch tư pháp"])
    ws.append([None, None, None, None, None])
    ws.append(["x.2", "Làm hộ chiếu ở đâu?", "Tại công an tỉnh.", None, None])
    wb.save(tmp_path / "kb.xlsx")
    r = await import_file(engine, tmp_path / "kb.xlsx")
    assert r.inserted == 2
    ids = [e.id for e in await load_entries(engine)]
    assert ids == ["101", "x.2"]


async def test_a_malformed_file_imports_nothing(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(ROWS[0], ensure_ascii=False) + "\n"
                 "{\"question\": \"thiếu ngoặc\"\n"
                 + json.dumps({"id": "x", "question": "Có câu hỏi"}, ensure_ascii=False) + "\n"
                 + json.dumps({"id": "cc.noi_lam", "question": "Trùng mã", "answer": "..."}, ensure_ascii=False) + "\n"
                 + json.dumps({"id": "bad id", "question": "q", "answer": "a", "topic": ["x"]}) + "\n",
                 encoding="utf-8")
    with pytest.raises(KbImportError) as e:
        await import_file(engine, f)
    errors = e.value.errors
    assert errors[0].startswith(f"{f}:2: not valid JSON")
    assert f"{f}:3: 'answer' is missing or empty" in errors
    assert f"{f}:4: id 'cc.noi_lam' is already used on line 1" in errors
    assert f"{f}:5: 'topic' must be text, not list" in errors
    assert any(x.startswith(f"{f}:5: 'id' 'bad id' may hold only") for x in errors)
    assert await load_entries(engine) == []


def test_csv_and_xlsx_errors_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "no_answer.csv"
    f.write_text("id,question\n1,Hỏi gì?\n", encoding="utf-8")
    with pytest.raises(KbImportError) as e:
        read_entries(f)
    assert e.value.errors == [f"{f}:1: the header row has no answer column (found: id, question)"]

    f = tmp_path / "rows.csv"
    f.write_text("question,answer\nHỏi một?,Đáp một\n\nHỏi hai?,\n\"Hỏi\nba?\",Đáp,thừa\n", encoding="utf-8")
    with pytest.raises(KbImportError) as e:
        read_entries(f)
    assert e.value.errors == [f"{f}:4: 'answer' is missing or empty",
                              f"{f}:5: 3 values but the header has 2 columns"]

    f = tmp_path / "latin1.csv"
    f.write_bytes("question,answer\nH\xf4i?,\xd0\xe1p\n".encode("latin-1"))
    with pytest.raises(KbImportError) as e:
        read_entries(f)
    assert e.value.errors == [f"{f}:2: not UTF-8 text (save the file as UTF-8)"]

    wb = Workbook()
    ws = wb.active
    ws.append(["question", "answer"])
    ws.append(["Hỏi?", "Đáp"])
    ws.append(["Hỏi lại?", None])
    wb.save(tmp_path / "kb.xlsx")
    with pytest.raises(KbImportError) as e:
        read_entries(tmp_path / "kb.xlsx")
    assert e.value.errors == [f"{tmp_path / 'kb.xlsx'}:3: 'answer' is missing or empty"]

    (tmp_path / "kb.pdf").write_text("x")
    with pytest.raises(KbImportError, match="unknown format .pdf"):
        read_entries(tmp_path / "kb.pdf")


def test_the_seed_knowledge_base_is_well_formed(seed_entries) -> None:  # type: ignore[no-untyped-def]
    assert len(seed_entries) >= 40
    for e in seed_entries:
        assert e.id and e.topic and e.source, e
        assert len(e.answer) > 60, e.id

