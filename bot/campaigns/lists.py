"""Respondent lists as units send them (CSV or XLSX from Excel): read, check every row, report
every problem with its line number, so the official fixes the file once and uploads it again.

A list is all or nothing: one bad row and nothing is imported, because a half-imported list
leaves officials guessing who was invited. Columns are found by their header, in Vietnamese or
English, with or without diacritics. Phones and e-mails are kept only for people without a chat
address: the unit reaches those with the links itself (Hailong sends no e-mail and no SMS).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable

from ..store.scope import covers
from ..text import fold
from ..units import UnitCatalogue

MAX_ROWS = 100_000
CHAT_CHANNELS = ("zalo", "telegram", "messenger")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# header (folded) → field
_HEADERS = {
    "name": ("name", "full name", "ho ten", "ho va ten", "ten"),
    "unit": ("unit", "unit code", "don vi", "ma don vi", "co quan", "tinh", "bo"),
    "channel": ("channel", "kenh", "nen tang"),
    "handle": ("handle", "chat id", "user id", "id", "tai khoan", "id nguoi dung", "ma nguoi dung"),
    "phone": ("phone", "phone number", "mobile", "so dien thoai", "dien thoai", "sdt", "so dt"),
    "email": ("email", "e mail", "thu dien tu", "dia chi email", "dia chi thu dien tu"),
}
_CHANNEL_WORDS = {"zalo": "zalo", "telegram": "telegram", "tg": "telegram", "messenger": "messenger",
                  "facebook": "messenger", "fb": "messenger", "facebook messenger": "messenger"}
_NO_CHAT = ("", "web", "email", "e mail", "sms", "dien thoai", "phone", "thu dien tu")
_HANDLE = {"telegram": re.compile(r"^[1-9]\d{4,14}$"), "zalo": re.compile(r"^\d{10,20}$"),
           "messenger": re.compile(r"^\d{10,20}$")}
_HANDLE_HINT = {"telegram": "the numeric chat id (a bot cannot write to a @username)",
                "zalo": "the user's id for the Official Account (digits)",
                "messenger": "the page-scoped id (digits)"}
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]{2,}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ListError(ValueError):
    """The file as a whole cannot be read (not CSV/XLSX, no header, a required column missing)."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass(frozen=True)
class ListRow:
    """One checked person: a chat address to send to, or a phone/e-mail for the unit to use."""

    line: int
    name: str
    unit_code: str
    channel: str | None
    address: str | None
    phone: str | None
    email: str | None


@dataclass
class CheckedList:
    rows: list[ListRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


RawRow = tuple[int, dict[str, str]]


# ---- reading ---------------------------------------------------------------------------------

def read_csv(data: bytes) -> list[RawRow]:
    """UTF-8 (with or without BOM) or UTF-16 (Excel's "Unicode text"); comma, semicolon or tab."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ListError("the file is not UTF-8 text: in Excel choose \"CSV UTF-8\" when saving") from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            raise ListError("the file is empty")
        fields = _fields(header)
        out: list[RawRow] = []
        for cells in reader:
            _append(out, reader.line_num, fields, cells)
    except csv.Error as e:
        raise ListError(f"line {reader.line_num}: not valid CSV ({e})") from None
    return out


def read_xlsx(data: bytes) -> list[RawRow]:
    """The first sheet; the first row is the header. Numbers Excel made of ids and phones are
    turned back into digits (a phone loses its leading 0 in a number cell)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # zipfile.BadZipFile, KeyError, InvalidFileException, …: all "not a workbook"
        raise ListError("the file is not an Excel workbook (.xlsx)") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True) if book.worksheets else iter(())
        header = next(rows, None)
        if header is None:
            raise ListError("the workbook's first sheet is empty")
        fields = _fields([_cell(v) for v in header])
        out: list[RawRow] = []
        for i, values in enumerate(rows, start=2):
            _append(out, i, fields, [_cell(v) for v in values])
    except ListError:
        raise
    except Exception:  # a damaged sheet inside a valid zip
        raise ListError("the workbook could not be read; save it again as .xlsx") from None
    finally:
        book.close()
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _fields(header: list[str]) -> list[str | None]:
    by_alias = {alias: name for name, aliases in _HEADERS.items() for alias in aliases}
    fields = [by_alias.get(fold(h or "")) for h in header]
    if "name" not in fields:
        raise ListError("no column for the name (header \"Họ tên\" or \"name\")")
    if not {"handle", "phone", "email"} & set(fields):
        raise ListError("no column to reach people by: chat id (\"Tài khoản\"), \"Số điện thoại\" or \"Email\"")
    return fields


def _append(out: list[RawRow], line: int, fields: list[str | None], cells: list[str]) -> None:
    if not any(c.strip() for c in cells):
        return
    if len(out) >= MAX_ROWS:
        raise ListError(f"more than {MAX_ROWS} people in one list: split the file")
    row: dict[str, str] = {}
    for f, c in zip(fields, cells):
        if f is not None and c.strip() and f not in row:
            row[f] = c.strip()
    out.append((line, row))


