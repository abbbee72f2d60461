"""Personal data out of exports unless the reader's role allows it.

Surveys are anonymous by design, but a flow can ask for a phone number (type ``phone``) for a
call-back, and people type phone numbers and e-mail addresses into free text. By default an
export replaces phone and name-like answers with a keyed pseudonym (the same person gets the same
token within one key, so duplicates stay visible) and blanks out numbers and addresses found in
free text.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..flows import Flow
from ..flows.model import other_key
from .frame import answer_column

NAME_LIKE = re.compile(r"(^|_)(name|full_name|ho_ten|hoten|email|address|dia_chi|cccd|id_number)($|_)")
# Vietnamese phone numbers (0xx / +84 / 84, spaces, dots or dashes between groups) and e-mails.
IN_TEXT = re.compile(r"(?:\+?84|0)(?:[\s.\-]?\d){8,10}\b|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
REDACTED = "[đã ẩn]"


@dataclass
class Masking:
    """Columns to pseudonymise entirely and free-text columns to scrub, with the key tokens use."""
    pseudonymise: list[str] = field(default_factory=list)
    scrub: list[str] = field(default_factory=list)
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def apply(self, chunk: pd.DataFrame) -> pd.DataFrame:
        if not self.pseudonymise and not self.scrub:
            return chunk
        chunk = chunk.copy()
        for col in self.pseudonymise:
            chunk[col] = _each_distinct(chunk[col], self.token)
        for col in self.scrub:
            chunk[col] = _each_distinct(chunk[col], scrub)
        return chunk

    def token(self, value: object) -> str:
        digest = hmac.new(self.key, str(value).strip().encode("utf-8"), hashlib.sha256).hexdigest()
        return f"anon-{digest[:12]}"


def scrub(value: object) -> object:
    return IN_TEXT.sub(REDACTED, value) if isinstance(value, str) else value


def _each_distinct(s: pd.Series, fn: object) -> pd.Series:
    codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
    out = np.empty(len(uniques) + 1, dtype=object)
    out[:] = None
    for i, v in enumerate(uniques):
        out[i] = fn(v)  # type: ignore[operator]
    return pd.Series(out[codes], index=s.index, dtype=object)


def masking_for(versions: list[Flow], keys: list[str], key: bytes | None = None) -> Masking:
    """What to hide among ``keys``: phone questions and name-like keys become pseudonyms; every
    other free-text answer (text questions, "other, please specify") is scrubbed."""
    m = Masking() if key is None else Masking(key=key)
    types: dict[str, str] = {}
    for f in reversed(versions):  # the newest version's type wins
        for q in f.questions:
            types[q.key] = q.type
            if any(c.other for c in q.choices):
                types[other_key(q.key)] = "text"
    for k in keys:
        kind = types.get(k, "text")
        if kind == "phone" or (kind == "text" and NAME_LIKE.search(k)):
            m.pseudonymise.append(answer_column(k))
        elif kind == "text":
            m.scrub.append(answer_column(k))
    return m
