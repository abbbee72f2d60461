"""JSON on the hot path (state cache, database writes, HTTP replies) via orjson: 5–10× faster than
the standard library, same output semantics (UTF-8, Vietnamese kept as is)."""
from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def dumpb(value: Any) -> bytes:
    return orjson.dumps(value)


def loads(data: str | bytes) -> Any:
    return orjson.loads(data)
