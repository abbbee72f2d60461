"""Fault tests run on their own PostgreSQL cluster and Redis server (see services.py)."""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Iterator

import pytest

from bot.settings import REPO_ROOT, Settings
from bot.store.migrate import upgrade

from .services import PrivatePostgres, PrivateRedis, private_pg, private_redis  # noqa: F401  (fixtures)


@pytest.fixture
def fault_settings(private_pg: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path) -> Iterator[Settings]:
    """A fresh, migrated database with the seed flows on the private cluster, and the private Redis."""
    url = private_pg.create_database(f"faults_{secrets.token_hex(4)}")
    upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, redis_url=private_redis.url,
                        redis_prefix="faults:", secret_key="faults-secret-key", send_user_pacing=False,
                        flows_dir=REPO_ROOT / "survey_flows")
    import asyncio

    from bot.store.db import create_engine_async
    from bot.store.flows_repo import load_directory

    async def load() -> None:
        engine = create_engine_async(url)
        await load_directory(engine, REPO_ROOT / "survey_flows")
        await engine.dispose()

    asyncio.run(load())
    yield settings
