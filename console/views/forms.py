"""What the content forms (consultations, documents) share: reading the file a form sent, and
saying in Vietnamese why a value or a file was refused. The checks themselves are the admin API's
body models and ``bot.content.files``, which keep their English messages for integrations."""
from __future__ import annotations

import re
from typing import Any, Mapping

from pydantic import ValidationError

from bot.content import files

OUTSIDE = "Hãy chọn một đơn vị thuộc phạm vi của bạn."
NAME = "Hãy nhập tiêu đề (một dòng, tối đa 200 ký tự)."
_REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"the file is empty"), "Tệp trống hoặc chưa chọn tệp."),
    (re.compile(r"the file is larger than (\d+) MB"), r"Tệp lớn hơn \1 MB."),
    (re.compile(r"only PDF, DOCX and XLSX files are accepted"),
     "Chỉ nhận tệp PDF, Word (.docx) hoặc Excel (.xlsx). Loại tệp được nhận biết theo nội dung, không theo "
     "tên tệp; tệp này không thuộc các loại đó."),
)


def uploaded(form: Mapping[str, Any], field: str = "file") -> bytes:
    """The bytes of a file field; none when the field is missing or is not a file."""
    handle = getattr(form.get(field), "file", None)
    return handle.read() if handle is not None else b""


def refusal(e: files.FileRejected) -> str:
    for pattern, vietnamese in _REFUSALS:
        if pattern.fullmatch(str(e)):
            return pattern.sub(vietnamese, str(e))
    return f"Tệp không được chấp nhận: {e}"


def first_problem(e: ValidationError, messages: Mapping[str, str]) -> str:
    """The message of the first field the model refused (one thing to fix at a time, as the other
    console forms do)."""
    for error in e.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        if field in messages:
            return messages[field]
    return "Dữ liệu nhập chưa hợp lệ. Hãy kiểm tra lại các trường."
