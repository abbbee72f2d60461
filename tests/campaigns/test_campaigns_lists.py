"""Respondent lists as units send them: every bad row reported with its line and reason, nothing
half-imported, contact details kept only where the unit needs them."""
from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest

from bot.campaigns.lists import ListChecker, ListError, read_csv, read_xlsx
from bot.settings import REPO_ROOT
from bot.units import UnitCatalogue

UNITS = UnitCatalogue.load(REPO_ROOT / "data" / "units")


def checker(*units: str) -> ListChecker:
    return ListChecker(UNITS, frozenset(units), date(2025, 9, 1))


def test_every_bad_row_comes_back_with_its_line_and_reason() -> None:
    csv = ("Họ tên;Đơn vị;Kênh;Tài khoản;Số điện thoại;Email\n"
           "Nguyễn Văn An;Hà Nội;Telegram;5123456789;;\n"
           ";Hà Nội;;;0912345678;\n"                          # 3: no name
           "Trần Bình;Đà Nẵng;;;0912000111;\n"                # 4: not a campaign unit
           "Lê Chi;Hà Nội;telegram;@lechi;;\n"                # 5: a @username cannot be messaged by a bot
           "Phạm Dũng;Hà Nội;;;12345;dung@\n"                 # 6: bad phone and bad e-mail
           "Võ Em;Huế;zalo;;;\n"                              # 7: no way to reach
           "Đỗ Giang;p.hue;Telegram;5123456789;;\n"           # 8: same person as line 2
           "Hồ Hạnh;Hue;;;+84 912 345 678;HANH@hue.gov.vn\n") # 9: fine (name without diacritics)
    result = checker("p.ha_noi", "p.hue").check(read_csv(csv.encode("utf-8-sig")))
    got = [(e.line, e.column) for e in result.errors]
    assert got == [(3, "name"), (4, "unit"), (5, "handle"), (6, "phone"), (6, "email"), (7, None), (8, None)]
    reasons = {e.line: e.reason for e in result.errors}
    assert "numeric chat id" in reasons[5] and "line 2" in reasons[8] and "no way to reach" in reasons[7]
    assert [(r.line, r.unit_code, r.channel, r.address, r.phone, r.email) for r in result.rows] == [
        (2, "p.ha_noi", "telegram", "5123456789", None, None),
        (9, "p.hue", None, None, "0912345678", "hanh@hue.gov.vn")]


def test_a_chat_address_makes_the_phone_and_email_unnecessary() -> None:
    raw = read_csv("name,unit,channel,handle,phone,email\nAn,p.hue,zalo,1234567890123,0912345678,an@x.vn\n".encode())
    [row] = checker("p.hue").check(raw).rows
    assert (row.channel, row.address, row.phone, row.email) == ("zalo", "1234567890123", None, None)


def test_old_province_names_count_for_the_new_province_and_one_unit_campaigns_need_no_unit_column() -> None:
    raw = read_csv("Họ tên,Đơn vị,Email\nAn,Yên Bái,an@x.vn\nBình,,binh@x.vn\n".encode())
    rows = checker("p.lao_cai").check(raw).rows
    assert [r.unit_code for r in rows] == ["p.lao_cai", "p.lao_cai"]


def test_xlsx_numbers_that_were_phones_and_ids_become_digits_again() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Họ tên", "Kênh", "Tài khoản", "Số điện thoại"])
    sheet.append(["An", "telegram", 5123456789, None])
    sheet.append([None, None, None, None])
    sheet.append(["Bình", None, None, 912345678])  # Excel dropped the leading zero
    buf = io.BytesIO()
    book.save(buf)
    raw = read_xlsx(buf.getvalue())
    assert [line for line, _ in raw] == [2, 4]
    rows = checker("p.hue").check(raw).rows
    assert [(r.address, r.phone) for r in rows] == [("5123456789", None), (None, "0912345678")]


@pytest.mark.parametrize("data,reason", [
    (b"PK\x03\x04 not really a zip", "Excel workbook"),
    (b"", "empty"),
])
def test_files_that_are_not_lists_are_refused_as_a_whole(data: bytes, reason: str) -> None:
    with pytest.raises(ListError, match=reason):
        (read_xlsx if data.startswith(b"PK") else read_csv)(data)


def test_a_list_without_a_name_or_a_way_to_reach_people_is_refused() -> None:
    with pytest.raises(ListError, match="name"):
        read_csv("unit,email\np.hue,a@x.vn\n".encode())
    with pytest.raises(ListError, match="reach"):
        read_csv("name,unit\nAn,p.hue\n".encode())
    with pytest.raises(ListError, match="UTF-8"):
        read_csv("Tên,Email\nAn,a@x.vn\n".encode("cp1258"))  # Windows' Vietnamese code page
