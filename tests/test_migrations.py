"""The Alembic migrations build exactly the schema the code uses, on both databases."""
from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store.db import create_engine_sync
from bot.store.tables import metadata


def _diff(url: str) -> list:  # type: ignore[type-arg]
    engine = create_engine_sync(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return [d for d in compare_metadata(ctx, metadata) if not _server_default_only(d)]
    finally:
        engine.dispose()


def _server_default_only(diff: object) -> bool:
    return isinstance(diff, list) and all(d[0] == "modify_default" for d in diff)


def test_sqlite_schema_matches_the_tables(tmp_path: Path) -> None:
    from bot.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    assert _diff(url) == []


def test_postgres_schema_matches_the_tables(pg_url: str) -> None:
    assert _diff(pg_url) == []
