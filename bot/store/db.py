"""Database connection: one URL (``HAILONG_DATABASE_URL``) for the async app and for migrations."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def _driver(url: str, *, sync: bool) -> URL:
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        return u.set(drivername="sqlite" if sync else "sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return u.set(drivername="postgresql+psycopg" if sync else "postgresql+asyncpg")
    raise ValueError(f"unsupported database URL {u.render_as_string(hide_password=True)}: use sqlite:/// or postgresql://")


def sync_url(url: str) -> URL:
    return _driver(url, sync=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def create_engine_async(url: str, *, pool_size: int = 20) -> AsyncEngine:
    u = _driver(url, sync=False)
    if u.get_backend_name() == "sqlite":
        engine = create_async_engine(u)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs three round trips per checkout. A connection broken by a server restart
    # fails one request, is invalidated, and the client's resend (same message id) is safe.
    # a large steady pool and a small overflow: overflow connections are closed on return, and
    # reopening one costs a PostgreSQL backend fork
    return create_async_engine(u, pool_size=pool_size, max_overflow=5, pool_recycle=1800)


def create_engine_sync(url: str) -> Engine:
    from sqlalchemy import create_engine

    u = sync_url(url)
    engine = create_engine(u)
    if u.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def upsert(engine_dialect: str, table: Any, values: dict[str, Any] | list[dict[str, Any]], keys: list[str],
           update: list[str] | None = None) -> Any:
    """INSERT … ON CONFLICT for SQLite and PostgreSQL alike."""
    ins = (pg_insert if engine_dialect == "postgresql" else sqlite_insert)(table).values(values)
    if not update:
        return ins.on_conflict_do_nothing(index_elements=keys)
    return ins.on_conflict_do_update(index_elements=keys, set_={c: ins.excluded[c] for c in update})
