#!/usr/bin/env python3
"""Summarise py-spy "raw" (collapsed stack) files written by ``chat_load.py --profile DIR``.

Prints the functions with the most samples on top of the stack (self time) and the project
functions with the most samples anywhere on the stack (inclusive time), as a share of all samples.

    .venv/bin/python bench/profile_summary.py /tmp/prof/postgres-w1-0.txt [--top 25]
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

PROJECT = ("bot/", "channels/", "admin_api/")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def _parse(frame: str) -> tuple[str, str]:
    m = _FRAME.match(frame)
    if not m:
        return frame, ""
    return m.group("func"), m.group("file")


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _component(file: str) -> str:
    """Which layer a frame belongs to, for a self-time breakdown."""
    short = _short(file)
    for needle, name in (("sqlalchemy", "SQLAlchemy"), ("asyncpg", "asyncpg"), ("aiosqlite", "aiosqlite"),
                         ("redis/", "redis-py"), ("aiohttp", "aiohttp"), ("yarl", "aiohttp"), ("multidict", "aiohttp"),
                         ("asyncio/", "asyncio loop and transports"), ("selectors", "asyncio loop and transports"),
                         ("itsdangerous", "session tokens"), ("hmac", "session tokens"), ("json", "json")):
        if needle in short:
            return name
    if short.startswith(PROJECT) or short in ("db.py", "flows_repo.py"):
        return "project code"
    return "other"


def summarise(paths: list[Path], top: int) -> str:
    self_counts: Counter[str] = Counter()
    incl_project: Counter[str] = Counter()
    incl_module: Counter[str] = Counter()
    components: Counter[str] = Counter()
    total = 0
    idle = 0
    for path in paths:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [f for f in stack.split(";") if not f.startswith("process ") and not f.startswith("thread ")]
            if not frames:
                continue
            total += n
            func, file = _parse(frames[-1])
            leaf = f"{func} ({_short(file)})"
            if "selectors" in file and func.endswith("select"):
                idle += n
            self_counts[leaf] += n
            components[_component(file)] += n
            seen_f: set[str] = set()
            seen_m: set[str] = set()
            for fr in frames:
                fn, fl = _parse(fr)
                short = _short(fl)
                if short.startswith(PROJECT):
                    key = f"{fn} ({short})"
                    if key not in seen_f:
                        seen_f.add(key)
                        incl_project[key] += n
                mod = short.split("/")[0] if "/" in short else short
                if mod and mod not in seen_m:
                    seen_m.add(mod)
                    incl_module[mod] += n
    if not total:
        return "no samples"
    out = [f"{total} samples ({idle / total:.0%} waiting in the selector)", "", "self time (top of stack):"]
    out += [f"  {c / total:6.1%}  {k}" for k, c in self_counts.most_common(top)]
    out += ["", "self time by component:"]
    out += [f"  {c / total:6.1%}  {k}" for k, c in components.most_common()]
    out += ["", "inclusive, project functions:"]
    out += [f"  {c / total:6.1%}  {k}" for k, c in incl_project.most_common(top)]
    out += ["", "inclusive, by package / top-level module:"]
    out += [f"  {c / total:6.1%}  {k}" for k, c in incl_module.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    print(summarise(args.files, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
