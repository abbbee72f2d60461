"""A real Rasa server for the ``rasa``-marked tests: built by ``make rasa`` (cached venv and model,
see the Makefile), started with ``scripts/rasa_serve`` on a free 127.0.0.1 port, stopped after the
module that uses it. Where no Python 3.10 exists the tests are skipped and the reason is printed in
the summary; any other problem (install, training, start) fails them."""
from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from bot.settings import REPO_ROOT

BUILD_TIMEOUT = 1800  # a first install downloads and installs tensorflow: minutes
READY_TIMEOUT = 180   # loading the model takes ~10-40 s on 2 cores
SKIPPED = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rasa: needs the Rasa venv (make rasa) and starts a Rasa server; "
                                       "runs in the default suite")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    reason = config.stash.get(SKIPPED, None)
    if reason:
        terminalreporter.write_line(f"Rasa tests skipped: {reason}", yellow=True)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url + "/status", timeout=2) as resp:
            return json.load(resp)
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def rasa_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    finder = subprocess.run([str(REPO_ROOT / "scripts" / "find_python310")], capture_output=True, text=True)
    if finder.returncode != 0:
        reason = finder.stderr.strip() or "no Python 3.10 on this machine"
        request.config.stash[SKIPPED] = reason
        pytest.skip(f"Rasa needs Python 3.10: {reason}")

    started = time.monotonic()
    build = subprocess.run(["make", "--no-print-directory", "rasa"], cwd=REPO_ROOT, capture_output=True,
                           text=True, timeout=BUILD_TIMEOUT)
    assert build.returncode == 0, f"make rasa failed:\n{_tail(build.stdout)}\n{_tail(build.stderr)}"
    built = time.monotonic() - started

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path: Path = tmp_path_factory.mktemp("rasa") / "rasa_serve.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([str(REPO_ROOT / "scripts" / "rasa_serve"), "--port", str(port),
                             "--timeout", str(READY_TIMEOUT)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # copies the server's output to the log and hands it to the waiting test
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            log.flush()
            lines.put(line)
        lines.put(None)

    pumping = threading.Thread(target=pump, daemon=True)
    pumping.start()
    try:
        # rasa_serve prints "rasa: ready at URL" once /status answers with the model loaded
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the Rasa server was not ready after {READY_TIMEOUT}s:\n{_tail(log_path.read_text())}")
            if line is None:
                pytest.fail(f"the Rasa server exited ({proc.wait()}):\n{_tail(log_path.read_text())}")
            if line.startswith("rasa: ready at"):
                break
        status = _status(url)
        assert status and status.get("model_file"), status
        print(f"\nrasa: built/checked in {built:.1f}s, server ready in "
              f"{time.monotonic() - started - built:.1f}s at {url} ({status['model_file']})")
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        pumping.join(timeout=10)
        log.close()
