"""Scores one million synthetic `sipas` responses in memory and prints the time (issue E's target:
under 10 s on a 2-core machine). Scoring only; reading from the database is measured separately."""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from bot.analytics import score
from bot.flows import load_flow_file
from bot.settings import REPO_ROOT


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    flow = load_flow_file(REPO_ROOT / "survey_flows" / "sipas.yaml")
    rng = np.random.default_rng(1)
    scale = np.array(["0", "1", "2", "3", "4", "5"], dtype=object)
    lists = np.empty(4, dtype=object)
    lists[:] = [["info"], ["simpler", "faster"], ["fees", "attitude", "info"], ["facilities"]]
    cols = {"unit": rng.choice(np.array([f"p.{i:02d}" for i in range(34)], dtype=object), args.rows)}
    for k in ("e1_satisfaction", "e2_satisfaction", "e3_satisfaction", "e4_satisfaction", "e5_satisfaction",
              "overall_satisfaction"):
        cols[k] = rng.choice(scale, args.rows)
    cols["expectations"] = rng.choice(lists, args.rows)
    df = pd.DataFrame(cols)
    t = time.perf_counter()
    result = score(flow, df)
    elapsed = time.perf_counter() - t
    print(json.dumps({"rows": args.rows, "seconds": round(elapsed, 2), "sipas": result["indices"]["sipas"],
                      "units": len(result["by_unit"])}))


if __name__ == "__main__":
    main()
