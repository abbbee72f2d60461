#!/usr/bin/env python3
"""Hailong against a comparable Rasa 3.6 bot, same machine, same run, same load (issue F).

Runs ``bench/mixed_load.py``'s scan (same rate steps, same mix, same user scripts) against, one
after the other:

1. Hailong on PostgreSQL + Redis, 1 and 2 ``hailong run`` processes (``--workers``), with the
   channel-wide platform send pacing lifted (``--unpaced``, the default here: Rasa's REST channel
   sends nothing to any platform, so the shipped Zalo 20/s and Telegram 25/s caps would measure
   the platforms' limits, not the server; ``--paced`` keeps the shipped configuration);
2. the Rasa bot of ``bench/rasa_bot/`` (trained and served by ``bench/rasa_bot/run`` in
   .venv-rasa), 1 and 2 Sanic workers, tracker and lock store in Redis (``--rasa-tracker``);
   ``--rasa-memory`` adds a one-worker run with the in-memory tracker store, Rasa's fastest.

Then prints one table: the highest rate each held with p99 < 100 ms and no errors, what it
measured at that rate (messages/s, p50/p99, CPU per message of the server alone and with its
stores, RSS of the server processes), the most messages/s it answered at any step, and the ratio
of Hailong's held rate to Rasa's.

Examples::

    .venv/bin/python bench/compare_rasa.py                       # the full comparison (~20-30 min)
    .venv/bin/python bench/compare_rasa.py --workers 1 --duration 10 --scan 2,5,10,20,50,100,200
    make bench-rasa
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mixed_load  # noqa: E402

DEFAULT_SCAN = mixed_load.DEFAULT_SCAN


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Hailong against the comparison Rasa bot under the same mixed load.")
    mixed_load.add_common_args(p)
    p.set_defaults(workers="1,2", scan=DEFAULT_SCAN, capacity=True)
    p.add_argument("--paced", action="store_true", help="Hailong with the shipped send pacing (not --unpaced)")
    p.add_argument("--rasa-memory", action="store_true", help="also run Rasa with the in-memory tracker (1 worker)")
    p.add_argument("--only", choices=("hailong", "rasa"), help="run one side only")
    args = p.parse_args(argv)
    args.unpaced = not args.paced
    mixed_load.check_args(p, args)
    if not args.scan:
        p.error("compare_rasa always scans (--scan RATES)")
    return args


def plan(args: argparse.Namespace) -> list[tuple[str, int, argparse.Namespace]]:
    """(system, workers, options) in the order they run: Hailong first, then Rasa."""
    out = []
    for system in ("hailong", "rasa"):
        if args.only and system != args.only:
            continue
        for w in args.workers_list:
            out.append((system, w, args))
    if args.rasa_memory and args.only != "hailong":
        out.append(("rasa", 1, argparse.Namespace(**{**vars(args), "rasa_tracker": "memory"})))
    return out


def summary_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per target: its best passing step and the most it answered at any step."""
    rows = []
    for r in results:
        b = r["best"] or {}
        top = max(r["steps"], key=lambda s: s["msgs_per_s"]) if r["steps"] else {}
        rows.append({
            "target": r["target"], "system": r["system"], "workers": r["workers"],
            "held_rate": r["best_rate"], "first_failed_rate": r["first_failed_rate"],
            "failed_below": r["failed_below_best"],
            "msgs_per_s": b.get("msgs_per_s"), "p50_ms": b.get("p50_ms"), "p99_ms": b.get("p99_ms"),
            "server_cpu_ms_per_msg": b.get("server_cpu_ms_per_msg"), "total_cpu_ms_per_msg": b.get("total_cpu_ms_per_msg"),
            "rss_mb": b.get("rss_mb") or top.get("rss_mb"),
            "other_cores": (b.get("cpu_cores") or {}).get("other"),
            "capacity_rate": r["capacity_rate"], "capacity_p99_ms": (r["capacity"] or {}).get("p99_ms"),
            "capacity_server_cpu_ms_per_msg": (r["capacity"] or {}).get("server_cpu_ms_per_msg"),
            "max_msgs_per_s": top.get("msgs_per_s"), "max_at_rate": top.get("rate"), "max_p99_ms": top.get("p99_ms"),
        })
    return rows


def ratio(rows: list[dict[str, Any]], key: str = "held_rate") -> dict[str, Any]:
    """Hailong's rate over Rasa's (``held_rate`` or ``capacity_rate``), per worker count and best
    against best; a side that held no step gives no ratio rather than a made-up one."""
    by = {(r["system"], r["workers"]): r[key] for r in rows if "memory" not in r["target"]}
    best = {s: max((r[key] or 0 for r in rows if r["system"] == s), default=0) for s in ("hailong", "rasa")}
    out: dict[str, Any] = {}
    for (system, w), rate in by.items():
        rasa = by.get(("rasa", w))
        if system == "hailong" and rate and rasa:
            out[f"w{w}"] = round(rate / rasa, 1)
    if best["hailong"] and best["rasa"]:
        out["best_vs_best"] = round(best["hailong"] / best["rasa"], 1)
    return out


def table(rows: list[dict[str, Any]], p99_ms: float, capacity_p99_ms: float) -> str:
    def v(x: Any) -> str:
        return "-" if x is None else f"{x:g}" if isinstance(x, (int, float)) else str(x)

    head = ("target", f"held rate (p99<{p99_ms:g}ms, 0 err)", "steps failed below it", "msgs/s", "p50 ms", "p99 ms",
            "server CPU ms/msg", "+pg+redis ms/msg", "RSS MB", "other cores",
            f"capacity (0 err, p99<{capacity_p99_ms:g}ms)", "its p99 ms", "its server ms/msg")
    body = [(r["target"], v(r["held_rate"]), ",".join(f"{x:g}" for x in r["failed_below"]) or "-", v(r["msgs_per_s"]),
             v(r["p50_ms"]), v(r["p99_ms"]), v(r["server_cpu_ms_per_msg"]), v(r["total_cpu_ms_per_msg"]), v(r["rss_mb"]),
             v(r["other_cores"]), v(r["capacity_rate"]), v(r["capacity_p99_ms"]), v(r["capacity_server_cpu_ms_per_msg"]))
            for r in rows]
    return mixed_load.format_table(head, body)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = mixed_load.run_main(lambda: mixed_load.run_targets(plan(args)))
    if results is None:
        return 130
    rows = summary_rows(results)
    text = (table(rows, args.p99_ms, args.capacity_p99_ms) + "\n"
            + f"Hailong / Rasa, held rate: {ratio(rows) or 'n/a (a side held no step)'}; "
            f"capacity: {ratio(rows, 'capacity_rate') or 'n/a'}")
    if args.json:  # the table still goes to stderr, for the eye
        print(text, file=sys.stderr)
        print(json.dumps({"summary": rows, "ratio_held": ratio(rows), "ratio_capacity": ratio(rows, "capacity_rate"),
                          "runs": results}, ensure_ascii=False, indent=2))
        return 0
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
