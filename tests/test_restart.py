"""The real server, killed mid-survey and started again: the respondent carries on where they were.

The server runs as a subprocess (``hailong run``) on the test's database: a SQLite file, or the
test PostgreSQL database with Redis. It is killed with SIGKILL (no shutdown code runs), and for
PostgreSQL + Redis the test's Redis keys are flushed as well before the restart, so the
conversation can only come back from the database.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import redis as redis_sync
from sqlalchemy import select

from bot.settings import REPO_ROOT, Settings
from bot.store.db import create_engine_sync
from bot.store.tables import answers, responses
from webchat.driver import is_consent, is_review, plan

READY = "Hailong serving on"
START_TIMEOUT = 60.0
API = "/api/v1/chat/sessions"


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("hailong")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(settings: Settings, data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env.update({
        "HAILONG_DATA_DIR": str(data_dir), "HAILONG_HOST": "127.0.0.1", "HAILONG_PORT": str(port),
        "HAILONG_DATABASE_URL": settings.database_url, "HAILONG_SECRET_KEY": settings.secret_key,
        "HAILONG_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
    })
    if settings.redis_url:
        env["HAILONG_REDIS_URL"] = settings.redis_url
        env["HAILONG_REDIS_PREFIX"] = settings.redis_prefix
    return env


class Server:
    """``hailong run`` as a subprocess; ready once it prints the serving line (no sleeping)."""

    def __init__(self, env: dict[str, str], log: Path, args: tuple[str, ...] = ("run",)) -> None:
        self.env, self.log, self.args = env, log, args
        self.proc: subprocess.Popen[str] | None = None
        self.base = f"http://127.0.0.1:{env['HAILONG_PORT']}"
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def start(self, ready: int = 1) -> None:
        """Returns once ``ready`` processes printed the serving line (several with ``--workers``)."""
        with self.log.open("ab") as err:
            self.proc = subprocess.Popen(_cli() + list(self.args), env=self.env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                                         stderr=err, text=True, encoding="utf-8")
        self.lines: queue.Queue[str | None] = queue.Queue()
        stdout = self.proc.stdout
        assert stdout is not None

        def pump() -> None:  # keeps reading so the pipe never fills
            for line in stdout:
                self.lines.put(line)
            self.lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        self.wait_ready(ready)

    def wait_ready(self, count: int = 1) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while count:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the server did not start in {START_TIMEOUT}s:\n{self.log.read_text()[-3000:]}")
            if line is None:
                pytest.fail(f"the server exited with {self.proc.wait()}:\n{self.log.read_text()[-3000:]}")
            if READY in line:
                count -= 1

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)
            if self.proc.stdout:
                self.proc.stdout.close()
        self.proc = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


class Respondent:
    def __init__(self, server: Server, flow: str) -> None:
        self.server = server
        status, data = server.request("POST", API, {"flow": flow})
        assert status == 200, data
        self.token: str = data["session"]
        self.messages: list[dict[str, Any]] = data["messages"]
        self.flow_state: dict[str, Any] = data["flow_state"]
        self.answered: dict[str, Any] = {}
        self._n = 0

    @property
    def question(self) -> str | None:
        return self.flow_state["question"]

    def send(self, text: str | None = None, *, choice: Any = None) -> dict[str, Any]:
        self._n += 1
        body: dict[str, Any] = {"cid": f"restart-{self._n}"}
        body.update({"choice": choice} if choice is not None else {"text": text})
        status, reply = self.server.request("POST", f"{API}/{self.token}/messages", body)
        assert status == 200, reply
        self.messages += reply["messages"]
        self.flow_state = reply["flow_state"]
        return reply

    def answer(self) -> None:
        assert self.question is not None, self.flow_state
        body, key, value = plan(self.messages[-1], self.question, self._n, self.answered, yes_no="no")
        self.send(body.get("text"), choice=body.get("choice"))
        self.answered[key] = value

    def fetch(self, after: int) -> dict[str, Any]:
        status, data = self.server.request("GET", f"{API}/{self.token}/messages?after={after}")
        assert status == 200, data
        return data


def _stored(settings: Settings) -> tuple[Any, dict[str, Any]]:
    engine = create_engine_sync(settings.database_url)
    try:
        with engine.connect() as conn:
            [row] = conn.execute(select(responses).where(responses.c.flow_id == "sipas")).all()
            stored = dict(conn.execute(select(answers.c.key, answers.c.value).where(answers.c.response_id == row.id)).all())
    finally:
        engine.dispose()
    return row, stored


def _lose_redis(settings: Settings) -> None:
    """What Redis knew about the conversation is gone, as after a Redis restart without persistence."""
    if not settings.redis_url:
        return  # SQLite backend: the state lived in the killed process's memory
    r = redis_sync.Redis.from_url(settings.redis_url)
    try:
        keys = list(r.scan_iter(f"{settings.redis_prefix}*"))
        assert any(b":state:" in k for k in keys), "the server kept no state in Redis"
        r.delete(*keys)
        assert not list(r.scan_iter(f"{settings.redis_prefix}*"))
    finally:
        r.close()


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(_cli() + args, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_killed_server_resumes_every_conversation_from_the_database(settings: Settings, tmp_path: Path) -> None:
    env = _env(settings, tmp_path / "data", _free_port())
    assert "latest schema" in _run(["db", "upgrade"], env)
    assert "sipas v1" in _run(["flows", "load"], env)
    server = Server(env, tmp_path / "server.log")
    try:
        server.start()
        chat = Respondent(server, "sipas")
        assert is_consent(chat.messages[-1], chat.flow_state)
        chat.send(choice="yes")
        for _ in range(17):  # well into the survey (the rate limit allows 20 quick messages per session)
            chat.answer()
        at = chat.question
        assert at is not None and chat.flow_state["status"] == "in_progress"
        prompt = chat.messages[-1]
        last_seq = prompt["seq"]
        row, stored = _stored(settings)
        assert stored == chat.answered and row.disposition == "partial" and row.unit_code == "p.ha_noi"

        server.kill()
        _lose_redis(settings)
        server.start()

        # the same token still works and nothing was said while the server was down
        caught = server.request("GET", f"{API}/{chat.token}/messages?after={last_seq}")[1]
        assert caught == {"messages": [], "flow_state": {"flow": "sipas", "status": "in_progress", "question": at}}
        reply = chat.send("xem lại")
        assert reply["flow_state"] == {"flow": "sipas", "status": "in_progress", "question": at}
        assert reply["messages"][0]["seq"] == last_seq + 1  # numbering continues
        summary = reply["messages"][0]["text"]
        assert "Thành phố Hà Nội" in summary and "→ Hài lòng" in summary
        assert sum(1 for line in summary.splitlines()[1:] if " → " in line) == len(chat.answered)
        assert reply["messages"][-1]["text"] == prompt["text"]  # the question they were at, asked again
        assert reply["messages"][-1]["input"] == prompt["input"]
        assert _stored(settings)[1] == chat.answered

        while not is_review(chat.messages[-1]):
            chat.answer()
            assert len(chat.answered) < 40, "the survey does not end"
        review_seq = chat.messages[-1]["seq"]

        # killed again while the respondent reads the review
        server.kill()
        _lose_redis(settings)
        server.start()
        reply = chat.send("gửi")
        assert reply["flow_state"] == {"flow": "sipas", "status": "completed", "question": None}
        assert reply["messages"][0]["seq"] == review_seq + 1
        assert "cảm ơn" in reply["messages"][-1]["text"]
        history = chat.fetch(0)["messages"]
        assert [m["seq"] for m in history] == list(range(1, len(history) + 1))
        assert history == chat.messages
    finally:
        server.kill()
    row, stored = _stored(settings)
    assert (row.disposition, row.channel, row.unit_code) == ("completed", "web", "p.ha_noi")
    assert stored == chat.answered
