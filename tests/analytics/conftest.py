"""Databases for the analytics tests: the hand-checked round on SQLite and on PostgreSQL."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from analytics_fixtures import populate
from sqlalchemy import text

from bot.store.db import create_engine_sync
from bot.store.migrate import upgrade
from bot.store.tables import metadata


def _reset_pg(url: str) -> None:
    engine = create_engine_sync(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in metadata.sorted_tables) + " CASCADE"))
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def round_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The populated database, built once per module and backend (tests only read it)."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        _reset_pg(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('analytics') / 'round.sqlite3'}"
        upgrade(url)
    populate(url)
    yield url
    if request.param == "postgres":
        _reset_pg(url)


@pytest.fixture(params=["sqlite", "postgres"])
def own_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty migrated database on each backend for tests that write their own rows. Keep such
    tests out of modules that use ``round_url``: both share the session's PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'own.sqlite3'}"
        upgrade(url)
        yield url
        return
    url = request.getfixturevalue("pg_url")
    _reset_pg(url)
    yield url
    _reset_pg(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty migrated SQLite database for tests that write their own rows."""
    url = f"sqlite:///{tmp_path / 'own.sqlite3'}"
    upgrade(url)
    return url