# ---- checking --------------------------------------------------------------------------------

@dataclass
class ListChecker:
    """Checks rows against the campaign's units and against people already on its list."""

    units: UnitCatalogue
    campaign_units: frozenset[str]
    today: date
    # digest of an identity ("phone:0912…", "telegram:5123…") → line, of people already imported
    known: dict[str, int] = field(default_factory=dict)
    # how identities are compared: stored people are known by a keyed hash only (privacy.py)
    digest: Callable[[str], str] = str

    def check(self, raw: Iterable[RawRow]) -> CheckedList:
        out = CheckedList()
        seen = dict(self.known)
        for line, row in raw:
            errors: list[RowError] = []
            person = self._row(line, row, errors)
            if person is not None:
                keys = [(key, self.digest(key)) for key in identities(person)]
                for key, digest in keys:
                    if digest in seen:
                        what = key.split(":", 1)[0]
                        errors.append(RowError(line, None, f"the same person as line {seen[digest]} (same {what})"))
                        break
                else:
                    for _, digest in keys:
                        seen[digest] = line
            if errors:
                out.errors += errors
            elif person is not None:
                out.rows.append(person)
        return out

    def _row(self, line: int, row: dict[str, str], errors: list[RowError]) -> ListRow | None:
        name = row.get("name", "")
        if not name:
            errors.append(RowError(line, "name", "the name is empty"))
        elif len(name) > 200 or _CONTROL.search(name):
            errors.append(RowError(line, "name", "the name is longer than 200 characters or holds control characters"))
        unit = self._unit(line, row.get("unit", ""), errors)
        channel, address = self._chat(line, row.get("channel", ""), row.get("handle", ""), errors)
        phone = _phone(row.get("phone", ""))
        if row.get("phone") and phone is None:
            errors.append(RowError(line, "phone", "not a Vietnamese phone number (10 digits starting with 0, or +84)"))
        email = row.get("email", "").lower() or None
        if email is not None and (len(email) > 200 or not _EMAIL.fullmatch(email)):
            errors.append(RowError(line, "email", "not an e-mail address"))
            email = None
        if not (address or phone or email) and not any(e.column in ("handle", "phone", "email", "channel")
                                                       for e in errors):
            errors.append(RowError(line, None, "no way to reach this person: give a chat id, a phone or an e-mail"))
        if errors or unit is None:
            return None
        if address:  # reached by chat: the phone and e-mail are not needed, so not kept
            phone = email = None
        return ListRow(line, name, unit, channel, address, phone, email)

    def _unit(self, line: int, value: str, errors: list[RowError]) -> str | None:
        if not value:
            if len(self.campaign_units) == 1:
                return next(iter(self.campaign_units))
            errors.append(RowError(line, "unit", "the unit is empty (the campaign covers several units)"))
            return None
        code = self._unit_code(value)
        if code is None:
            errors.append(RowError(line, "unit", f"unknown unit {value!r}: use its code or its exact name"))
            return None
        if not covers(self.campaign_units, code):
            errors.append(RowError(line, "unit", f"{value!r} is not one of the campaign's units"))
            return None
        return code

    def _unit_code(self, value: str) -> str | None:
        if self.units.name(value) is not None:
            return self.units.today_code(value, self.today)
        if re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", value) and covers(self.campaign_units, value):
            return value  # a department under a campaign unit (not in the national catalogue)
        hits = self.units.find(value, ("province", "ministry"), self.today)
        if hits and hits[0][2] >= 95 and (len(hits) == 1 or hits[1][2] < hits[0][2]):
            return hits[0][0]
        return None

    def _chat(self, line: int, channel_text: str, handle: str, errors: list[RowError]) -> tuple[str | None, str | None]:
        folded = fold(channel_text)
        channel = _CHANNEL_WORDS.get(folded)
        if channel is None and folded not in _NO_CHAT:
            errors.append(RowError(line, "channel", f"unknown channel {channel_text!r}: zalo, telegram or messenger"))
            return None, None
        if not handle:
            return None, None  # Zalo by phone needs Zalo's paid notification service: the unit sends
        if channel is None:
            errors.append(RowError(line, "channel", "a chat id needs its channel: zalo, telegram or messenger"))
            return None, None
        if not _HANDLE[channel].fullmatch(handle):
            errors.append(RowError(line, "handle", f"not a {channel} id: give {_HANDLE_HINT[channel]}"))
            return None, None
        return channel, handle


def identities(row: ListRow) -> list[str]:
    """What makes two lines the same person: the same chat account, phone or e-mail."""
    keys = [f"{row.channel}:{row.address}"] if row.channel and row.address else []
    keys += [f"phone:{row.phone}"] if row.phone else []
    keys += [f"email:{row.email}"] if row.email else []
    return keys


def _phone(value: str) -> str | None:
    digits = re.sub(r"[\s.\-()]", "", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    elif re.fullmatch(r"[1-9]\d{8}", digits):  # Excel dropped the leading 0 of a mobile number
        digits = "0" + digits
    return digits if re.fullmatch(r"0\d{9,10}", digits) else None
