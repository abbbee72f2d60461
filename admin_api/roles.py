"""Who may do what. Roles are data on the user; the unit scope is computed from the unit
catalogue so that an administrator of today's province also sees the provinces merged into it."""
from __future__ import annotations

from dataclasses import dataclass

from bot.store.scope import covers, within

__all__ = ["Principal", "covers", "within", "ROLES", "EVERYONE", "ADMINS", "ANSWERERS", "READERS",
           "SYSTEM_ADMIN", "UNIT_ADMIN", "OFFICIAL", "ANALYST"]

SYSTEM_ADMIN, UNIT_ADMIN, OFFICIAL, ANALYST = "system_admin", "unit_admin", "official", "analyst"
ROLES = (SYSTEM_ADMIN, UNIT_ADMIN, OFFICIAL, ANALYST)
EVERYONE = frozenset(ROLES)
ADMINS = frozenset({SYSTEM_ADMIN, UNIT_ADMIN})
ANSWERERS = frozenset({SYSTEM_ADMIN, UNIT_ADMIN, OFFICIAL})
READERS = frozenset({SYSTEM_ADMIN, UNIT_ADMIN, ANALYST})


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: str
    unit_code: str | None
    # None: every unit (the Ministry of Home Affairs' system administrators)
    scope: frozenset[str] | None
    token_kind: str = "session"

    def covers(self, unit_code: str | None) -> bool:
        return covers(self.scope, unit_code)
