#!/usr/bin/env python3
"""Unit costs behind the web chat's per-message CPU, measured one at a time on this machine:
one PostgreSQL round trip through SQLAlchemy's async engine vs raw asyncpg, one pool checkout with
``pool_pre_ping``, one Redis command, building + compiling an ``upsert`` statement, verifying a
session token, and one aiohttp request/response over loopback.

Each figure is CPU (process_time) and wall time per operation, averaged over ``--n`` operations,
sequentially (no concurrency). Local only; the scratch database and keys are removed at the end.

    .venv/bin/python bench/micro_costs.py --n 2000
"""
from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_load import _drop_backend, _make_backend, _require_loopback  # noqa: E402


async def _timed(n: int, fn: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    for _ in range(min(50, n)):  # warm up caches and prepared statements
        await fn()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        await fn()
    return {"cpu_us": round((time.process_time() - c0) / n * 1e6, 1),
            "wall_us": round((time.perf_counter() - t0) / n * 1e6, 1)}


def _timed_sync(n: int, fn: Callable[[], Any]) -> dict[str, float]:
    for _ in range(min(50, n)):
        fn()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        fn()
    return {"cpu_us": round((time.process_time() - c0) / n * 1e6, 1),
            "wall_us": round((time.perf_counter() - t0) / n * 1e6, 1)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg
    import redis.asyncio as aioredis
    from aiohttp import ClientSession, web
    from sqlalchemy import select, text, update
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.store.db import _driver, upsert
    from bot.store.migrate import upgrade
    from bot.store.tables import answers, respondents
    from channels.webchat.tokens import SessionTokens

    data_dir = Path(tempfile.mkdtemp(prefix="hailong-micro-"))
    backend = await asyncio.to_thread(_make_backend, "postgres", data_dir, args.pg_admin_url, args.redis_url)
    out: dict[str, Any] = {}
    try:
        await asyncio.to_thread(upgrade, backend.database_url)
        url = _driver(backend.database_url, sync=False)
        n = args.n

        # --- PostgreSQL ---------------------------------------------------------------------
        eng_ping = create_async_engine(url, pool_size=2, max_overflow=0, pool_pre_ping=True)
        eng = create_async_engine(url, pool_size=2, max_overflow=0, pool_pre_ping=False)

        async def sa_connect_select(engine: Any) -> None:
            async with engine.connect() as conn:
                await conn.execute(select(respondents.c.channel).where(respondents.c.id == "nope"))

        out["sa_connect+select+rollback (pre_ping)"] = await _timed(n, lambda: sa_connect_select(eng_ping))
        out["sa_connect+select+rollback (no pre_ping)"] = await _timed(n, lambda: sa_connect_select(eng))
        async with eng.connect() as conn:
            stmt = select(respondents.c.channel).where(respondents.c.id == "nope")

            async def sa_select() -> None:
                await conn.execute(stmt)

            out["sa_execute select, open connection"] = await _timed(n, sa_select)

            async def sa_text() -> None:
                await conn.execute(text("SELECT 1"))

            out["sa_execute text('SELECT 1')"] = await _timed(n, sa_text)
            await conn.rollback()
        raw = await asyncpg.connect(backend.database_url.replace("postgresql://", "postgres://"))
        ps = await raw.prepare("SELECT channel FROM respondents WHERE id = $1")

        async def raw_select() -> None:
            await ps.fetch("nope")

        out["asyncpg prepared fetch"] = await _timed(n, raw_select)

        async def raw_pipeline_tx() -> None:  # one round trip for a whole write transaction
            await raw.execute("BEGIN; UPDATE respondents SET last_seq = last_seq WHERE id = 'nope'; COMMIT")

        out["asyncpg simple-query BEGIN;UPDATE;COMMIT (1 round trip)"] = await _timed(n, raw_pipeline_tx)
        await raw.close()
        await eng.dispose()
        await eng_ping.dispose()

        # --- SQLAlchemy statement construction (no I/O) ------------------------------------
        def build_upsert() -> None:
            st = upsert("postgresql", answers, {"response_id": "s1", "key": "k", "value": "v", "answered_at": None},
                        ["response_id", "key"], ["value", "answered_at"])
            st._generate_cache_key()

        out["build upsert + cache key (no I/O)"] = _timed_sync(n, build_upsert)

        def build_update() -> None:
            st = update(respondents).where(respondents.c.id == "r1").values(last_seq=3)
            st._generate_cache_key()

        out["build update + cache key (no I/O)"] = _timed_sync(n, build_update)

        # --- Redis ---------------------------------------------------------------------------
        r = aioredis.Redis.from_url(args.redis_url)
        key = f"{backend.redis_prefix}micro"

        async def redis_get() -> None:
            await r.get(key)

        out["redis GET"] = await _timed(n, redis_get)

        async def redis_lock_cycle() -> None:
            lock = r.lock(f"{key}:lock", timeout=30, blocking_timeout=30, sleep=0.005)
            await lock.acquire()
            await lock.release()

        out["redis lock acquire+release"] = await _timed(n, redis_lock_cycle)

        async def redis_pipeline() -> None:
            async with r.pipeline(transaction=False) as p:
                p.set(f"{key}:a", "1", nx=True, px=30000)
                p.get(key)
                await p.execute()

        out["redis pipeline SET NX + GET (1 round trip)"] = await _timed(n, redis_pipeline)
        await r.aclose()

        # --- tokens --------------------------------------------------------------------------
        tokens = SessionTokens(secrets.token_urlsafe(32), 3600)
        _, tok = tokens.issue()
        out["SessionTokens.verify"] = _timed_sync(n, lambda: tokens.verify(tok))

        # --- aiohttp request over loopback (client and server in this process) ---------------
        app = web.Application()

        async def echo(request: web.Request) -> web.Response:
            body = await request.json()
            return web.json_response({"messages": [{"seq": 1, "text": "x" * 200, "input": {"type": "choice"}}], "b": body})

        app.router.add_post("/e", echo)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        async with ClientSession() as http:
            async def call() -> None:
                async with http.post(f"http://127.0.0.1:{port}/e", json={"choice": "3", "cid": "c1"}) as resp:
                    await resp.read()

            out["aiohttp POST+JSON round trip (client+server CPU)"] = await _timed(n, call)
        await runner.cleanup()
    finally:
        await asyncio.to_thread(_drop_backend, backend)
        shutil.rmtree(data_dir, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Unit costs of the web chat's building blocks on this machine.")
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = p.parse_args(argv)
    _require_loopback(args.pg_admin_url, "--pg-admin-url")
    _require_loopback(args.redis_url, "--redis-url")
    if not 10 <= args.n <= 100_000:
        p.error("--n must be between 10 and 100000")
    print(json.dumps(asyncio.run(run(args)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
