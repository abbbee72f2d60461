"""Vietnamese text folding shared by answer parsing, commands and unit lookup.

Citizens often type without diacritics ("hai long"), so comparisons happen on a folded form:
lower case, NFC, diacritics removed (đ → d), punctuation dropped, spaces collapsed.
"""
from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def clean(text: str) -> str:
    """NFC, no control characters, trimmed: what we store from free text."""
    text = unicodedata.normalize("NFC", text).translate(_CONTROL)
    return text.strip()


def lower(text: str) -> str:
    return _SPACES.sub(" ", _PUNCT.sub(" ", unicodedata.normalize("NFC", text).lower())).strip()


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", _PUNCT.sub(" ", stripped)).strip()


# Number words as typed, with and without diacritics; "tư" and "lăm" are common spoken forms.
NUMBER_WORDS = {
    "không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5,
    "sáu": 6, "bảy": 7, "bẩy": 7, "tám": 8, "chín": 9, "mười": 10,
    "mười một": 11, "mười hai": 12, "mười ba": 13, "mười bốn": 14, "mười lăm": 15,
    "mười sáu": 16, "mười bảy": 17, "mười tám": 18, "mười chín": 19, "hai mươi": 20,
}
_FOLDED_NUMBER_WORDS: dict[str, int] = {}
for _word, _n in NUMBER_WORDS.items():
    _FOLDED_NUMBER_WORDS.setdefault(fold(_word), _n)
_FOLDED_NUMBER_WORDS.pop("khong", None)  # "khong" is far more often "no" than zero


def number_word(text: str, *, exact_diacritics: bool) -> int | None:
    """"bốn" → 4. With ``exact_diacritics`` only correctly accented words count (so "nam" stays
    available for the label "Nam")."""
    if exact_diacritics:
        return NUMBER_WORDS.get(lower(text))
    return _FOLDED_NUMBER_WORDS.get(fold(text))


_ORDINAL_PREFIX = re.compile(r"^(?:so|lua chon|chon|phuong an|cau|y)\s+")


def strip_ordinal_prefix(folded: str) -> str:
    """"chọn 4", "số 4", "phương án 4" → "4"."""
    return _ORDINAL_PREFIX.sub("", folded)


# Chat shorthand seen in citizens' messages, expanded on the folded form before matching.
ABBREVIATIONS = {
    "k": "khong", "ko": "khong", "kh": "khong", "hok": "khong", "hong": "khong", "khg": "khong", "kg": "khong",
    "dc": "duoc", "dk": "duoc", "bt": "binh thuong", "hl": "hai long", "tl": "tra loi", "tp": "thanh pho",
    "ubnd": "uy ban nhan dan", "tthc": "thu tuc hanh chinh", "cccd": "can cuoc cong dan", "sdt": "so dien thoai",
}


def expand(folded: str) -> str:
    return " ".join(ABBREVIATIONS.get(tok, tok) for tok in folded.split())
