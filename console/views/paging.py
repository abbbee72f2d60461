"""Long lists one page at a time: the offset a page was asked for, and the offsets of its
neighbours. A view fetches one row more than a page to know whether a next page exists."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class Pages:
    offset: int
    size: int
    next_offset: int | None
    prev_offset: int | None


def offset_of(request: web.Request) -> int:
    """A hand-edited or stale ``offset`` shows the first page rather than an error."""
    try:
        return max(0, min(1_000_000, int(request.query.get("offset", "0"))))
    except ValueError:
        return 0


def pages(offset: int, size: int, fetched: int) -> Pages:
    """``fetched``: how many rows came back when ``size + 1`` were asked for."""
    return Pages(offset, size, offset + size if fetched > size else None, max(0, offset - size) if offset else None)
