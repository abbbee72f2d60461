"""Request and response bodies shared by several endpoints. Text fields refuse control characters
(a NUL reaches PostgreSQL as an error) and have lengths a person could type."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


# no control characters but line breaks and tabs; stated as a pattern so the OpenAPI document says it
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=PRINTABLE)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$")]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:\-]{1,100}$")]
UnitCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", max_length=40)]

T = TypeVar("T")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageQuery(Strict):
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_offset: int | None = Field(None, description="pass as offset for the next page; null on the last one")


def page(items: list[Any], q: PageQuery) -> dict[str, Any]:
    return {"items": items, "next_offset": q.offset + q.limit if len(items) == q.limit else None}


class Ok(BaseModel):
    ok: bool = True


Timestamp = datetime
