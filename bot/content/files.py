"""Uploaded files on disk, content-addressed under ``<data dir>/files/``: the same file uploaded
twice is stored once, a stored file is never overwritten, and a download can never be steered to
another path (names come from the SHA-256, not from the uploader). Only PDF, DOCX and XLSX are
accepted, recognised from their bytes, not from the name or the declared type an uploader sends."""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from ..text import fold

MAX_FILE_BYTES = 20 * 1024 * 1024
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_SHA = re.compile(r"^[0-9a-f]{64}$")


class FileRejected(ValueError):
    """The upload is empty, too large, or not a PDF, DOCX or XLSX file."""


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    file_type: str  # pdf | docx | xlsx

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.file_type]


def sniff(data: bytes) -> str | None:
    """pdf, docx or xlsx from the content; None for anything else (a renamed .exe, an old .doc)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def store(data_dir: Path, data: bytes) -> StoredFile:
    if not data:
        raise FileRejected("the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise FileRejected(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    kind = sniff(data)
    if kind is None:
        raise FileRejected("only PDF, DOCX and XLSX files are accepted")
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(data_dir, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{digest}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: readers see the whole file or none
    return StoredFile(digest, len(data), kind)


def blob_path(data_dir: Path, sha256: str) -> Path:
    if not _SHA.match(sha256):
        raise ValueError("not a SHA-256")
    return data_dir / "files" / sha256[:2] / sha256


def read(data_dir: Path, sha256: str) -> bytes | None:
    path = blob_path(data_dir, sha256)
    return path.read_bytes() if path.exists() else None


def download_name(title: str, file_type: str) -> str:
    """A name safe on every system and in a header: the title folded to ASCII words joined by
    hyphens, at most 120 characters, with the extension of the type actually detected."""
    stem = "-".join(fold(title).split())[:120].strip("-") or "tai-lieu"
    return f"{stem}.{file_type}"


def content_disposition(title: str, name: str) -> str:
    """``attachment`` with the ASCII name and the Vietnamese title (RFC 6266/5987) for browsers
    that show it."""
    ext = name.rsplit(".", 1)[-1]
    readable = re.sub(r"[\x00-\x1f\x7f/\\\"]", " ", title).strip()[:150] or "tai-lieu"
    return f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(readable + '.' + ext, safe='')}"
