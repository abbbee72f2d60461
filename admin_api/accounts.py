"""Users and their tokens. A login issues a session token that expires; an API token (for the
one-stop software that sends rating links, say) lives until revoked. Only hashes are stored."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.tables import admin_tokens, admin_users
from bot.units import UnitCatalogue

from .errors import conflict, invalid
from .passwords import hash_password, new_token, token_hash, verify_password
from .roles import ROLES, SYSTEM_ADMIN, Principal

MIN_PASSWORD = 10
_DUMMY_HASH = hash_password(secrets.token_hex(8))


@dataclass(frozen=True)
class User:
    id: str
    username: str
    role: str
    unit_code: str | None
    disabled: bool
    created_at: datetime


def _user(row: object) -> User:
    m = row._mapping  # type: ignore[attr-defined]
    return User(m["id"], m["username"], m["role"], m["unit_code"], bool(m["disabled"]), m["created_at"])


def scope_for(units: UnitCatalogue, role: str, unit_code: str | None) -> frozenset[str] | None:
    if role == SYSTEM_ADMIN:
        return None
    if not unit_code:
        return frozenset()
    return frozenset(units.lineage(unit_code)) if unit_code in units.units else frozenset({unit_code})


def known_unit(units: UnitCatalogue, code: str) -> bool:
    """A catalogue unit, or a department under one (``p.ha_noi.so_noi_vu``)."""
    return code in units.units or any(code.startswith(u + ".") for u in units.units)


def check_new_user(units: UnitCatalogue, username: str, password: str, role: str, unit_code: str | None) -> None:
    if role not in ROLES:
        raise invalid(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise invalid(f"the password needs at least {MIN_PASSWORD} characters")
    if role != SYSTEM_ADMIN and not unit_code:
        raise invalid(f"a {role} belongs to a unit: give unit_code")
    if unit_code and not known_unit(units, unit_code):
        raise invalid(f"unknown unit {unit_code!r}")
    if not username or len(username) > 80 or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise invalid("username: letters, digits, '.', '_' and '-', at most 80")


async def create_user(conn: AsyncConnection, units: UnitCatalogue, *, username: str, password: str, role: str,
                      unit_code: str | None) -> User:
    username = username.strip().lower()
    check_new_user(units, username, password, role, unit_code)
    values = {"id": secrets.token_hex(8), "username": username, "password_hash": hash_password(password),
              "role": role, "unit_code": unit_code or None, "disabled": False, "created_at": datetime.now(timezone.utc)}
    try:
        async with conn.begin_nested():
            await conn.execute(admin_users.insert().values(**values))
    except IntegrityError:
        raise conflict(f"username {username!r} is taken") from None
    return User(values["id"], username, role, values["unit_code"], False, values["created_at"])


async def get_user(conn: AsyncConnection, user_id: str) -> User | None:
    row = (await conn.execute(select(admin_users).where(admin_users.c.id == user_id))).first()
    return _user(row) if row else None


async def set_disabled(conn: AsyncConnection, user_id: str, disabled: bool) -> None:
    await conn.execute(update(admin_users).where(admin_users.c.id == user_id).values(disabled=disabled))
    if disabled:
        await conn.execute(delete(admin_tokens).where(admin_tokens.c.user_id == user_id))


async def set_password(conn: AsyncConnection, user_id: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise invalid(f"the password needs at least {MIN_PASSWORD} characters")
    await conn.execute(update(admin_users).where(admin_users.c.id == user_id).values(password_hash=hash_password(password)))
    await conn.execute(delete(admin_tokens).where(and_(admin_tokens.c.user_id == user_id, admin_tokens.c.kind == "session")))


async def check_password(engine: AsyncEngine, username: str, password: str) -> User | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(admin_users).where(admin_users.c.username == username.strip().lower()))).first()
    if row is None:
        verify_password(password, _DUMMY_HASH)  # the same work either way: no user enumeration by timing
        return None
    if not verify_password(password, row.password_hash) or row.disabled:
        return None
    return _user(row)


async def issue_token(conn: AsyncConnection, user_id: str, *, kind: str, name: str | None = None,
                      ttl: timedelta | None = None) -> tuple[str, datetime | None]:
    token = "hl_" + new_token()
    now = datetime.now(timezone.utc)
    expires = now + ttl if ttl else None
    await conn.execute(admin_tokens.insert().values(token_hash=token_hash(token), user_id=user_id, kind=kind,
                                                    name=name, expires_at=expires, created_at=now))
    return token, expires


async def revoke_token(conn: AsyncConnection, token: str) -> None:
    await conn.execute(delete(admin_tokens).where(admin_tokens.c.token_hash == token_hash(token)))


async def principal_for(engine: AsyncEngine, units: UnitCatalogue, token: str) -> Principal | None:
    now = datetime.now(timezone.utc)
    q = (select(admin_users, admin_tokens.c.kind)
         .join(admin_tokens, admin_tokens.c.user_id == admin_users.c.id)
         .where(admin_tokens.c.token_hash == token_hash(token), admin_users.c.disabled == False,  # noqa: E712
                or_(admin_tokens.c.expires_at.is_(None), admin_tokens.c.expires_at > now)))
    async with engine.connect() as conn:
        row = (await conn.execute(q)).first()
    if row is None:
        return None
    return Principal(row.id, row.username, row.role, row.unit_code, scope_for(units, row.role, row.unit_code),
                     token_kind=row.kind)


async def purge_expired(conn: AsyncConnection) -> int:
    res = await conn.execute(delete(admin_tokens).where(admin_tokens.c.expires_at < func.now()))
    return res.rowcount or 0
