"""The reform documents database as units and citizens meet it: upload a PDF, DOCX or XLSX (nothing
else, whatever its name), find it without typing diacritics on the website and in chat, download
it under a safe name, and see no other province's documents through the admin API."""
from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

from .conftest import API, Admin

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TITLE = "Báo cáo kết quả cải cách hành chính năm 2025"
OCTET = {"Content-Type": "application/octet-stream"}


def office(kind: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
    return buf.getvalue()


async def upload(admin: Admin, h: dict[str, str], data: bytes, expect: int = 201, **params: Any) -> Any:
    q = {"title": TITLE, "year": 2025, "kind": "report", **params}
    return await admin.call("POST", "/documents", {**h, **OCTET}, expect=expect, data=data, params=q)


async def test_upload_then_find_without_diacritics_and_download(site: Admin) -> None:
    h = await site.login("nv.hn", "official", "p.ha_noi")
    doc = await upload(site, h, PDF)
    assert (doc["unit_code"], doc["file_type"], doc["download_name"]) == (
        "p.ha_noi", "pdf", "bao-cao-ket-qua-cai-cach-hanh-chinh-nam-2025.pdf")
    await upload(site, h, office("docx"), title="Kế hoạch cải cách năm 2026", year=2026, kind="plan")
    await upload(site, h, office("xlsx"), title="Bảng số liệu tiếp công dân", kind="result")
    await upload(site, h, PDF, title="Bản sao báo cáo", kind="document")  # the same bytes again
    stored = [f for f in (site.services.settings.data_dir / "files").rglob("*") if f.is_file()]
    assert len(stored) == 3  # the same bytes twice are stored once

    found = await (await site.client.get("/api/v1/public/documents", params={"q": "bao cao cai cach hanh chinh"})).json()
    assert found["items"][0]["title"] == TITLE and found["items"][0]["unit_name"] == "Thành phố Hà Nội"
    by_place = await (await site.client.get("/api/v1/public/documents", params={"q": "ha noi 2026"})).json()
    assert [d["title"] for d in by_place["items"]][0] == "Kế hoạch cải cách năm 2026"
    nothing = await (await site.client.get("/api/v1/public/documents", params={"q": "thuế nhập khẩu"})).json()
    assert nothing["items"] == []

    resp = await site.client.get(found["items"][0]["url"].replace(site.services.settings.base_url, ""))
    assert resp.status == 200 and await resp.read() == PDF
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith(
        'attachment; filename="bao-cao-ket-qua-cai-cach-hanh-chinh-nam-2025.pdf"')


async def test_only_pdf_docx_xlsx_by_their_bytes(site: Admin) -> None:
    h = await site.login("nv.hn", "official", "p.ha_noi")
    for data in (b"MZ\x90\x00 a renamed program", b"PK\x03\x04 not really a zip", office("docx")[:40], b""):
        body = await upload(site, h, data, expect=422)
        assert "PDF, DOCX" in body["error"]["message"] or "empty" in body["error"]["message"]
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    await upload(site, h, plain_zip.getvalue(), expect=422)
    assert (await site.call("GET", "/documents", h))["items"] == []


async def test_the_bot_answers_a_document_search_with_links(site: Admin) -> None:
    h = await site.login("nv.hn", "official", "p.ha_noi")
    doc = await upload(site, h, PDF)
    session = await (await site.client.post("/api/v1/chat/sessions", json={})).json()

    async def say(text: str) -> str:
        r = await site.client.post(f"/api/v1/chat/sessions/{session['session']}/messages",
                                   json={"text": text, "cid": uuid.uuid4().hex})
        return "\n".join(m["text"] for m in (await r.json())["messages"])

    answer = await say("tra cuu van ban cai cach hanh chinh")
    assert TITLE in answer and doc["url"] in answer and "Thành phố Hà Nội" in answer
    assert "ví dụ" in await say("Tra cứu văn bản")
    assert "Chưa tìm thấy" in await say("tra cứu văn bản thuế nhập khẩu")


async def test_another_province_sees_none_of_these_documents(site: Admin) -> None:
    hn = await site.login("nv.hn", "official", "p.ha_noi")
    doc = await upload(site, hn, PDF)
    dn = await site.login("qt.dn", "unit_admin", "p.da_nang")
    analyst = await site.login("pt.dn", "analyst", "p.da_nang")
    for h in (dn, analyst):
        assert (await site.call("GET", "/documents", h))["items"] == []
        assert (await site.call("GET", "/documents", h, params={"unit": "p.ha_noi"}))["items"] == []
        await site.call("GET", f"/documents/{doc['id']}", h, expect=404)
        await site.call("GET", f"/documents/{doc['id']}/file", h, expect=404)
    await site.call("DELETE", f"/documents/{doc['id']}", dn, expect=404)
    await upload(site, dn, PDF, expect=403, unit="p.ha_noi")
    await upload(site, analyst, PDF, expect=403)
    assert [d["id"] for d in (await site.call("GET", "/documents", hn))["items"]] == [doc["id"]]
    root = await site.login("root", "system_admin")
    resp = await site.client.delete(f"{API}/documents/{doc['id']}", headers=root)
    assert resp.status == 204
    assert (await site.call("GET", "/documents", hn))["items"] == []
