"""Several server processes on one address: each binds the same port with SO_REUSEPORT and the
kernel spreads connections between them. They share nothing but PostgreSQL and Redis (answers,
per-respondent locks, the outbox and its leases), so any process can take any request. The
parent only starts, watches and stops them; a process that dies is started again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from .logs import log
from .settings import Settings

RESTART_WINDOW = 60.0
MAX_RESTARTS = 10


def supervise(settings: Settings, workers: int) -> int:
    if not settings.redis_url or settings.effective_database_url.startswith("sqlite"):
        print("error: several workers need PostgreSQL (HAILONG_DATABASE_URL) and Redis (HAILONG_REDIS_URL): "
              "in-process state and a SQLite file are not shared between processes", file=sys.stderr)
        return 2
    env = {**os.environ, "HAILONG_REUSE_PORT": "1", "HAILONG_HOST": settings.host, "HAILONG_PORT": str(settings.port)}
    command = [sys.executable, "-m", "bot.app"]
    procs = {i: subprocess.Popen(command, env=env) for i in range(workers)}
    restarts: list[float] = []
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while procs:
        pid, status = os.wait()
        slot = next((i for i, p in procs.items() if p.pid == pid), None)
        if slot is None:
            continue
        procs[slot].returncode = os.waitstatus_to_exitcode(status)
        if stopping:
            del procs[slot]
            continue
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < RESTART_WINDOW] + [now]
        log("workers.restart", level=30, worker=slot, exit=procs[slot].returncode, restarts=len(restarts))
        if len(restarts) > MAX_RESTARTS:  # crashing in a loop: stop rather than hide it
            stop(signal.SIGTERM, None)
            del procs[slot]
            continue
        procs[slot] = subprocess.Popen(command, env=env)
    return 1 if len(restarts) > MAX_RESTARTS else 0
