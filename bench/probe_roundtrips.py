#!/usr/bin/env python3
"""Counts what one answered web-chat message costs inside the server, without HTTP or concurrency.

One simulated respondent answers ``sipas`` through ``ConversationService.handle`` (the same call the
web chat's POST makes) on a fresh database, sequentially, for ``--sessions`` surveys. It reports per
message: SQL statements (and which), transactions, pool checkouts, Redis commands, and the CPU time
of this process (``time.process_time``), so the server's per-message cost can be split into the
core's share and the HTTP layer's share (compare with ``server_cpu_ms_per_msg`` of chat_load.py).

    .venv/bin/python bench/probe_roundtrips.py --backend postgres --sessions 20

Pool checkouts are counted because with ``pool_pre_ping`` each one costs a ping (on asyncpg:
BEGIN, an empty query and ROLLBACK) that SQLAlchemy's statement events do not see.
Local only: PostgreSQL and Redis on 127.0.0.1; the database and keys are removed at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chat_load import _drop_backend, _make_backend, _require_loopback, answer_for  # noqa: E402

from sqlalchemy import event  # noqa: E402

from bot.messages import Inbound  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.settings import REPO_ROOT, Settings  # noqa: E402
from bot.store.flows_repo import load_directory  # noqa: E402
from bot.store.migrate import upgrade  # noqa: E402


def _kind(sql: str) -> str:
    words = sql.strip().split()
    head = words[0].upper() if words else "?"
    table = ""
    upper = [w.upper() for w in words]
    for marker in ("INTO", "UPDATE", "FROM"):
        if marker in upper:
            i = upper.index(marker)
            if i + 1 < len(words):
                table = words[i + 1].strip('"')
                break
    if head == "UPDATE":
        table = words[1].strip('"') if len(words) > 1 else ""
    return f"{head} {table}".strip()


async def probe(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="hailong-probe-"))
    backend = await asyncio.to_thread(_make_backend, args.backend, data_dir, args.pg_admin_url, args.redis_url)
    services = None
    try:
        settings = Settings(data_dir=data_dir, database_url=backend.database_url, redis_url=backend.redis_url,
                            redis_prefix=backend.redis_prefix or "hailong:", secret_key="probe-secret")
        await asyncio.to_thread(upgrade, backend.database_url)
        services = build_services(settings)
        await load_directory(services.engine, REPO_ROOT / "survey_flows")
        await services.flows.refresh()
        conv = services.conversation

        counts: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        sync_engine = services.engine.sync_engine

        @event.listens_for(sync_engine, "before_cursor_execute")
        def _stmt(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            counts["sql"] += 1
            kinds[_kind(statement)] += 1

        @event.listens_for(sync_engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            counts["begin"] += 1

        @event.listens_for(sync_engine, "commit")
        def _commit(conn):  # type: ignore[no-untyped-def]
            counts["commit"] += 1

        @event.listens_for(sync_engine, "rollback")
        def _rollback(conn):  # type: ignore[no-untyped-def]
            counts["rollback"] += 1

        @event.listens_for(sync_engine.pool, "checkout")
        def _checkout(*_):  # type: ignore[no-untyped-def]
            counts["pool_checkout"] += 1

        redis_client = getattr(services.state, "_redis", None)
        if redis_client is not None:
            original = redis_client.execute_command

            async def counted(*a: Any, **kw: Any) -> Any:
                counts["redis"] += 1
                kinds[f"redis {a[0]}"] += 1
                return await original(*a, **kw)

            redis_client.execute_command = counted  # type: ignore[method-assign]
            # Lock.acquire/release go through registered scripts, which call execute_command too.

        rng = random.Random(1)
        messages = 0
        cpu = 0.0
        wall = 0.0
        completed = 0
        for s in range(args.sessions):
            key = secrets.token_hex(8)
            reply = await conv.start_session(Inbound(channel="web", respondent_key=key, kind="start", flow="sipas"))
            msgs = [m.to_json() for m in reply.messages]
            fs = reply.flow_state
            n = 0
            while fs.get("status") == "in_progress" and n < 150:
                body = answer_for(msgs, fs, rng)
                inbound = Inbound(channel="web", respondent_key=key,
                                  kind="text" if "text" in body else "choice", text=body.get("text", ""),
                                  choice=tuple(body["choice"]) if isinstance(body.get("choice"), list) else body.get("choice"),
                                  message_id=f"cid:c{n}")
                measure = s > 0  # the first survey warms caches (prepared statements, flow cache)
                if measure:
                    t0, c0 = time.perf_counter(), time.process_time()
                reply = await conv.handle(inbound)
                if measure:
                    wall += time.perf_counter() - t0
                    cpu += time.process_time() - c0
                    messages += 1
                else:
                    counts.clear()
                    kinds.clear()
                msgs = [m.to_json() for m in reply.messages]
                fs = reply.flow_state
                n += 1
            completed += fs.get("status") == "completed"
        per = {k: round(v / messages, 2) for k, v in sorted(counts.items())}
        return {
            "backend": args.backend,
            "messages_measured": messages,
            "surveys_completed": completed,
            "per_message": per,
            "statements_per_message": {k: round(v / messages, 2) for k, v in kinds.most_common()},
            "cpu_ms_per_message": round(cpu * 1000 / messages, 3),
            "wall_ms_per_message": round(wall * 1000 / messages, 3),
        }
    finally:
        if services is not None:
            await services.close()
        await asyncio.to_thread(_drop_backend, backend)
        shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Per-message SQL/Redis round trips and CPU of the conversation core.")
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="postgres")
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = p.parse_args(argv)
    _require_loopback(args.pg_admin_url, "--pg-admin-url")
    _require_loopback(args.redis_url, "--redis-url")
    if not 2 <= args.sessions <= 1000:
        p.error("--sessions must be between 2 and 1000")
    import json

    print(json.dumps(asyncio.run(probe(args)), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
