#!/usr/bin/env python3
"""Web chat load test: many simulated respondents answer the ``sipas`` survey over the HTTP API.

For each backend (SQLite; PostgreSQL + Redis) and each server-process count it:

1. creates a fresh database (a SQLite file in a temporary directory, or ``CREATE DATABASE
   hailong_bench_<random>`` on the local PostgreSQL) and a unique Redis key prefix,
2. runs ``hailong db upgrade`` and ``hailong flows load``,
3. starts K ``hailong run`` processes on consecutive ports and waits for their
   "Hailong serving on" line,
4. lets N respondents (one asyncio task each, one shared aiohttp ClientSession) create a ``sipas``
   session and answer every question until the review, submit, and start again, until the duration
   or the message budget is used up,
5. reports answered messages/s, p50/p95/p99 latency of the message POSTs (session creation is
   reported separately), errors, completed sessions and how the CPU was shared out,
6. stops the servers and drops the database and the Redis keys, whatever happened.

Bounded load: every target is on 127.0.0.1, every loop is bounded by a count and a deadline, and the
run stops by itself.

Rate limits of the web chat (per server process): a session may send a burst of 20 messages, then
2 a second; one client address may open 20 sessions, then one every 2 seconds. Each simulated
respondent therefore waits for its reply before it answers, and paces itself with its own token
bucket a little under the server's (``--no-pace`` turns that off to show the limiter at work).
To model many respondents on many devices, connections are opened from ``--source-ips`` distinct
loopback addresses (127.0.1.1, 127.0.1.2, ...; the target is always 127.0.0.1); ``--source-ips 1``
sends everything from 127.0.0.1, and the per-address session limit then caps the run.

Examples::

    .venv/bin/python bench/chat_load.py --backend both --respondents 600 --duration 20
    .venv/bin/python bench/chat_load.py --backend postgres --workers 2 --respondents 1000 --json
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
READY_LINE = "Hailong serving on"
FLOW = "sipas"
IN_PROGRESS = "in_progress"
MAX_MESSAGES_PER_SESSION = 150  # sipas has 41 questions + consent + review; this only stops a runaway loop
TEXT_ANSWERS = ("Không có ý kiến", "Cần nhanh hơn", "Tốt", "Thủ tục đất đai", "Mọi thứ ổn")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- small helpers --------------------------------------------------------------------------------

def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _require_loopback(url: str, what: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"{what} must point at 127.0.0.1 (got {host!r}): this benchmark only loads local services")


def _hailong_exe() -> str:
    exe = Path(sys.executable).with_name("hailong")
    if exe.exists():
        return str(exe)
    found = shutil.which("hailong")
    if not found:
        raise SystemExit("the hailong command was not found: run from the project's virtualenv")
    return found


def _free_port_block(count: int) -> int:
    """The first of ``count`` consecutive free TCP ports on 127.0.0.1."""
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(20000, 40000)
        socks = []
        try:
            for p in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no block of {count} free ports found")


def _percentile(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), int(round(pct / 100.0 * len(sorted_values) + 0.5))))
    return sorted_values[rank - 1]


# ---- CPU accounting from /proc ---------------------------------------------------------------------

def _proc_user_sys(pid: int) -> tuple[int, int] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()  # fields from 3 (state) on
    return int(rest[11]), int(rest[12])  # utime, stime (fields 14 and 15), in clock ticks


def _proc_cpu_ticks(pid: int) -> int | None:
    us = _proc_user_sys(pid)
    return None if us is None else us[0] + us[1]


def _all_procs() -> dict[int, tuple[str, int]]:
    """pid -> (name, utime + stime ticks) for every process; PostgreSQL backends are named after
    their database ("postgres:<db>") so that other databases' load is not charged to the benchmark."""
    out: dict[int, tuple[str, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            if comm == "postgres":
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    title = f.read().replace(b"\0", b" ").decode(errors="replace").split()
                # "postgres: <user> <database> <host(port)> <state>" for backends
                if len(title) >= 3 and title[0] == "postgres:" and "(" in " ".join(title[3:4]):
                    comm = f"postgres:{title[2]}"
        except OSError:
            continue
        ticks = _proc_cpu_ticks(pid)
        if ticks is not None:
            out[pid] = (comm, ticks)
    return out


def _system_ticks() -> tuple[int, int]:
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts[:8]), idle


@dataclass
class CpuSample:
    at: float
    servers: dict[int, int]
    servers_sys: int
    bench: int
    procs: dict[int, tuple[str, int]]
    system: tuple[int, int]


def _cpu_sample(server_pids: list[int]) -> CpuSample:
    return CpuSample(
        at=time.monotonic(),
        servers={p: _proc_cpu_ticks(p) or 0 for p in server_pids},
        servers_sys=sum((_proc_user_sys(p) or (0, 0))[1] for p in server_pids),
        bench=_proc_cpu_ticks(os.getpid()) or 0,
        procs=_all_procs(),
        system=_system_ticks(),
    )


def _cpu_split(a: CpuSample, b: CpuSample, pg_database: str = "") -> dict[str, Any]:
    """Cores used by each party between two samples (1.0 = one core busy all the time)."""
    wall = max(b.at - a.at, 1e-9)

    def cores(ticks: float) -> float:
        return round(ticks / CLK_TCK / wall, 3)

    ours = set(b.servers) | {os.getpid()}
    by_name: Counter[str] = Counter()
    for pid, (name, ticks) in b.procs.items():
        if pid in ours:
            continue
        before = a.procs.get(pid)
        delta = ticks - (before[1] if before and before[0] == name else 0)
        if delta > 0:
            by_name[name] += delta
    postgres = sum(v for k, v in by_name.items()
                   if k == "postgres" or (pg_database and k == f"postgres:{pg_database}"))
    redis = by_name.get("redis-server", 0)
    total_d, idle_d = b.system[0] - a.system[0], b.system[1] - a.system[1]
    out: dict[str, Any] = {
        "servers": cores(sum(b.servers[p] - a.servers.get(p, 0) for p in b.servers)),
        "servers_kernel": cores(b.servers_sys - a.servers_sys),
        "bench": cores(b.bench - a.bench),
        # our database's backends plus PostgreSQL's shared background processes (WAL writer, ...)
        "postgres": cores(postgres),
        "redis": cores(redis),
        "system_busy": round((total_d - idle_d) / max(total_d, 1) * (os.cpu_count() or 1), 3),
    }
    # whatever else ran on the machine meanwhile (py-spy when profiling, other jobs on a shared machine)
    out["other"] = round(max(0.0, out["system_busy"] - out["servers"] - out["bench"] - out["postgres"] - out["redis"]), 3)
    others = Counter({k: v for k, v in by_name.items()
                      if k not in ("postgres", "redis-server") and k != f"postgres:{pg_database}"})
    out["other_top"] = {k: cores(v) for k, v in others.most_common(5)}
    return out


# ---- backends ------------------------------------------------------------------------------------

@dataclass
class Backend:
    name: str
    database_url: str
    redis_url: str = ""
    redis_prefix: str = ""
    pg_admin_url: str = ""
    pg_database: str = ""

    def env(self, data_dir: Path, secret: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
        env.update({
            "HAILONG_DATA_DIR": str(data_dir),
            "HAILONG_DATABASE_URL": self.database_url,
            "HAILONG_SECRET_KEY": secret,
            "HAILONG_LOG_LEVEL": "WARNING",
            "HAILONG_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        })
        if self.redis_url:
            env["HAILONG_REDIS_URL"] = self.redis_url
            env["HAILONG_REDIS_PREFIX"] = self.redis_prefix
        return env


def _make_backend(kind: str, data_dir: Path, pg_admin_url: str, redis_url: str) -> Backend:
    if kind == "sqlite":
        return Backend("sqlite", f"sqlite:///{data_dir / 'bench.sqlite3'}")
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"hailong_bench_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    return Backend("postgres", url, redis_url=redis_url, redis_prefix=f"{name}:", pg_admin_url=pg_admin_url,
                   pg_database=name)


def _drop_backend(b: Backend) -> None:
    if b.pg_database:
        try:
            import psycopg

            with psycopg.connect(b.pg_admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{b.pg_database}" WITH (FORCE)')
        except Exception as e:  # noqa: BLE001 - report and go on cleaning up
            _log(f"could not drop database {b.pg_database}: {e}")
    if b.redis_url and b.redis_prefix:
        try:
            import redis

            r = redis.Redis.from_url(b.redis_url, socket_timeout=10)
            batch: list[bytes] = []
            for key in r.scan_iter(match=b.redis_prefix + "*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    r.delete(*batch)
                    batch.clear()
            if batch:
                r.delete(*batch)
            r.close()
        except Exception as e:  # noqa: BLE001
            _log(f"could not delete Redis keys {b.redis_prefix}*: {e}")


def _run_cli(args: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run([_hailong_exe(), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        raise RuntimeError(f"hailong {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


# ---- server processes ----------------------------------------------------------------------------

@dataclass
class Server:
    port: int
    proc: asyncio.subprocess.Process
    stderr_path: Path
    tail: deque = field(default_factory=lambda: deque(maxlen=50))
    drain: asyncio.Task | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _start_server(port: int, env: dict[str, str], log_dir: Path, timeout: float = 60.0) -> Server:
    err = log_dir / f"server-{port}.stderr"
    with open(err, "wb") as errf:
        proc = await asyncio.create_subprocess_exec(
            _hailong_exe(), "run", "--host", "127.0.0.1", "--port", str(port), env=env, cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=errf, start_new_session=True)
    server = Server(port, proc, err)
    assert proc.stdout is not None

    async def wait_ready() -> None:
        while True:
            line = await proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                raise RuntimeError(f"server on port {port} exited before it was ready:\n{err.read_text()[-3000:]}")
            text = line.decode(errors="replace").rstrip()
            server.tail.append(text)
            if READY_LINE in text:
                return

    try:
        await asyncio.wait_for(wait_ready(), timeout)
    except BaseException:
        await _stop_server(server)
        raise

    async def drain() -> None:  # keep the pipe from filling up
        while True:
            line = await proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                return
            server.tail.append(line.decode(errors="replace").rstrip())

    server.drain = asyncio.create_task(drain())
    return server


async def _stop_server(server: Server) -> None:
    proc = server.proc
    if proc.returncode is None:
        try:
            proc.terminate()
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except asyncio.TimeoutError:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            await proc.wait()
    if server.drain is not None:
        server.drain.cancel()
        try:
            await server.drain
        except (asyncio.CancelledError, Exception):  # noqa: BLE001
            pass


# ---- the simulated respondents -------------------------------------------------------------------

@dataclass
class Stats:
    measuring: bool = False
    latencies: list[float] = field(default_factory=list)
    session_latencies: list[float] = field(default_factory=list)
    answered: int = 0            # 200 replies to message POSTs, inside the measurement window
    answered_total: int = 0      # all 200 replies to message POSTs, warm-up included
    sessions_started: int = 0    # inside the measurement window
    sessions_completed: int = 0  # reached "completed" (submitted after review) inside the window
    errors: Counter = field(default_factory=Counter)         # "messages:429", "sessions:500", "messages:timeout"
    errors_total: Counter = field(default_factory=Counter)
    target: int | None = None    # --messages: `reached` is set once this many are answered
    reached: asyncio.Event = field(default_factory=asyncio.Event)


class Pacer:
    """A client-side token bucket a little under the server's (burst 20, 2/s per session)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = burst, time.monotonic()

    def reset(self) -> None:
        self.tokens, self.last = self.burst, time.monotonic()

    async def wait(self, stop: asyncio.Event) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            delay = (1 - self.tokens) / self.rate
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
        self.tokens -= 1


def answer_for(messages: list[dict[str, Any]], flow_state: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """What a cooperative respondent sends next, from the input spec of the last message."""
    spec = (messages[-1].get("input") or {}) if messages else {}
    kind = spec.get("type", "none")
    ids = [c["id"] for c in spec.get("choices", ())]
    if flow_state.get("question") is None:  # consent or review: agree / submit
        if "_submit" in ids:
            return {"text": "gửi"}
        if "yes" in ids:
            return {"choice": "yes"}
    if kind == "choice" and ids:
        return {"choice": rng.choice(ids)}
    if kind == "multi" and ids:
        hi = min(2, spec.get("max_choices") or 2, len(ids))
        lo = min(max(1, spec.get("min_choices") or 1), hi)
        return {"choice": rng.sample(ids, rng.randint(lo, hi))}
    if kind == "unit":
        return {"choice": ids[0]} if ids else {"text": "ha noi"}
    if kind == "number":
        return {"text": "2"}
    if kind == "date":
        return {"text": "01/01/2025"}
    return {"text": rng.choice(TEXT_ANSWERS)}


def _loop_factory():  # type: ignore[no-untyped-def]
    """The load generator also runs on uvloop (as the server does): it shares the two cores."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


_JSON_HEADERS = {"Content-Type": "application/json"}


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[int | str, Any]:
    try:
        async with http.post(url, data=orjson.dumps(body), headers=_JSON_HEADERS) as resp:
            data = await resp.read()
            if resp.status != 200:
                return resp.status, None
            return 200, orjson.loads(data)
    except asyncio.TimeoutError:
        return "timeout", None
    except aiohttp.ClientError as e:
        return type(e).__name__, None


async def respondent(idx: int, base_url: str, http: aiohttp.ClientSession, stats: Stats, stop: asyncio.Event,
                     budget: "Budget", *, pace: bool, think: float, ramp: float, seed: int) -> None:
    rng = random.Random(seed * 1_000_003 + idx)
    pacer = Pacer(rate=1.9, burst=19)
    sessions_url = f"{base_url}/api/v1/chat/sessions"
    if ramp > 0:
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(0, ramp))
            return
        except asyncio.TimeoutError:
            pass
    session_failures = 0
    while not stop.is_set():
        t0 = time.perf_counter()
        status, data = await _post(http, sessions_url, {"flow": FLOW})
        if stats.measuring:
            stats.session_latencies.append(time.perf_counter() - t0)
        if status != 200:
            stats.errors_total[f"sessions:{status}"] += 1
            if stats.measuring:
                stats.errors[f"sessions:{status}"] += 1
            session_failures += 1
            try:  # back off (the per-address session limit refills one every 2 s)
                await asyncio.wait_for(stop.wait(), min(2.0, 0.1 * 2 ** min(session_failures, 5)) * rng.uniform(0.5, 1.5))
            except asyncio.TimeoutError:
                pass
            continue
        session_failures = 0
        if stats.measuring:
            stats.sessions_started += 1
        token, messages, fs = data["session"], data["messages"], data["flow_state"]
        messages_url = f"{sessions_url}/{token}/messages"
        pacer.reset()
        sent, failures = 0, 0
        body: dict[str, Any] | None = None
        while fs.get("status") == IN_PROGRESS and sent < MAX_MESSAGES_PER_SESSION and not stop.is_set():
            if body is None:  # a new answer; a failed one is resent as is (same cid: idempotent)
                body = {**answer_for(messages, fs, rng), "cid": f"c{sent}"}
            if think > 0:
                try:
                    await asyncio.wait_for(stop.wait(), rng.uniform(0.5 * think, 1.5 * think))
                    break
                except asyncio.TimeoutError:
                    pass
            if pace:
                await pacer.wait(stop)
                if stop.is_set():
                    break
            took = budget.take()
            if took is None:
                return  # the --messages budget is used up: this respondent is done
            t0 = time.perf_counter()
            status, data = await _post(http, messages_url, body)
            elapsed = time.perf_counter() - t0
            if status == 200:
                stats.answered_total += 1
                if stats.measuring:
                    stats.answered += 1
                    stats.latencies.append(elapsed)
                    if stats.target is not None and stats.answered >= stats.target:
                        stats.reached.set()
                budget.release(took)
                messages, fs, body, failures = data["messages"], data["flow_state"], None, 0
                sent += 1
                continue
            budget.release(took)
            stats.errors_total[f"messages:{status}"] += 1
            if stats.measuring:
                stats.errors[f"messages:{status}"] += 1
            failures += 1
            if failures >= 5:
                break  # give this session up and start a new one
            try:
                await asyncio.wait_for(stop.wait(), 0.6 if status == 429 else 0.2)
            except asyncio.TimeoutError:
                pass
        if fs.get("status") == "completed" and stats.measuring:
            stats.sessions_completed += 1


class Budget:
    """The optional ``--messages`` cap, counted over the measurement window."""

    def __init__(self, limit: int | None, stats: Stats) -> None:
        self.limit, self.stats, self.in_flight = limit, stats, 0

    def take(self) -> bool | None:
        """None: the budget is used up; True: a counted slot was taken; False: nothing to count."""
        if self.limit is None or not self.stats.measuring:
            return False
        if self.stats.answered + self.in_flight >= self.limit:
            return None
        self.in_flight += 1
        return True

    def release(self, took: bool) -> None:
        if took:
            self.in_flight -= 1


class _SourceAddresses:
    """A socket factory binding each new connection to the next of N loopback source addresses."""

    def __init__(self, count: int) -> None:
        self.addresses = [f"127.0.{1 + i // 254}.{1 + i % 254}" for i in range(count)]
        self.next = 0

    def __call__(self, addr_info: Any) -> socket.socket:
        family, type_, proto, _, _ = addr_info
        sock = socket.socket(family=family, type=type_, proto=proto)
        try:
            sock.bind((self.addresses[self.next % len(self.addresses)], 0))
        except OSError:
            sock.close()
            raise
        self.next += 1
        return sock


# ---- one run -------------------------------------------------------------------------------------

async def _drive(servers: list[Server], args: argparse.Namespace, backend: str, pg_database: str = "") -> dict[str, Any]:
    stats = Stats()
    stop = asyncio.Event()
    budget = Budget(args.messages, stats)
    factory = _SourceAddresses(args.source_ips) if args.source_ips > 1 else None
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, socket_factory=factory, ttl_dns_cache=None,
                                     use_dns_cache=True)
    timeout = aiohttp.ClientTimeout(total=30)
    pids = [s.proc.pid for s in servers]
    profilers: list[subprocess.Popen] = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, raise_for_status=False) as http:
        tasks = [asyncio.create_task(respondent(
            i, servers[i % len(servers)].base_url, http, stats, stop, budget, pace=not args.no_pace,
            think=args.think, ramp=args.ramp, seed=args.seed)) for i in range(args.respondents)]
        t_start = time.monotonic()
        hard_deadline = t_start + args.warmup + (args.duration if args.messages is None else args.max_duration) + 5
        try:
            await asyncio.sleep(args.warmup)
            stats.measuring = True
            cpu0 = _cpu_sample(pids)
            t_measure = time.perf_counter()
            if args.profile:
                profilers = _start_profilers(pids, args, backend, len(servers))
            if args.messages is None:
                await asyncio.sleep(args.duration)
            else:
                stats.target = args.messages
                if stats.answered >= args.messages:
                    stats.reached.set()
                # the budget reached, every respondent finished, or the time bound: whichever comes first
                reached = asyncio.ensure_future(stats.reached.wait())
                finished = asyncio.ensure_future(asyncio.wait(tasks))  # cancelling it leaves the tasks alone
                await asyncio.wait({reached, finished}, timeout=args.max_duration, return_when=asyncio.FIRST_COMPLETED)
                reached.cancel()
                finished.cancel()
            window = time.perf_counter() - t_measure
            cpu1 = _cpu_sample(pids)
            stats.measuring = False
        finally:
            stop.set()
            remaining = max(1.0, hard_deadline - time.monotonic())
            done, pending = await asyncio.wait(tasks, timeout=min(remaining, 35))
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
            for t in done:
                if not t.cancelled() and t.exception() is not None:
                    _log(f"a respondent task failed: {t.exception()!r}")
            for p in profilers:
                try:
                    p.wait(timeout=args.duration + 30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    lat = sorted(stats.latencies)
    slat = sorted(stats.session_latencies)

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 1)

    cpu = _cpu_split(cpu0, cpu1, pg_database)
    return {
        "backend": "sqlite" if backend == "sqlite" else "postgres+redis",
        "workers": len(servers),
        "respondents": args.respondents,
        "window_s": round(window, 2),
        "answered": stats.answered,
        "msgs_per_s": round(stats.answered / window, 1),
        "p50_ms": ms(_percentile(lat, 50)),
        "p95_ms": ms(_percentile(lat, 95)),
        "p99_ms": ms(_percentile(lat, 99)),
        "max_ms": ms(lat[-1] if lat else None),
        "errors": sum(stats.errors.values()),
        "errors_by_kind": dict(stats.errors),
        "errors_incl_warmup": sum(stats.errors_total.values()),
        "sessions_started": stats.sessions_started,
        "sessions_completed": stats.sessions_completed,
        "session_create_p50_ms": ms(_percentile(slat, 50)),
        "session_create_p99_ms": ms(_percentile(slat, 99)),
        "cpu_cores": cpu,
        "server_cpu_ms_per_msg": round(cpu["servers"] * 1000 / (stats.answered / window), 3) if stats.answered else None,
        "paced": not args.no_pace,
        "think_s": args.think,
        "source_ips": args.source_ips,
    }


def _start_profilers(pids: list[int], args: argparse.Namespace, backend: str, workers: int) -> list[subprocess.Popen]:
    exe = Path(sys.executable).with_name("py-spy")
    if not exe.exists():
        found = shutil.which("py-spy")
        if not found:
            _log("--profile: py-spy not found (pip install py-spy); running without profile")
            return []
        exe = Path(found)
    out_dir = Path(args.profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for i, pid in enumerate(pids):
        out = out_dir / f"{backend}-w{workers}-{i}.txt"
        procs.append(subprocess.Popen(
            [str(exe), "record", "--pid", str(pid), "--duration",
             str(max(1, int(args.duration))), "--rate", str(args.profile_rate),
             "--format", "raw", "--nonblocking", "--output", str(out), *(["--gil"] if args.profile_gil else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


async def run_one(backend_kind: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"hailong-bench-{backend_kind}-"))
    backend: Backend | None = None
    servers: list[Server] = []
    try:
        backend = await asyncio.to_thread(_make_backend, backend_kind, data_dir, args.pg_admin_url, args.redis_url)
        env = backend.env(data_dir, secrets.token_urlsafe(32))
        _log(f"{backend_kind}: migrating and loading flows")
        await asyncio.to_thread(_run_cli, ["db", "upgrade"], env)
        await asyncio.to_thread(_run_cli, ["flows", "load"], env)
        base = _free_port_block(workers)
        servers = list(await asyncio.gather(*(_start_server(base + i, env, data_dir) for i in range(workers)),
                                            return_exceptions=False))
        goal = f"{args.duration:g} s" if args.messages is None else f"{args.messages} messages"
        _log(f"{backend_kind}: {workers} server(s) ready on ports {base}-{base + workers - 1}; "
             f"{args.respondents} respondents for {goal} after {args.warmup:g} s of warm-up")
        result = await _drive(servers, args, backend_kind, backend.pg_database)
        crashed = [s.port for s in servers if s.proc.returncode is not None]
        if crashed:
            result["servers_exited_early"] = crashed
        return result
    finally:
        await asyncio.gather(*(_stop_server(s) for s in servers), return_exceptions=True)
        for s in servers:
            try:
                tail = s.stderr_path.read_text(errors="replace").strip().splitlines()
            except OSError:
                tail = []
            if tail:
                _log(f"server {s.port} stderr (last lines):\n  " + "\n  ".join(tail[-5:]))
        if backend is not None:
            await asyncio.to_thread(_drop_backend, backend)
        shutil.rmtree(data_dir, ignore_errors=True)


def _table(results: list[dict[str, Any]]) -> str:
    head = ("backend", "workers", "respondents", "msgs/s", "p50 ms", "p95 ms", "p99 ms", "errors", "sessions done",
            "CPU server/bench/pg/redis/other")
    rows = [head]
    for r in results:
        c = r["cpu_cores"]
        rows.append((r["backend"], str(r["workers"]), str(r["respondents"]), f"{r['msgs_per_s']:.0f}", str(r["p50_ms"]),
                     str(r["p95_ms"]), str(r["p99_ms"]), str(r["errors"]), str(r["sessions_completed"]),
                     f"{c['servers']:.2f}/{c['bench']:.2f}/{c['postgres']:.2f}/{c['redis']:.2f}/{c['other']:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Load-test the web chat with simulated sipas respondents (local only).")
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--respondents", default="200",
                   help="concurrent simulated respondents (default 200), or a comma list to run several")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--duration", type=float, default=20.0, help="measured seconds (default 20)")
    g.add_argument("--messages", type=int, help="stop after this many answered messages instead")
    p.add_argument("--max-duration", type=float, default=300.0, help="upper bound on a --messages run (s)")
    p.add_argument("--workers", default="1", help="server processes, or a comma list to run several (e.g. 1,2)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds run before measuring (default 3)")
    p.add_argument("--ramp", type=float, default=2.0, help="respondents start spread over this many seconds")
    p.add_argument("--think", type=float, default=0.0, help="mean think time between answers (s)")
    p.add_argument("--no-pace", action="store_true", help="do not pace to the server's per-session rate limit")
    p.add_argument("--source-ips", type=int, default=254,
                   help="distinct loopback source addresses (127.0.1.x) to spread connections over; 1 = 127.0.0.1 only")
    p.add_argument("--repeat", type=int, default=1, help="run each configuration this many times")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--profile", metavar="DIR", help="record the servers with py-spy (raw collapsed stacks) into DIR")
    p.add_argument("--profile-rate", type=int, default=100)
    p.add_argument("--profile-gil", action="store_true", help="sample only the thread holding the GIL (CPU hot spots)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    _require_loopback(args.pg_admin_url, "--pg-admin-url")
    _require_loopback(args.redis_url, "--redis-url")
    args.workers_list = [int(w) for w in str(args.workers).split(",") if w.strip()]
    if not args.workers_list or any(w < 1 or w > 16 for w in args.workers_list):
        p.error("--workers must be between 1 and 16")
    args.respondents_list = [int(n) for n in str(args.respondents).split(",") if n.strip()]
    if not args.respondents_list or any(not 1 <= n <= 20000 for n in args.respondents_list):
        p.error("--respondents must be between 1 and 20000")
    if not 1 <= args.repeat <= 20:
        p.error("--repeat must be between 1 and 20")
    if not 0 < args.duration <= 3600 or not 0 <= args.warmup <= 600 or not 0 < args.max_duration <= 3600:
        p.error("durations must be positive and at most an hour")
    if args.profile and args.messages is not None:
        p.error("--profile needs a --duration run")
    if args.messages is not None and args.messages < 1:
        p.error("--messages must be positive")
    if not 1 <= args.source_ips <= 254 * 200:
        p.error("--source-ips must be between 1 and 50800")
    return args


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    # SIGTERM cancels the run, so the finally blocks still stop the servers and drop the database
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)  # type: ignore[union-attr]
    kinds = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for kind in kinds:
        for workers in args.workers_list:
            for respondents in args.respondents_list:
                for _ in range(args.repeat):
                    run_args = argparse.Namespace(**vars(args))
                    run_args.respondents = respondents
                    result = await run_one(kind, workers, run_args)
                    results.append(result)
                    if not args.json:
                        _log(json.dumps(result, ensure_ascii=False))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            results = runner.run(main_async(args))
    except (asyncio.CancelledError, KeyboardInterrupt):
        _log("interrupted: servers stopped, scratch database and keys removed")
        return 130
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        print(_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
