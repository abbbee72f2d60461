"""CSV for spreadsheets: UTF-8 with a BOM (Excel then shows Vietnamese correctly) and text cells
that Excel would run as formulas neutralised, the same guard as the analysts' exports (a name
like ``=HYPERLINK(...)`` in an uploaded list must not become a link in an official's Excel)."""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

import pandas as pd

from ..analytics.export import guard_formula


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    frame = pd.DataFrame(list(rows), columns=list(header), dtype=object)
    for col in frame.columns:
        frame[col] = guard_formula(frame[col])
    buf = io.StringIO()
    frame.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buf.getvalue().encode("utf-8-sig")


PARTICIPATION_HEADER = ("Mã đơn vị", "Đơn vị", "Đăng ký", "Đã nhận", "Đã bắt đầu", "Hoàn thành", "Tỷ lệ (%)")
UNIT_DELIVERY_HEADER = ("Dòng", "Đơn vị", "Họ tên", "Số điện thoại", "Email", "Mã mời", "Đường dẫn", "Trạng thái")
