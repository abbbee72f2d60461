"""Scores one million synthetic `sipas` responses in memory and prints the time (issue E's target:
under 10 s on a 2-core machine): quality control (speeders, straight-lining, duplicates) and then
every index with its confidence interval, overall and per unit. Reading from the database is
measured separately (bench/export_million.py)."""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from bot.analytics import score
from bot.analytics.quality import QualityRules, flag_frame
from bot.flows import load_flow_file
from bot.settings import REPO_ROOT

SATISFACTION = ("e1_satisfaction", "e2_satisfaction", "e3_satisfaction", "e4_satisfaction", "e5_satisfaction",
                "overall_satisfaction")


def synthetic(rows: int, seed: int = 1) -> pd.DataFrame:
    """Completed responses over 34 provinces, every scale question answered at random, 2 % of
    respondents answering twice and durations around 10 minutes with a few speeders."""
    flow = load_flow_file(REPO_ROOT / "survey_flows" / "sipas.yaml")
    rng = np.random.default_rng(seed)
    scale = np.array(["0", "1", "2", "3", "4", "5"], dtype=object)
    lists = np.empty(4, dtype=object)
    lists[:] = [["info"], ["simpler", "faster"], ["fees", "attitude", "info"], ["facilities"]]
    people = rng.integers(0, int(rows * 0.98), rows)
    done = pd.Timestamp("2024-06-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 180 * 86400, rows), unit="s")
    cols: dict[str, object] = {
        "response_id": np.char.add("r", np.arange(rows).astype(str)).astype(object),
        "respondent": np.char.add("p", people.astype(str)).astype(object),
        "unit": rng.choice(np.array([f"p.{i:02d}" for i in range(34)], dtype=object), rows),
        "invitation": np.full(rows, None, dtype=object), "disposition": np.full(rows, "completed", dtype=object),
        "started_at": done - pd.to_timedelta(rng.gamma(6.0, 100.0, rows), unit="s"), "completed_at": done,
    }
    for q in flow.questions:
        if q.type == "scale":
            cols[q.key] = rng.choice(scale, rows)
    cols["expectations"] = rng.choice(lists, rows)
    return pd.DataFrame(cols)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    flow = load_flow_file(REPO_ROOT / "survey_flows" / "sipas.yaml")
    df = synthetic(args.rows)
    t = time.perf_counter()
    report = flag_frame(flow, df, QualityRules.of(flow))
    dropped = set(report.uncounted_completed())
    counted = df[~df["response_id"].isin(dropped)]
    t_qc = time.perf_counter() - t
    result = score(flow, counted, excluded=len(report.excluded))
    elapsed = time.perf_counter() - t
    print(json.dumps({"rows": args.rows, "seconds": round(elapsed, 2), "qc_seconds": round(t_qc, 2),
                      "excluded": result["excluded"], "sipas": result["indices"]["sipas"],
                      "sipas_ci": result["ci"]["sipas"], "units": len(result["by_unit"])}))


if __name__ == "__main__":
    main()
