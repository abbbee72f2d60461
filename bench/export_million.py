"""Exports synthetic `sipas` rounds of two sizes from SQLite and reports each export's peak RSS:
if exports stream in chunks, the peak does not grow with the number of rows (issue E).

Builds the database once (``--db`` keeps it for later runs); each export runs in a fresh child
process so its peak RSS (``ru_maxrss``) is its own. The small round is the first tenth of the
responses, selected with ``--period`` (it is dated 2023, the rest 2024).
"""
from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.flows import load_flow_file
from bot.settings import REPO_ROOT
from bot.store.flows_repo import checksum
from bot.store.migrate import upgrade

KEYS = ("e1_satisfaction", "e2_satisfaction", "e3_satisfaction", "e4_satisfaction", "e5_satisfaction",
        "overall_satisfaction", "expectations", "service_used_other")
BATCH = 50_000


def build(path: Path, rows: int) -> None:
    """``rows`` completed responses with eight answers each, written with plain sqlite3 (the ORM
    would take longer than the export being measured)."""
    upgrade(f"sqlite:///{path}")
    flow = load_flow_file(REPO_ROOT / "survey_flows" / "sipas.yaml")
    rng = np.random.default_rng(7)
    scale = np.array(['"0"', '"1"', '"2"', '"3"', '"4"', '"5"'])
    lists = np.array(['["info"]', '["simpler", "faster"]', '["fees"]'])
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("INSERT INTO flows VALUES (?, ?, ?, ?, ?, 1, '2024-01-01 00:00:00.000000')",
               ("sipas", flow.version, flow.title, json.dumps(flow.source, ensure_ascii=False), checksum(flow.source)))
    small = rows // 10
    for lo in range(0, rows, BATCH):
        ids = [f"r{i:08d}" for i in range(lo, min(rows, lo + BATCH))]
        when = ["2023-06-01 03:00:00.000000" if int(i[1:]) < small else "2024-06-01 03:00:00.000000" for i in ids]
        db.executemany("INSERT INTO respondents VALUES (?, 'zalo', ?, ?)", [(f"p{i}", f"k{i}", w) for i, w in zip(ids, when)])
        db.executemany("INSERT INTO responses (id, flow_id, flow_version, respondent_id, channel, unit_code, "
                       "invitation_code, disposition, state, context, preview, started_at, updated_at, completed_at) "
                       "VALUES (?, 'sipas', 1, ?, 'zalo', ?, NULL, 'completed', '{}', NULL, 0, ?, ?, ?)",
                       [(i, f"p{i}", f"p.{int(i[1:]) % 34:02d}", w, w, w) for i, w in zip(ids, when)])
        n = len(ids)
        cells = {k: rng.choice(scale, n) for k in KEYS[:6]}
        cells["expectations"] = rng.choice(lists, n)
        cells["service_used_other"] = np.array(['"Cấp đổi giấy phép lái xe, gọi 0912 345 678"'] * n)
        db.executemany("INSERT INTO answers VALUES (?, ?, ?, ?)",
                       [(i, k, cells[k][j], w) for j, (i, w) in enumerate(zip(ids, when)) for k in KEYS])
        db.commit()
    db.close()


def child(url: str, fmt: str, out: str, period: str | None) -> None:
    from bot.analytics import export_responses

    t = time.perf_counter()
    n = export_responses(url, "sipas", fmt, out, period=period)
    print(json.dumps({"rows": n, "seconds": round(time.perf_counter() - t, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", help="database file to build or reuse")
    ap.add_argument("--format", default="csv", choices=("csv", "parquet"))
    ap.add_argument("--child", nargs=4, metavar=("URL", "FORMAT", "OUT", "PERIOD"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        url, fmt, out, period = args.child
        child(url, fmt, out, None if period == "-" else period)
        return
    work = Path(tempfile.mkdtemp(prefix="export_bench_"))
    db = Path(args.db) if args.db else work / "round.sqlite3"
    if not db.exists():
        t = time.perf_counter()
        build(db, args.rows)
        print(json.dumps({"built_rows": args.rows, "seconds": round(time.perf_counter() - t, 1)}), flush=True)
    url = f"sqlite:///{db}"
    for label, period in (("tenth", "2023"), ("all", "-")):
        out = work / f"{label}.{args.format}"
        run = subprocess.run([sys.executable, __file__, "--child", url, args.format, str(out), period],
                             capture_output=True, text=True, check=True)
        result = json.loads(run.stdout)
        print(json.dumps({"export": label, "format": args.format, **result,
                          "file_mb": round(out.stat().st_size / 2**20, 1)}), flush=True)
        out.unlink()


if __name__ == "__main__":
    main()
