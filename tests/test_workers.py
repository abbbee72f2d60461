"""`hailong run --workers N`: several processes behind one address, sharing PostgreSQL and Redis.
A respondent's conversation goes on whichever process takes each request, and a process that
dies is replaced while the others keep serving."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from bot.settings import Settings
from test_restart import Server, _cli, _env, _free_port, _run
from webchat.driver import plan

API = "/api/v1/chat/sessions"


def _pids(server: Server, tries: int = 200) -> set[int]:
    """Which processes answer on the shared port (new connections are spread by the kernel)."""
    return {server.request("GET", "/healthz")[1]["pid"] for _ in range(tries)}


@pytest.mark.parametrize("backend", ["postgres"])
def test_workers_share_one_port_and_replace_a_dead_one(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings, tmp_path, _free_port())
    _run(["flows", "load"], env)
    server = Server(env, tmp_path / "server.log", args=("run", "--workers", "2"))
    server.start(ready=2)
    try:
        pids = _pids(server)
        assert len(pids) == 2
        status, body = server.request("POST", API, {"flow": "sipas"})
        assert status == 200
        token, turn, answered = body["session"], 0, {}
        message, state = body["messages"][-1], body["flow_state"]
        for turn in range(6):  # consent, then answers: each request may land on either process
            req, key, value = plan(message, state.get("question") or "", turn, answered) if state.get("question") \
                else ({"choice": "yes"}, None, None)
            status, reply = server.request("POST", f"{API}/{token}/messages", {**req, "cid": f"c{turn}"})
            assert status == 200, reply
            if key:
                answered[key] = value
            message, state = reply["messages"][-1], reply["flow_state"]
        assert len(answered) == 5
        victim = next(iter(pids))
        os.kill(victim, signal.SIGKILL)
        server.wait_ready(1)  # the supervisor started a replacement
        after = _pids(server)
        assert len(after) == 2 and victim not in after
        status, fetched = server.request("GET", f"{API}/{token}/messages?after=0")
        assert status == 200 and fetched["flow_state"]["question"] == state["question"]
    finally:
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0


def test_workers_refuse_an_unshared_database(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k")
    env = _env(settings, tmp_path, _free_port())
    env.pop("HAILONG_DATABASE_URL", None)
    done = subprocess.run(_cli() + ["run", "--workers", "2"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "PostgreSQL" in done.stderr
