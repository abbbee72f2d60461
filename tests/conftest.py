"""Shared fixtures. Every test that touches storage runs twice: on the embedded default (SQLite
file + in-process state) and on PostgreSQL + Redis, which run on every machine of this project."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import AsyncIterator, Iterator

import pytest
import redis as redis_sync
from sqlalchemy import create_engine, text

from bot.services import Services, build_services
from bot.settings import REPO_ROOT, Settings
from bot.store.flows_repo import load_directory
from bot.store.migrate import upgrade
from bot.store.tables import metadata

PG_ADMIN_URL = os.environ.get("HAILONG_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HAILONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ("sqlite", "postgres")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test run, migrated once."""
    name = f"hailong_t_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Settings]:
    prefix = f"hailong-test:{secrets.token_hex(4)}:"
    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
        _truncate_pg(url)
        s = Settings(data_dir=tmp_path, database_url=url, redis_url=REDIS_URL, redis_prefix=prefix,
                     secret_key="test-secret-key")
    else:
        url = f"sqlite:///{tmp_path / 'hailong.sqlite3'}"
        upgrade(url)
        s = Settings(data_dir=tmp_path, database_url=url, secret_key="test-secret-key")
    yield s
    if backend == "postgres":
        r = redis_sync.Redis.from_url(REDIS_URL)
        # the job queue's keys are saq's: "saq:<prefix>jobs…" and "saq:job:<prefix>jobs…"
        keys = list(r.scan_iter(f"{prefix}*")) + list(r.scan_iter(f"saq:*{prefix}*"))
        if keys:
            r.delete(*keys)
        r.close()


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    s = build_services(settings)
    await load_directory(s.engine, REPO_ROOT / "survey_flows")
    yield s
    await s.close()
