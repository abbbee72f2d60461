"""Document search as citizens type: without diacritics, in any order, by place and year, and the
chat command's keywords."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import insert

from bot.content import documents
from bot.services import Services
from bot.store import tables_content

PDF = b"%PDF-1.4 test"


async def test_search_ignores_diacritics_and_ranks_by_words_found(services: Services) -> None:
    add = documents.add
    s = services
    await add(s.engine, s.settings.data_dir, s.units, PDF, unit_code="p.ha_noi", year=2024, kind="report",
              title="Báo cáo cải cách hành chính năm 2024", by=None)
    await add(s.engine, s.settings.data_dir, s.units, PDF + b"2", unit_code="p.da_nang", year=2025, kind="plan",
              title="Kế hoạch cải cách thủ tục hành chính", by=None)
    await add(s.engine, s.settings.data_dir, s.units, PDF + b"3", unit_code="p.da_nang", year=2025, kind="document",
              title="Quy chế tiếp công dân", by=None)
    titles = [d["title"] for d in await documents.search(s.engine, "CAI CACH hanh chinh")]
    assert titles == ["Báo cáo cải cách hành chính năm 2024", "Kế hoạch cải cách thủ tục hành chính"]
    by_place = [d["title"] for d in await documents.search(s.engine, "đà nẵng tiếp dân")]
    assert by_place == ["Quy chế tiếp công dân", "Kế hoạch cải cách thủ tục hành chính"]  # all words, then half
    assert [d["year"] for d in await documents.search(s.engine, "ke hoach", year=2025)] == [2025]
    assert await documents.search(s.engine, "100%_ %") == []  # LIKE wildcards are plain characters
    assert len(await documents.search(s.engine, "")) == 3


def test_the_chat_command_takes_the_words_after_it(services: Services) -> None:
    d = services.dialogues
    assert documents.search_request(d, "Tra cứu văn bản: cải cách 2025") == "cải cách 2025"
    assert documents.search_request(d, "tim tai lieu tiep dan") == "tiep dan"
    assert documents.search_request(d, "tra cứu văn bản") == ""
    assert documents.search_request(d, "tôi muốn tra cứu hồ sơ") is None


async def test_a_scoped_search_finds_the_units_documents_behind_thousands_of_newer_ones(services: Services) -> None:
    """The scope is part of the query: another province's 2,500 newer matches (more than the
    rows the search weighs) do not hide the one document of the caller's province."""
    s = services
    mine = await documents.add(s.engine, s.settings.data_dir, s.units, PDF, unit_code="p.ha_noi", year=2020,
                               kind="plan", title="Kế hoạch cải cách hành chính", by=None)
    now = datetime.now(timezone.utc)
    title = "Kế hoạch cải cách hành chính"
    others = [{"id": f"dother{n:05d}", "unit_code": "p.da_nang", "year": 2025, "kind": "plan", "title": title,
               "search_text": documents.search_text(title, "p.da_nang", s.units.name("p.da_nang"), "plan", 2025),
               "sha256": "0" * 64, "size": len(PDF), "file_type": "pdf", "download_name": "ke-hoach.pdf",
               "uploaded_by": None, "created_at": now} for n in range(2500)]
    async with s.engine.begin() as conn:
        await conn.execute(insert(tables_content.documents), others)
    found = await documents.search(s.engine, "cai cach hanh chinh", scope=frozenset({"p.ha_noi"}), limit=50)
    assert [d["id"] for d in found] == [mine["id"]]
    assert await documents.search(s.engine, "cai cach", scope=frozenset(), limit=50) == []
    everyone = await documents.search(s.engine, "cai cach hanh chinh", limit=50)
    assert {d["unit_code"] for d in everyone} == {"p.da_nang"}  # unscoped: the newest matches first
