"""How values read in Vietnamese on the pages: times in Vietnam's clock, waiting times in days and
hours, statuses, roles and audit actions by their Vietnamese names, numbers with a decimal comma;
and date fields of forms, which officials fill in Vietnam's clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import jinja2

VN = timezone(timedelta(hours=7))
STATUS = {"open": "Mới", "assigned": "Đã nhận xử lý", "review": "Chờ duyệt", "answered": "Đã trả lời",
          "published": "Đã trả lời và công khai", "closed": "Đã đóng"}
ROLE = {"system_admin": "Quản trị hệ thống", "unit_admin": "Quản trị đơn vị", "official": "Cán bộ trả lời",
        "analyst": "Chuyên viên phân tích"}
ACTION = {"login": "Đăng nhập", "question.assign": "Nhận câu hỏi", "question.answer": "Trả lời câu hỏi",
          "question.approve": "Duyệt câu trả lời", "question.publish": "Công khai câu trả lời",
          "question.close": "Đóng câu hỏi", "user.create": "Tạo tài khoản", "user.disable": "Khóa tài khoản",
          "user.enable": "Mở khóa tài khoản", "user.password": "Đặt lại mật khẩu", "token.create": "Tạo mã API",
          "token.revoke": "Thu hồi mã API", "export": "Tải dữ liệu",
          "consultation.create": "Tạo đợt lấy ý kiến", "consultation.edit": "Sửa đợt lấy ý kiến",
          "consultation.file": "Đính kèm tệp dự thảo", "consultation.publish": "Công bố lấy ý kiến",
          "consultation.unpublish": "Thu hồi lấy ý kiến", "document.upload": "Tải lên văn bản",
          "document.delete": "Xóa văn bản"}
CHANNEL = {"web": "Web chat", "webchat": "Web chat", "zalo": "Zalo", "messenger": "Messenger", "telegram": "Telegram",
           "web_form": "Biểu mẫu trên trang web"}


def waiting(hours: float | None) -> str:
    if hours is None:
        return "—"
    minutes = int(round(hours * 60))
    if minutes < 60:
        return f"{minutes} phút"
    if minutes < 24 * 60:
        return f"{minutes // 60} giờ {minutes % 60} phút" if minutes % 60 else f"{minutes // 60} giờ"
    days, rest = divmod(minutes // 60, 24)
    return f"{days} ngày {rest} giờ" if rest else f"{days} ngày"


def vn_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(VN).strftime("%d/%m/%Y %H:%M")


def local_input(value: datetime | None) -> str:
    """The value of a datetime-local field: Vietnam's clock, to the minute, no zone."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(VN).strftime("%Y-%m-%dT%H:%M")


def from_local_input(value: str) -> str:
    """A datetime-local field read as Vietnam's clock, as the RFC 3339 text the API's models take;
    anything else is returned as it is, for the model to refuse."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=VN).isoformat()
    except ValueError:
        return value


def filesize(size: int | None) -> str:
    if size is None:
        return "—"
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return number(size / (1024 * 1024), 1) + " MB"


def number(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def named(table: dict[str, str]) -> Any:
    return lambda value: table.get(value, value) if value else "—"


def install(env: jinja2.Environment) -> None:
    env.filters.update(waiting=waiting, vn_time=vn_time, number=number, status=named(STATUS), role=named(ROLE),
                       action=named(ACTION), channel=named(CHANNEL), filesize=filesize)
