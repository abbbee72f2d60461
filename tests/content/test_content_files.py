"""Uploaded files: recognised by their bytes, capped in size, stored once per content, and
offered under a name that is safe in a header and on every system."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from bot.content import files


def test_the_type_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<x/>")
    assert files.sniff(b"%PDF-1.7 ...") == "pdf"
    assert files.sniff(buf.getvalue()) == "xlsx"
    assert files.sniff(b"\xd0\xcf\x11\xe0 an old .doc") is None
    assert files.sniff(b"<html><script>") is None


def test_too_large_or_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(files.FileRejected, match="larger than 20 MB"):
        files.store(tmp_path, b"%PDF-" + b"0" * files.MAX_FILE_BYTES)
    with pytest.raises(files.FileRejected, match="empty"):
        files.store(tmp_path, b"")
    assert not (tmp_path / "files").exists()


def test_same_content_same_place(tmp_path: Path) -> None:
    a = files.store(tmp_path, b"%PDF-1.4 a")
    b = files.store(tmp_path, b"%PDF-1.4 a")
    assert a == b and files.read(tmp_path, a.sha256) == b"%PDF-1.4 a"
    with pytest.raises(ValueError):
        files.blob_path(tmp_path, "../../etc/passwd")


def test_download_names_are_ascii_and_headers_cannot_be_broken() -> None:
    assert files.download_name("Quyết định số 12/QĐ-UBND: \"cải cách\"", "pdf") == "quyet-dinh-so-12-qd-ubnd-cai-cach.pdf"
    assert files.download_name("!!!", "docx") == "tai-lieu.docx"
    header = files.content_disposition("Báo cáo\r\nSet-Cookie: x", "bao-cao.pdf")
    assert "\r" not in header and "\n" not in header and header.startswith('attachment; filename="bao-cao.pdf"')
