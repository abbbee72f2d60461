"""``hailong score``, ``qc``, ``sample-size``, ``report`` and ``export``: the analysts' commands.

Bad input is an ``error: …`` line on stderr and exit code 2; library errors arrive as ValueError.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from ..settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _guarded(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """ValueError (bad flow, period, file…) becomes the one-line error and exit code 2."""
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except ValueError as e:
            return _fail(str(e))
    run.__doc__ = fn.__doc__
    return run


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:6.2f}"


@_guarded
def cmd_score(args: argparse.Namespace) -> int:
    from . import score_flow

    result = score_flow(_settings().effective_database_url, args.flow, unit=args.unit, period=args.period,
                        by=args.by or (), quality=not args.no_qc)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"{result['flow']}: {result['responses']} responses scored, {result['excluded']} excluded")
    for name, value in result["indices"].items():
        ci = result["ci"][name]
        print(f"  {name:<28} {_fmt(value)}" + (f"  [{ci[0]:.2f}–{ci[1]:.2f}]" if ci else ""))
    return 0


@_guarded
def cmd_qc(args: argparse.Namespace) -> int:
    words = list(args.words)
    if words[0] == "override":
        return _override(args, words[1:])
    if len(words) != 1:
        return _fail("usage: hailong qc FLOW [--json] | hailong qc override RESPONSE_ID --include|--exclude --reason TEXT")
    from .frame import connect, newest_flow
    from .rounds import check_quality

    url = _settings().effective_database_url
    with connect(url) as conn:
        flow = newest_flow(conn, words[0])
    from ..store.db import create_engine_sync

    engine = create_engine_sync(url)
    try:
        report = check_quality(engine, flow, period=args.period)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
        return 0
    flagged = [f for f in report.flags if f.reasons]
    print(f"{flow.id}: {len(flagged)} flagged, {len(report.excluded)} excluded from scores")
    for f in report.flags:
        note = f" [{f.override}: {f.override_reason}]" if f.override else ""
        print(f"  {f.response_id:<34} {'counted ' if f.counted else 'excluded'} {', '.join(f.reasons) or '—'}{note}")
    return 0


def _override(args: argparse.Namespace, rest: list[str]) -> int:
    from .overrides import set_override

    if len(rest) != 1:
        return _fail("usage: hailong qc override RESPONSE_ID --include|--exclude|--clear --reason TEXT")
    chosen = [d for d, on in (("include", args.include), ("exclude", args.exclude), ("clear", args.clear)) if on]
    if len(chosen) != 1:
        return _fail("give exactly one of --include, --exclude, --clear")
    decision = None if chosen[0] == "clear" else chosen[0]
    flow_id = set_override(_settings().effective_database_url, rest[0], decision, args.reason or "",
                           decided_by=args.by_user)
    print(f"{rest[0]} ({flow_id}): " + ("override removed" if decision is None else f"{decision} anyway"))
    return 0


@_guarded
def cmd_sample_size(args: argparse.Namespace) -> int:
    from .sampling import plan_from_tsv, sample_size

    if (args.population is None) == (args.populations is None):
        return _fail("give --population N or --populations FILE.tsv")
    if args.population is not None:
        n = sample_size(args.population, args.margin)
        print(json.dumps({"population": args.population, "margin": args.margin, "sample": n}) if args.json else n)
        return 0
    path = Path(args.populations)
    if not path.is_file():
        return _fail(f"no file {path}")
    plans = plan_from_tsv(path, args.margin)
    if args.json:
        print(json.dumps([p.__dict__ for p in plans], ensure_ascii=False))
        return 0
    print("unit\tpopulation\tsample")
    for p in plans:
        print(f"{p.unit}\t{p.population}\t{p.sample}")
    print(f"total\t{sum(p.population for p in plans)}\t{sum(p.sample for p in plans)}")
    return 0


@_guarded
def cmd_report(args: argparse.Namespace) -> int:
    from .report import FORMATS, render_report

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        return _fail(f"unknown report format {', '.join(bad) or '(none)'}: use {', '.join(FORMATS)}")
    written = render_report(_settings().effective_database_url, args.flow, period=args.period,
                            previous=args.previous, out_dir=Path(args.out), formats=formats)
    for path in written:
        print(path)
    return 0


@_guarded
def cmd_export(args: argparse.Namespace) -> int:
    from . import export_responses

    n = export_responses(_settings().effective_database_url, args.flow, args.format, Path(args.out),
                         unit=args.unit, period=args.period, include_personal=args.include_personal)
    print(f"{n} responses written to {args.out}")
    return 0


def register(sub: Any) -> None:
    """Adds the analysts' subcommands to ``hailong``'s parser."""
    score = sub.add_parser("score", help="compute a flow's indices from stored responses")
    score.add_argument("flow")
    score.add_argument("--json", action="store_true")
    score.add_argument("--unit", help="a unit code; includes the units merged into it")
    score.add_argument("--period", help="YYYY, YYYY-Qn, YYYY-MM or FROM..TO")
    score.add_argument("--by", action="append", help="break down by channel, year, quarter, month or a question key "
                                                     "(repeatable)")
    score.add_argument("--no-qc", action="store_true", help="count flagged responses too")
    score.set_defaults(fn=cmd_score)

    qc = sub.add_parser("qc", help="quality flags of a flow's responses, or `qc override RESPONSE_ID ...`")
    qc.add_argument("words", nargs="+", metavar="FLOW | override RESPONSE_ID")
    qc.add_argument("--json", action="store_true")
    qc.add_argument("--period")
    qc.add_argument("--include", action="store_true", help="count the response although it is flagged")
    qc.add_argument("--exclude", action="store_true", help="leave the response out although it is not flagged")
    qc.add_argument("--clear", action="store_true", help="remove the override")
    qc.add_argument("--reason")
    qc.add_argument("--by-user", help="who decided (kept with the override)")
    qc.set_defaults(fn=cmd_qc)

    ss = sub.add_parser("sample-size", help="responses needed: n = N / (1 + N·e²)")
    ss.add_argument("--population", type=int)
    ss.add_argument("--populations", help="TSV with columns unit and population")
    ss.add_argument("--margin", type=float, default=0.05)
    ss.add_argument("--json", action="store_true")
    ss.set_defaults(fn=cmd_sample_size)

    rp = sub.add_parser("report", help="HTML / PDF / XLSX report of a period")
    rp.add_argument("flow")
    rp.add_argument("--period", required=True)
    rp.add_argument("--previous", help="period to compare with")
    rp.add_argument("--out", required=True)
    rp.add_argument("--format", default="html,pdf,xlsx")
    rp.set_defaults(fn=cmd_report)

    export = sub.add_parser("export", help="export data").add_subparsers(dest="export_command", required=True)
    er = export.add_parser("responses", help="one row per response, one column per result key")
    er.add_argument("--flow", required=True)
    er.add_argument("--format", choices=("csv", "xlsx", "parquet"), default="csv")
    er.add_argument("--out", required=True)
    er.add_argument("--unit")
    er.add_argument("--period")
    er.add_argument("--include-personal", action="store_true",
                    help="keep phone numbers and names (only for roles allowed to see personal data)")
    er.set_defaults(fn=cmd_export)
