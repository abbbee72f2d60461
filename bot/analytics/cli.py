"""``hailong score`` and ``hailong export``: the analysts' commands."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def cmd_score(args: argparse.Namespace) -> int:
    from . import score_flow

    try:
        result = score_flow(_settings().effective_database_url, args.flow, unit=args.unit, period=args.period)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{result['flow']}: {result['responses']} responses scored, {result['excluded']} excluded")
    for name, value in result["indices"].items():
        print(f"  {name:<28} {'—' if value is None else f'{value:6.2f}'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from . import export_responses

    try:
        n = export_responses(_settings().effective_database_url, args.flow, args.format, Path(args.out),
                             unit=args.unit, period=args.period)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{n} responses written to {args.out}")
    return 0


def register(sub: Any) -> None:
    """Adds the analysts' subcommands to ``hailong``'s parser."""
    score = sub.add_parser("score", help="compute a flow's indices from stored responses")
    score.add_argument("flow")
    score.add_argument("--json", action="store_true")
    score.add_argument("--unit")
    score.add_argument("--period", help="YYYY, YYYY-Qn, YYYY-MM or FROM..TO")
    score.set_defaults(fn=cmd_score)

    export = sub.add_parser("export", help="export data").add_subparsers(dest="export_command", required=True)
    er = export.add_parser("responses", help="one row per response, one column per result key")
    er.add_argument("--flow", required=True)
    er.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv")
    er.add_argument("--out", required=True)
    er.add_argument("--unit")
    er.add_argument("--period")
    er.set_defaults(fn=cmd_export)
