"""The list checker's and the campaign service's reasons in Vietnamese, for the console: the API
keeps its English messages (integrations match on them), officials read Vietnamese. One table of
patterns beside the messages; a reason no pattern knows is shown as it is rather than hidden
(tests/console check that every reason the checker can give is translated)."""
from __future__ import annotations

import re

_HINTS = {"telegram": "mã số cuộc trò chuyện (chatbot không nhắn được tới @tên người dùng)",
          "zalo": "mã người dùng của Official Account (chữ số)", "messenger": "mã người dùng theo trang (chữ số)"}

_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"the same person as line (\d+) \(same chat\)", r"trùng người ở dòng \1 (cùng tài khoản chat)"),
    (r"the same person as line (\d+) \(same phone\)", r"trùng người ở dòng \1 (cùng số điện thoại)"),
    (r"the same person as line (\d+) \(same email\)", r"trùng người ở dòng \1 (cùng email)"),
    (r"the same person as line (\d+) \(same (\w+)\)", r"trùng người ở dòng \1 (cùng tài khoản \2)"),
    (r"the name is empty", "thiếu họ tên"),
    (r"the name is longer than 200 characters or holds control characters",
     "họ tên dài quá 200 ký tự hoặc chứa ký tự điều khiển"),
    (r"not a Vietnamese phone number .*", "không phải số điện thoại Việt Nam (10 chữ số bắt đầu bằng 0, hoặc +84)"),
    (r"not an e-mail address", "không phải địa chỉ email"),
    (r"no way to reach this person: .*", "không có cách liên lạc: cần tài khoản chat, số điện thoại hoặc email"),
    (r"the unit is empty .*", "thiếu đơn vị (chiến dịch gồm nhiều đơn vị)"),
    (r"unknown unit (.*): use its code or its exact name", r"không rõ đơn vị \1: ghi mã hoặc đúng tên đơn vị"),
    (r"(.*) is not one of the campaign's units", r"\1 không thuộc các đơn vị của chiến dịch"),
    (r"unknown channel (.*): zalo, telegram or messenger", r"không rõ kênh \1: zalo, telegram hoặc messenger"),
    (r"a chat id needs its channel: .*", "có tài khoản chat thì cần ghi kênh: zalo, telegram hoặc messenger"),
    (r"the list has nobody in it", "danh sách không có người nào"),
    (r"the file is not UTF-8 text: .*", "tệp không phải văn bản UTF-8: trong Excel hãy chọn \"CSV UTF-8\" khi lưu"),
    (r"the file is empty", "tệp trống"),
    (r"line (\d+): not valid CSV .*", r"dòng \1: không đúng định dạng CSV"),
    (r"the file is not an Excel workbook \(\.xlsx\)", "tệp không phải bảng tính Excel (.xlsx)"),
    (r"the workbook's first sheet is empty", "trang tính đầu tiên của bảng tính trống"),
    (r"the workbook could not be read; .*", "không đọc được bảng tính; hãy lưu lại dưới dạng .xlsx"),
    (r"no column for the name .*", "thiếu cột họ tên (tiêu đề \"Họ tên\")"),
    (r"no column to reach people by: .*",
     "thiếu cột để liên lạc: tài khoản chat (\"Tài khoản\"), \"Số điện thoại\" hoặc \"Email\""),
    (r"more than (\d+) people in one list: split the file", r"hơn \1 người trong một danh sách: hãy tách tệp"),
    (r"the campaign has nobody to invite yet: .*", "chiến dịch chưa có ai để mời: hãy tải danh sách lên trước"),
    (r"the survey is closed: .*", "khảo sát đã đóng: hãy mở khảo sát trước khi gửi lời mời"),
    (r"unit (.*) is not one you administer", r"đơn vị \1 không thuộc phạm vi quản lý của bạn"),
    (r"the campaign also covers units you do not administer",
     "chiến dịch có cả đơn vị ngoài phạm vi quản lý của bạn"),
)
_COMPILED = tuple((re.compile(p), vi) for p, vi in _PATTERNS)
_HANDLE = re.compile(r"not a (telegram|zalo|messenger) id: give .*")


def in_vietnamese(reason: str) -> str:
    handle = _HANDLE.fullmatch(reason)
    if handle:
        return f"không phải mã {handle.group(1)}: cần ghi {_HINTS[handle.group(1)]}"
    for pattern, vi in _COMPILED:
        if pattern.fullmatch(reason):
            return pattern.sub(vi, reason)
    return reason


COLUMNS = {"name": "Họ tên", "unit": "Đơn vị", "channel": "Kênh", "handle": "Tài khoản", "phone": "Số điện thoại",
           "email": "Email"}
