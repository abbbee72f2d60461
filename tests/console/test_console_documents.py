"""The reform documents database in the console, in-process: an official uploads a PDF, DOCX or
XLSX and finds it without typing diacritics; a renamed program is refused in Vietnamese on the
form and stored nowhere; administrators remove documents; another province sees none of them."""
from __future__ import annotations

import io
import re
import zipfile

from console_fixtures import EXE, PDF, Console

from bot.content import documents

TITLE = "Báo cáo kết quả cải cách hành chính năm 2025"
PLAN = "Kế hoạch số hóa hồ sơ một cửa năm 2026"
REPORT = {"title": TITLE, "year": "2025", "kind": "report", "unit": "p.ha_noi"}


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<x/>")
    return buf.getvalue()


async def _upload(console: Console, fields: dict[str, str], file: tuple[str, bytes, str], **kw: bool) -> str:
    await console.get("/console/documents")
    return await console.upload("/console/documents", fields, file, **kw)


async def test_an_official_uploads_then_finds_without_diacritics_and_downloads(console: Console) -> None:
    await console.login("nv.hanoi", "official", "p.ha_noi")
    await console.get("/console/documents")
    assert "Tải lên văn bản" in console.page and 'aria-current="page">Văn bản<' in console.page
    await _upload(console, REPORT, ("bao-cao.pdf", PDF, "application/pdf"))
    assert console.status == 303
    assert "Đã tải lên văn bản." in await console.follow() and TITLE in console.page
    await _upload(console, {"title": PLAN, "year": "2026", "kind": "plan", "unit": "p.ha_noi"},
                  ("ke-hoach.docx", docx(), "application/octet-stream"))
    page = await console.follow()
    assert PLAN in page and TITLE in page and "DOCX" in page

    found = await console.get("/console/documents?q=ke+hoach+so+hoa")
    assert PLAN in found and TITLE not in found
    found = await console.get("/console/documents?q=cai+cach+hanh+chinh")
    assert TITLE in found and PLAN not in found
    assert TITLE not in await console.get("/console/documents?kind=plan")
    assert PLAN not in await console.get("/console/documents?year=2025")
    assert "Không tìm thấy văn bản nào phù hợp" in await console.get("/console/documents?q=thue+nhap+khau")

    doc_id = re.search(r"/console/documents/(\w+)/file\" download>" + re.escape(TITLE), found).group(1)  # type: ignore[union-attr]
    resp = await console.client.get(f"/console/documents/{doc_id}/file")
    assert resp.status == 200 and await resp.read() == PDF
    assert resp.headers["Content-Disposition"].startswith(
        'attachment; filename="bao-cao-ket-qua-cai-cach-hanh-chinh-nam-2025.pdf"')
    assert "Xóa" not in found  # officials upload; only administrators remove

    await console.logout()
    await console.login("qt.hanoi", "unit_admin", "p.ha_noi")
    await console.get("/console/documents")
    await console.post(f"/console/documents/{doc_id}/delete", {})
    assert "Đã xóa văn bản" in await console.follow() and TITLE not in console.page and PLAN in console.page
    audit = await console.get("/console/audit")
    assert "Tải lên văn bản" in audit and "Xóa văn bản" in audit and "nv.hanoi" in audit


async def test_a_renamed_program_is_refused_in_vietnamese_and_nothing_is_stored(console: Console) -> None:
    await console.login("nv.hanoi", "official", "p.ha_noi")
    await _upload(console, REPORT, ("bao-cao.pdf", EXE, "application/pdf"))
    assert console.status == 422
    assert "Chỉ nhận tệp PDF, Word (.docx) hoặc Excel (.xlsx)" in console.page and 'role="alert"' in console.page
    assert f'value="{TITLE}"' in console.page  # the form keeps what was typed
    await _upload(console, REPORT, ("bao-cao.pdf", b"", "application/pdf"))
    assert console.status == 422 and "Tệp trống" in console.page
    await _upload(console, {**REPORT, "title": "  "}, ("bao-cao.pdf", PDF, "application/pdf"))
    assert console.status == 422 and "Hãy nhập tiêu đề" in console.page
    await _upload(console, {**REPORT, "year": "1900"}, ("bao-cao.pdf", PDF, "application/pdf"))
    assert console.status == 422 and "Năm ban hành: từ 1945 đến 2100." in console.page
    assert console.stored_files() == []
    assert await documents.list_for(console.services.engine, scope=None, limit=10, offset=0) == []
    assert "Chưa có văn bản nào của đơn vị bạn." in await console.get("/console/documents")


async def test_another_province_sees_and_removes_none_of_these_documents(console: Console) -> None:
    await console.login("nv.hanoi", "official", "p.ha_noi")
    await _upload(console, REPORT, ("bao-cao.pdf", PDF, "application/pdf"))
    [doc] = await documents.list_for(console.services.engine, scope=None, limit=10, offset=0)
    await console.logout()
    for username, role in (("qt.hue", "unit_admin"), ("nv.hue", "official"), ("pt.hue", "analyst")):
        await console.login(username, role, "p.hue")
        for path in ("/console/documents", "/console/documents?q=cai+cach+hanh+chinh",
                     "/console/documents?unit=p.ha_noi", "/console/documents?q=ha+noi&unit=p.ha_noi"):
            assert TITLE not in await console.get(path) and console.status == 200, path
        await console.get(f"/console/documents/{doc['id']}/file")
        assert console.status == 404
        await console.logout()
    await console.login("qt.hue")
    await console.get("/console/documents")
    await console.post(f"/console/documents/{doc['id']}/delete", {})
    assert console.status == 404
    await _upload(console, {**REPORT, "title": "Của Huế"}, ("bao-cao.pdf", PDF, "application/pdf"))
    assert console.status == 422 and "thuộc phạm vi của bạn" in console.page
    assert [d["title"] for d in await documents.list_for(console.services.engine, scope=None, limit=10,
                                                          offset=0)] == [TITLE]


async def test_analysts_read_officials_cannot_remove_and_forms_need_their_token(console: Console) -> None:
    await console.login("nv.hanoi", "official", "p.ha_noi")
    await _upload(console, REPORT, ("bao-cao.pdf", PDF, "application/pdf"), csrf=False)
    assert console.status == 403 and "Biểu mẫu đã hết hạn hoặc không hợp lệ" in console.page
    await _upload(console, REPORT, ("bao-cao.pdf", PDF, "application/pdf"))
    [doc] = await documents.list_for(console.services.engine, scope=None, limit=10, offset=0)
    await console.get("/console/documents")
    await console.post(f"/console/documents/{doc['id']}/delete", {})
    assert console.status == 403
    await console.logout()
    await console.login("pt.hanoi", "analyst", "p.ha_noi")
    page = await console.get("/console/documents")
    assert console.status == 200 and TITLE in page and "Tải lên văn bản" not in page
    await console.upload("/console/documents", {**REPORT, "title": "Của phân tích"}, ("x.pdf", PDF, "application/pdf"))
    assert console.status == 403
    await console.logout()
    await console.login("qt.hanoi", "unit_admin", "p.ha_noi")
    await console.get("/console/documents")
    await console.post(f"/console/documents/{doc['id']}/delete", {}, csrf=False)
    assert console.status == 403
    assert [d["id"] for d in await documents.list_for(console.services.engine, scope=None, limit=10,
                                                       offset=0)] == [doc["id"]]
    await console.logout()
    await console.get("/console/documents")
    assert console.status == 303 and console.headers["Location"].startswith("/console/login?next=")
