"""Queues a campaign of N invitations (Telegram and Zalo) with an injected clock, as the server's
loop would over a working morning, and reports what an operator cares about: wall time of the
queueing work per 1,000 invitations, the busiest second per channel against its cap, and that
nobody got two messages. Delivery itself is the outbox sender's (bench/webhook_load.py).

    python bench/invitations_send.py                       # 10,000 on a fresh SQLite file
    python bench/invitations_send.py --database-url postgresql://postgres@127.0.0.1:5432/bench_inv
(the PostgreSQL database must exist and be empty; it is migrated here)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from bot.campaigns import send_due, service
from bot.campaigns.lists import read_csv
from bot.campaigns.pacing import CAPS
from bot.services import build_services
from bot.settings import REPO_ROOT, Settings
from bot.store.flows_repo import load_directory
from bot.store.migrate import upgrade
from bot.store.tables import outbox

START = datetime(2025, 9, 1, 1, 0, tzinfo=timezone.utc)  # Monday 08:00 in Hà Nội


def people(n: int) -> bytes:
    lines = ["Họ tên,Đơn vị,Kênh,Tài khoản"]
    for i in range(n):
        if i % 5 < 3:
            lines.append(f"Cán bộ {i},{'p.ha_noi' if i % 2 else 'p.hue'},telegram,{700_000_000 + i}")
        else:
            lines.append(f"Công chức {i},p.hue,zalo,{4_000_000_000_000 + i}")
    return ("\n".join(lines) + "\n").encode()


def busiest_second(times: list[datetime]) -> int:
    times.sort()
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - timedelta(seconds=1):
            j += 1
        best = max(best, i - j + 1)
    return best


async def main(n: int, url: str, tick: float) -> dict[str, object]:
    upgrade(url)
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), database_url=url, secret_key="bench",
                        telegram_token="1:bench", telegram_secret="bench", zalo_app_id="1",
                        zalo_oa_secret_key="k", zalo_refresh_token="r")
    services = build_services(settings)
    try:
        await load_directory(services.engine, REPO_ROOT / "survey_flows")
        t0 = time.perf_counter()
        spec = service.CampaignSpec("bench", "par_index", ("p.ha_noi", "p.hue"))
        cid = await service.create_campaign(services, spec, scope=None, by=None, now=START)
        await service.import_list(services, cid, read_csv(people(n)), scope=None, now=START)
        await service.set_status(services, cid, "sending", scope=None, now=START)
        imported = time.perf_counter() - t0
        now, queued, ticks, t1 = START, 0, 0, time.perf_counter()
        while queued < n and ticks < 100_000:
            queued += await send_due(services, now)
            now += timedelta(seconds=tick)
            ticks += 1
        queue_time = time.perf_counter() - t1
        async with services.engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.respondent_id, outbox.c.channel, outbox.c.next_attempt_at))).all()
    finally:
        await services.close()
    per_channel = Counter(r.channel for r in rows)
    return {
        "invitations": n, "database": url.split(":", 1)[0], "import_s": round(imported, 2),
        "queue_s": round(queue_time, 2), "queue_ms_per_1000": round(1000 * queue_time / max(n, 1) * 1000, 1),
        "ticks": ticks, "campaign_minutes": round((now - START).total_seconds() / 60, 1),
        "per_channel": dict(per_channel),
        "busiest_second": {c: busiest_second([r.next_attempt_at for r in rows if r.channel == c]) for c in per_channel},
        "caps": {c: CAPS[c] for c in per_channel},
        "messaged_twice": sum(1 for v in Counter(r.respondent_id for r in rows).values() if v > 1),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--tick", type=float, default=5.0, help="seconds between send_due calls (the server's loop)")
    a = ap.parse_args()
    url = a.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    print(json.dumps(asyncio.run(main(a.n, url, a.tick)), ensure_ascii=False, indent=1))
