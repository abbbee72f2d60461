"""Unit scoping as a SQL condition, carried by every query that reads a unit's data: an official
of one province reads rows of that province, its departments and the provinces merged into it."""
from __future__ import annotations

from typing import AbstractSet, Any

from sqlalchemy import false, or_, true

Scope = AbstractSet[str] | None  # None: every unit


def covers(scope: Scope, unit_code: str | None) -> bool:
    if scope is None:
        return True
    if unit_code is None:
        return False
    return unit_code in scope or any(unit_code.startswith(u + ".") for u in scope)


def within(column: Any, scope: Scope) -> Any:
    """Rows of these units and the units under them (``p.ha_noi`` covers ``p.ha_noi.so_noi_vu``).
    Rows without a unit belong to the system administrators only."""
    if scope is None:
        return true()
    if not scope:
        return false()
    units = sorted(scope)
    return or_(column.in_(units), *(column.startswith(f"{u}.", autoescape=True) for u in units))
