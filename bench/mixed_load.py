#!/usr/bin/env python3
"""Mixed open-loop load (issue F): survey answers on every channel, FAQ questions and web chat at
a fixed arrival rate, against Hailong (PostgreSQL + Redis) or the comparison Rasa bot.

Why open loop: ``chat_load.py`` and ``webhook_load.py`` are closed loops (N users, each waits for
its reply), so a slow server slows the load down and hides its own latency. Here messages are sent
at a constant rate whatever the server does; a message's latency runs from the moment it was
*due* (not when the generator got round to it), so a lagging generator or server queue shows up.

Users: a message slot goes to a simulated user of the kind the mix says next (smooth weighted
round robin, so shares are exact); the user is the one idle longest whose think time (``--think``)
has passed, or a new one. A user never has two messages in flight. Kinds and their scripts:

* ``web``: web chat respondent: ``POST /api/v1/chat/sessions {"flow":"sipas"}`` then answers each
  question as ``chat_load.answer_for`` does (consent yes, random choice, "ha noi", ...), until the
  survey is submitted, then a new session. Latency: request to reply.
* ``zalo`` / ``messenger`` / ``telegram``: the same survey over signed platform webhooks, with
  ``webhook_load``'s in-process fake platform APIs and its user rules (tap the first button, "1"
  for a numbered list, a typed answer); "sipas" starts it again after the closing message.
  Latency: webhook POST to the arrival at the fake of the message that completes the reply.
* ``faq``: a web chat session without a flow (greeting and menu), then 1-4 questions drawn from
  ``nlu_data/eval/dev.tsv`` (in-scope paraphrases and out-of-scope questions), then a new session.

Against Rasa every kind talks to the REST channel (``/webhooks/rest/webhook``), request to reply:
survey kinds send "tôi muốn tham gia khảo sát" and answer the form's 10 questions with a random
button (1-5); ``faq`` sends "xin chào" then 1-4 questions from the same list. A new sender id per
survey or FAQ session, as Hailong's web chat opens a new session.

A step (one rate) passes when p99 < ``--p99-ms`` (100) and nothing failed: no non-200, no reply
missing after ``--reply-timeout``, no slot left without a user (``--max-users``). ``--scan`` runs
the steps up to the first failure (``--refine`` bisects after it) on the same servers and reports
the highest rate that passed; ``--capacity`` then goes on up while a step is still kept up with
(no errors, 95 % answered, p99 < 1 s), which gives the capacity past the latency bound. On a busy
machine a step can fail below one that passes: the result lists those. The servers are started
once per target and worker count; a fresh PostgreSQL database and Redis prefix per Hailong target
(``chat_load``'s helpers), a fresh Redis prefix per Rasa target; all dropped at the end.

CPU per message and RSS: the target's processes (Hailong: its ``hailong run`` processes; Rasa:
the Rasa server, its Sanic workers and the action server) from ``/proc``, as ``chat_load`` does;
PostgreSQL and Redis separately. Everything runs on 127.0.0.1, bounded by deadlines.

Examples::

    .venv/bin/python bench/mixed_load.py --target hailong --workers 1 --rate 100 --duration 10
    .venv/bin/python bench/mixed_load.py --target hailong --workers 1,2 --scan --unpaced --json
    .venv/bin/python bench/mixed_load.py --target rasa --scan 5,10,20,40
"""
from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import webhook_load  # noqa: E402  (fake platforms, signed webhooks, what a platform user answers)
from chat_load import (FLOW, IN_PROGRESS, ROOT, Backend, Server, _SourceAddresses, _cpu_sample,  # noqa: E402
                       _cpu_split, _drop_backend, _free_port_block, _log, _loop_factory, _make_backend, _percentile,
                       _post, _require_loopback, _run_cli, _start_server, _stop_server, answer_for)
from webhook_load import (FAKES, FakePlatform, FlowText, Msg, User, _drain, _server_command,  # noqa: E402
                          expects_input, next_answer)

KINDS = ("web", "zalo", "messenger", "telegram", "faq")
PLATFORM_KINDS = ("zalo", "messenger", "telegram")
DEFAULT_MIX = "web=30,zalo=15,messenger=15,telegram=10,faq=30"
DEFAULT_SCAN = "2,5,10,20,40,70,100,150,200,300,400,500,700,1000,1400,2000"
DEV_TSV = ROOT / "nlu_data" / "eval" / "dev.tsv"
RASA_RUN = ROOT / "bench" / "rasa_bot" / "run"
RASA_READY = "rasa-bot: ready at"
RASA_SURVEY_START = "tôi muốn tham gia khảo sát"
RASA_GREETING = "xin chào"


def faq_questions(path: Path = DEV_TSV) -> list[str]:
    """The questions of the NLU development set (expected answer ignored: only the traffic matters)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and "\t" in line:
            out.append(line.split("\t", 1)[1].strip())
    return out


def parse_mix(text: str) -> dict[str, float]:
    mix: dict[str, float] = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        kind = kind.strip()
        if kind not in KINDS or not weight:
            raise ValueError(f"--mix: {part!r} is not kind=weight with kind one of {', '.join(KINDS)}")
        mix[kind] = float(weight)
    if not mix or any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError("--mix needs positive weights")
    return {k: w for k, w in mix.items() if w > 0}


class Mix:
    """Smooth weighted round robin: every kind gets exactly its share of slots, evenly spread
    (random picks would make a short step's mix drift)."""

    def __init__(self, weights: dict[str, float]) -> None:
        self.weights = weights
        self.total = sum(weights.values())
        self.current = {k: 0.0 for k in weights}

    def next(self) -> str:
        for k, w in self.weights.items():
            self.current[k] += w
        best = max(self.current, key=self.current.__getitem__)
        self.current[best] -= self.total
        return best


# ---- what one message costs the user: a turn returns (outcome, perf_counter at completion) ------

Turn = tuple[str, float]  # "ok" or an error key ("web:429", "zalo:lost", "rasa:timeout", ...)


class SimUser(abc.ABC):
    """One simulated person; ``turn`` sends their next message and waits for the whole reply."""

    kind = ""

    @abc.abstractmethod
    async def turn(self) -> Turn:
        ...


class HailongWebUser(SimUser):
    """A web chat respondent (``flow=sipas``) or FAQ asker (no flow, then questions)."""

    def __init__(self, kind: str, base_url: str, http: aiohttp.ClientSession, rng: random.Random,
                 questions: list[str]) -> None:
        self.kind, self.http, self.rng, self.questions = kind, http, rng, questions
        self.sessions_url = f"{base_url}/api/v1/chat/sessions"
        self.token: str | None = None
        self.messages: list[dict[str, Any]] = []
        self.flow_state: dict[str, Any] = {}
        self.sent = 0
        self.left = 0  # FAQ questions still to ask in this session

    async def turn(self) -> Turn:
        if self.token is None:
            status, data = await _post(self.http, self.sessions_url, {"flow": FLOW} if self.kind == "web" else {})
            if status != 200:
                return f"{self.kind}:session:{status}", time.perf_counter()
            self.token, self.messages, self.flow_state = data["session"], data["messages"], data["flow_state"]
            self.sent, self.left = 0, self.rng.randint(1, 4)
            return "ok", time.perf_counter()
        if self.kind == "web":
            body = answer_for(self.messages, self.flow_state, self.rng)
        else:
            body = {"text": self.rng.choice(self.questions)}
        status, data = await _post(self.http, f"{self.sessions_url}/{self.token}/messages",
                                   {**body, "cid": f"c{self.sent}"})
        done = time.perf_counter()
        self.sent += 1
        if status != 200:
            self.token = None  # start afresh rather than resend into a session in an unknown state
            return f"{self.kind}:{status}", done
        self.messages, self.flow_state = data["messages"], data["flow_state"]
        self.left -= 1
        survey_over = self.kind == "web" and self.flow_state.get("status") != IN_PROGRESS
        if survey_over or (self.kind == "faq" and self.left <= 0):
            self.token = None
        return "ok", done


class HailongPlatformUser(SimUser):
    """A Zalo, Messenger or Telegram user answering ``sipas`` through signed webhooks."""

    def __init__(self, kind: str, fake: FakePlatform, user: User,
                 post: Callable[[bytes, dict[str, str]], Awaitable[Any]], flow: FlowText, reply_timeout: float,
                 strays: Counter) -> None:
        self.kind, self.fake, self.user, self.post, self.flow = kind, fake, user, post, flow
        self.reply_timeout, self.strays = reply_timeout, strays
        self.next: tuple[str, str | None] = ("sipas", None)

    async def turn(self) -> Turn:
        user = self.user
        if user.inbox:  # arrived after the last complete reply: counted, then ignored
            self.strays[self.kind] += len(user.inbox)
            user.inbox.clear()
        text, tap = self.next
        body, headers = self.fake.webhook(user, text, tap)
        t0 = time.perf_counter()
        status = await self.post(body, headers)
        if status != 200:
            return f"{self.kind}:{status}", time.perf_counter()
        done = await _complete_reply(user, self.flow, t0 + self.reply_timeout)
        if done is None:
            self.next = ("sipas", None)
            return f"{self.kind}:lost", time.perf_counter()
        if self.flow.is_closing(done.text):
            self.next = ("sipas", None)
        else:
            answer, tap_data, _ = next_answer(done, self.flow)
            self.next = (answer, tap_data)
        return "ok", done.at


async def _complete_reply(user: User, flow: FlowText, deadline: float) -> Msg | None:
    """The message that completes the bot's reply (``webhook_load``'s rule: buttons, a question's
    progress line, or the closing text), or None at the deadline."""
    while True:
        while user.inbox:
            m = user.inbox.pop(0)
            if flow.is_closing(m.text) or expects_input(m):
                return m
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        user.event.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(user.event.wait(), left)


class RasaUser(SimUser):
    """The same scripts over Rasa's REST channel: a survey (start, then a random 1-5 button per
    question until the closing text) or FAQ (greeting, then 1-4 questions); new sender per session."""

    def __init__(self, kind: str, idx: int, url: str, http: aiohttp.ClientSession, rng: random.Random,
                 questions: list[str]) -> None:
        self.kind, self.idx, self.url, self.http, self.rng, self.questions = kind, idx, url, http, rng, questions
        self.sessions = 0
        self.sender = ""
        self.next_text: str | None = None  # None: start a new session
        self.left = 0

    async def turn(self) -> Turn:
        if self.next_text is None:
            self.sessions += 1
            self.sender = f"{self.kind}-{self.idx}-{self.sessions}"
            text = RASA_SURVEY_START if self.kind != "faq" else RASA_GREETING
            self.left = self.rng.randint(1, 4)
        else:
            text = self.next_text
        status, data = await _post(self.http, self.url, {"sender": self.sender, "message": text})
        done = time.perf_counter()
        if status != 200 or not isinstance(data, list):
            self.next_text = None
            return f"rasa:{status}", done
        if not data:  # Rasa answered nothing: the bot failed this message
            self.next_text = None
            return "rasa:empty", done
        if self.kind == "faq":
            self.next_text = self.rng.choice(self.questions) if self.left > 0 else None
            self.left -= 1
            return "ok", done
        buttons = [b["payload"] for m in data for b in (m.get("buttons") or ())]
        if buttons:
            self.next_text = self.rng.choice(buttons)
            return "ok", done
        self.next_text = None  # the closing text, or the survey did not start: a new session
        return ("ok" if text != RASA_SURVEY_START else "rasa:no_survey"), done


# ---- targets: what is under test --------------------------------------------------------------

def _tree(root: int) -> list[int]:
    """``root`` and all its descendants (Rasa's Sanic workers and action server)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    data = f.read().decode()
            except OSError:
                continue
            ppid = int(data[data.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
    return round(total / 1024, 1)


class Target(abc.ABC):
    """A system under test: started once, then driven through several steps."""

    name = ""
    pg_database = ""

    def __init__(self, workers: int, args: argparse.Namespace) -> None:
        self.workers, self.args = workers, args

    @property
    def label(self) -> str:
        return f"{self.name} w{self.workers}"

    @abc.abstractmethod
    async def start(self, http: aiohttp.ClientSession) -> None:
        ...

    @abc.abstractmethod
    async def stop(self) -> None:
        ...

    @abc.abstractmethod
    def pids(self) -> list[int]:
        ...

    @abc.abstractmethod
    def user(self, kind: str, idx: int, rng: random.Random) -> SimUser:
        ...

    async def settle(self) -> dict[str, Any]:
        """Between steps: let queued work finish so that one step's backlog is not the next's."""
        await asyncio.sleep(self.args.settle)
        return {}

    def begin_step(self) -> None:
        """A new step gets new users: forget the old ones (late replies to them are ignored)."""

    def measuring(self, on: bool) -> None:
        """The measurement window opens or closes (the fake platforms count their sends in it)."""


class HailongTarget(Target):
    name = "hailong"

    def __init__(self, workers: int, args: argparse.Namespace) -> None:
        super().__init__(workers, args)
        self.data_dir = Path(tempfile.mkdtemp(prefix="hailong-mixed-"))
        self.backend: Backend | None = None
        self.servers: list[Server] = []
        self.wh_stats = webhook_load.Stats()
        self.fakes: dict[str, FakePlatform] = {}
        self.flow = FlowText.load()
        self.strays: Counter = Counter()
        self.http: aiohttp.ClientSession | None = None
        self.rr = itertools.count()
        self.questions = faq_questions()

    @property
    def label(self) -> str:
        return f"hailong w{self.workers}" + (" unpaced" if self.args.unpaced else "")

    async def start(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        kinds = [k for k in PLATFORM_KINDS if k in self.args.mix_weights]
        for k in kinds:
            self.fakes[k] = await FAKES[k](self.wh_stats).start()
        self.backend = await asyncio.to_thread(_make_backend, "postgres", self.data_dir, self.args.pg_admin_url,
                                               self.args.redis_url)
        self.pg_database = self.backend.pg_database
        env = self.backend.env(self.data_dir, secrets.token_urlsafe(32))
        for fake in self.fakes.values():
            env.update(fake.env())
        env["HAILONG_SEND_USER_PACING"] = "0"  # as webhook_load: the fakes have no per-chat limit
        # the working tree's packages, also those newer than the venv's editable install
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        _log(f"{self.label}: migrating, loading flows and the knowledge base")
        await asyncio.to_thread(_run_cli, ["db", "upgrade"], env)
        await asyncio.to_thread(_run_cli, ["flows", "load"], env)
        await asyncio.to_thread(_run_cli, ["kb", "import", str(ROOT / "nlu_data" / "kb" / "seed.jsonl")], env)
        base = _free_port_block(self.workers)
        with _server_command(self.data_dir, self.args.unpaced):
            self.servers = list(await asyncio.gather(*(_start_server(base + i, env, self.data_dir)
                                                       for i in range(self.workers))))
        _log(f"{self.label}: servers on ports {base}-{base + self.workers - 1}; fakes "
             + ", ".join(f"{k} {f.url}" for k, f in self.fakes.items()))

    async def stop(self) -> None:
        await asyncio.gather(*(_stop_server(s) for s in self.servers), return_exceptions=True)
        for s in self.servers:
            with contextlib.suppress(OSError):
                tail = s.stderr_path.read_text(errors="replace").strip().splitlines()
                if tail:
                    _log(f"server {s.port} stderr ({len(tail)} lines, last 5):\n  " + "\n  ".join(tail[-5:]))
        for fake in self.fakes.values():
            await fake.close()
        if self.backend is not None:
            await asyncio.to_thread(_drop_backend, self.backend)
            await asyncio.to_thread(_drop_job_keys, self.backend)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.servers]

    async def _post_webhook(self, kind: str, body: bytes, headers: dict[str, str]) -> int | str:
        assert self.http is not None
        server = self.servers[next(self.rr) % len(self.servers)]  # a load balancer in front of one URL
        try:
            async with self.http.post(f"{server.base_url}/webhooks/{kind}", data=body, headers=headers) as resp:
                await resp.read()
        except (asyncio.TimeoutError, aiohttp.ClientError) as e:
            return "timeout" if isinstance(e, asyncio.TimeoutError) else type(e).__name__
        return resp.status

    def user(self, kind: str, idx: int, rng: random.Random) -> SimUser:
        assert self.http is not None
        if kind in PLATFORM_KINDS:
            fake = self.fakes[kind]
            u = fake.new_user(idx)
            fake.users[u.key] = u

            async def post(body: bytes, headers: dict[str, str], kind: str = kind) -> int | str:
                return await self._post_webhook(kind, body, headers)

            return HailongPlatformUser(kind, fake, u, post, self.flow, self.args.reply_timeout, self.strays)
        base = self.servers[idx % len(self.servers)].base_url  # a web chat session stays on one process
        return HailongWebUser(kind, base, self.http, rng, self.questions)

    def begin_step(self) -> None:
        for fake in self.fakes.values():
            fake.users = {}

    def measuring(self, on: bool) -> None:
        self.wh_stats.measuring = on

    async def settle(self) -> dict[str, Any]:
        """Wait for the inbox and outbox to empty (webhook work still queued), then pause."""
        assert self.backend is not None
        counts = await _drain(self.backend.database_url.replace("+asyncpg", ""), self.args.drain_timeout)
        await asyncio.sleep(self.args.settle)
        return {"drained": counts["drained"], "inbox": counts["inbox"], "outbox": counts["outbox"]}


def _drop_job_keys(backend: Backend) -> None:
    """The job queue's keys (saq names them ``saq:<prefix>jobs…`` and ``saq:job:<prefix>jobs…``),
    which ``chat_load._drop_backend`` does not match because they do not start with the prefix."""
    import redis

    try:
        r = redis.Redis.from_url(backend.redis_url, socket_timeout=10)
        for pattern in (f"saq:{backend.redis_prefix}jobs*", f"saq:job:{backend.redis_prefix}jobs*"):
            keys = list(r.scan_iter(match=pattern, count=1000))
            for i in range(0, len(keys), 1000):
                r.delete(*keys[i:i + 1000])
        r.close()
    except Exception as e:  # noqa: BLE001 - report and go on cleaning up
        _log(f"could not delete job queue keys of {backend.redis_prefix}: {e}")


class RasaTarget(Target):
    name = "rasa"

    def __init__(self, workers: int, args: argparse.Namespace) -> None:
        super().__init__(workers, args)
        self.proc: asyncio.subprocess.Process | None = None
        self.prefix = f"hlbenchrasa{secrets.token_hex(4)}"
        self.url = ""
        self.http: aiohttp.ClientSession | None = None
        self.questions = faq_questions()
        self.log_path = Path(tempfile.mkstemp(prefix="rasa-bot-", suffix=".log")[1])

    @property
    def label(self) -> str:
        return f"rasa w{self.workers} {self.args.rasa_tracker}"

    async def start(self, http: aiohttp.ClientSession) -> None:
        self.http = http
        port = _free_port_block(2)  # Rasa, and its action server on the next port
        with open(self.log_path, "wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                str(RASA_RUN), "--port", str(port), "--workers", str(self.workers), "--tracker", self.args.rasa_tracker,
                "--redis-url", self.args.redis_url, "--prefix", self.prefix, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                stderr=log, start_new_session=True)
        assert self.proc.stdout is not None
        _log(f"{self.label}: training if needed, then serving on port {port} (log {self.log_path})")

        async def ready() -> None:
            while True:
                line = await self.proc.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    raise RuntimeError(f"bench/rasa_bot/run exited:\n{self.log_path.read_text(errors='replace')[-3000:]}")
                if RASA_READY.encode() in line:
                    _log(line.decode(errors="replace").strip())
                    return

        await asyncio.wait_for(ready(), self.args.rasa_start_timeout)
        self.url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"

    async def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.returncode is None:
            # the run script traps TERM and stops Rasa and the action server; its group is ours
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self.args.rasa_tracker == "redis":
            await asyncio.to_thread(_drop_backend, Backend("rasa", "", redis_url=self.args.redis_url,
                                                           redis_prefix=self.prefix))
        if self.proc is not None and self.proc.returncode not in (0, None, -signal.SIGTERM):
            _log("rasa log (last lines):\n  " + "\n  ".join(self.log_path.read_text(errors="replace").splitlines()[-5:]))
        self.log_path.unlink(missing_ok=True)

    def pids(self) -> list[int]:
        if self.proc is None:
            return []
        keep = []
        for pid in _tree(self.proc.pid):  # the run script's bash (and its sleeping children) are not Rasa
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() not in ("bash", "sleep"):
                        keep.append(pid)
        return keep

    def user(self, kind: str, idx: int, rng: random.Random) -> SimUser:
        assert self.http is not None
        return RasaUser(kind, idx, self.url, self.http, rng, self.questions)

    async def settle(self) -> dict[str, Any]:
        """After an overloaded step Rasa is still working through requests whose clients gave up:
        wait until a greeting is answered within 0.5 s again (or --drain-timeout)."""
        assert self.http is not None
        deadline = time.monotonic() + self.args.drain_timeout
        probes = 0
        while True:
            probes += 1
            t0 = time.perf_counter()
            status, _ = await _post(self.http, self.url, {"sender": f"probe-{probes}", "message": RASA_GREETING})
            took = time.perf_counter() - t0
            if (status == 200 and took < 0.5) or time.monotonic() >= deadline:
                break
            await asyncio.sleep(1.0)
        await asyncio.sleep(self.args.settle)
        return {"drained": status == 200 and took < 0.5, "probes": probes}


# ---- one step: a fixed rate for a fixed time ----------------------------------------------------

@dataclass
class StepStats:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    lag: list[float] = field(default_factory=list)       # start of send - due time (generator lag)
    errors: Counter = field(default_factory=Counter)
    sent: int = 0                                         # messages due inside the window
    ok: int = 0
    shed: int = 0                                         # due, but no user could take it (--max-users)
    users: int = 0


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 1)


async def run_step(target: Target, rate: float, args: argparse.Namespace, users_from: int) -> dict[str, Any]:
    """Send at ``rate`` messages/s for warm-up + duration; measure the messages due in the window."""
    target.begin_step()
    mix = Mix(args.mix_weights)
    idle: dict[str, deque[tuple[float, SimUser]]] = {k: deque() for k in args.mix_weights}
    stats = StepStats()
    ids = itertools.count(users_from)
    tasks: set[asyncio.Task] = set()
    interval = 1.0 / rate
    n_warm, n_window = int(round(rate * args.warmup)), max(1, int(round(rate * args.duration)))
    window: dict[str, Any] = {}
    first: asyncio.Task | None = None
    t0 = time.perf_counter() + 0.05

    async def one(user: SimUser, kind: str, due: float, counted: bool) -> None:
        if counted:
            stats.lag.append(time.perf_counter() - due)
        try:
            outcome, done = await asyncio.wait_for(user.turn(), args.reply_timeout + 5)
        except asyncio.TimeoutError:
            outcome, done = f"{kind}:timeout", time.perf_counter()
        if counted:
            if outcome == "ok":
                stats.ok += 1
                lat = done - due
                stats.latencies.append(lat)
                stats.by_kind.setdefault(kind, []).append(lat)
            else:
                stats.errors[outcome] += 1
        idle[kind].append((time.perf_counter() + args.think, user))

    def sample(key: str) -> None:  # ~50 ms of /proc reading: in a thread, so the sending loop keeps time
        pids = target.pids()
        window[key] = _cpu_sample(pids)
        window[key + "_rss"] = _rss_mb(pids)

    for i in range(n_warm + n_window):
        due = t0 + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if i == n_warm:
            first = asyncio.create_task(asyncio.to_thread(sample, "cpu0"))
            target.measuring(True)
        counted = i >= n_warm
        kind = mix.next()
        queue = idle[kind]
        if queue and queue[0][0] <= time.perf_counter():
            user = queue.popleft()[1]
        elif stats.users < args.max_users:
            idx = next(ids)
            user = target.user(kind, idx, random.Random(args.seed * 1_000_003 + idx))
            stats.users += 1
        else:
            if counted:
                stats.sent += 1
                stats.shed += 1
                stats.errors["shed"] += 1
            continue
        if counted:
            stats.sent += 1
        task = asyncio.create_task(one(user, kind, due, counted))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    window_s = time.perf_counter() - (t0 + n_warm * interval)
    await asyncio.to_thread(sample, "cpu1")
    if first is not None:
        await first
    target.measuring(False)
    if tasks:  # the last messages of the window: wait for their replies (bounded by their own timeout)
        _, pending = await asyncio.wait(set(tasks), timeout=args.reply_timeout + 10)
        for t in pending:
            t.cancel()
    unfinished = stats.sent - stats.ok - sum(stats.errors.values())
    if unfinished > 0:  # cancelled above: a message without an outcome is a failure, not a gap
        stats.errors["unfinished"] += unfinished
    cpu = _cpu_split(window["cpu0"], window["cpu1"], target.pg_database)
    lat = sorted(stats.latencies)
    achieved = stats.ok / window_s if window_s > 0 else 0.0
    errors = sum(stats.errors.values())
    p99 = _percentile(lat, 99)
    result: dict[str, Any] = {
        "target": target.label,
        "system": target.name,
        "workers": target.workers,
        "rate": rate,
        "window_s": round(window_s, 2),
        "sent": stats.sent,
        "answered": stats.ok,
        "msgs_per_s": round(achieved, 1),
        "p50_ms": _ms(_percentile(lat, 50)),
        "p95_ms": _ms(_percentile(lat, 95)),
        "p99_ms": _ms(p99),
        "max_ms": _ms(lat[-1] if lat else None),
        "errors": errors,
        "errors_by_kind": dict(stats.errors),
        "generator_lag_p99_ms": _ms(_percentile(sorted(stats.lag), 99)),
        "users": stats.users,
        "by_kind": {k: {"n": len(v), "p50_ms": _ms(_percentile(sorted(v), 50)),
                        "p99_ms": _ms(_percentile(sorted(v), 99))} for k, v in sorted(stats.by_kind.items())},
        "cpu_cores": cpu,
        "server_cpu_ms_per_msg": round(cpu["servers"] * 1000 / achieved, 2) if achieved else None,
        # the server plus its stores (PostgreSQL backends and background processes, Redis)
        "total_cpu_ms_per_msg": round((cpu["servers"] + cpu["postgres"] + cpu["redis"]) * 1000 / achieved, 2)
        if achieved else None,
        "rss_mb": max(window["cpu0_rss"], window["cpu1_rss"]),
        "passed": bool(lat) and errors == 0 and p99 is not None and p99 * 1000 < args.p99_ms,
    }
    if isinstance(target, HailongTarget) and target.strays:
        result["stray_messages"] = dict(target.strays)
        target.strays.clear()
    result["settle"] = await target.settle()
    return result


def _steps(args: argparse.Namespace) -> list[float]:
    return [float(x) for x in str(args.scan_steps).split(",") if x.strip()]


async def scan(target: Target, args: argparse.Namespace, report: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Step the rate up until a step fails, then bisect ``--refine`` times between the last pass
    and the first failure. Returns the steps and the highest rate that passed."""
    results: list[dict[str, Any]] = []
    users_from = 0
    best: dict[str, Any] | None = None
    failed: float | None = None

    async def step(rate: float) -> dict[str, Any]:
        nonlocal users_from, best
        r = await run_step(target, rate, args, users_from)
        users_from += r["users"]
        results.append(r)
        report(r)
        if r["passed"] and (best is None or rate > best["rate"]):
            best = r
        return r

    rates = _steps(args) if args.scan else [args.rate]
    later: list[float] = []
    for i, rate in enumerate(rates):
        if not (await step(rate))["passed"] and args.scan:
            failed, later = rate, rates[i + 1:]
            break
    for _ in range(args.refine if args.scan and failed is not None else 0):
        low = best["rate"] if best else 0.0
        mid = round((low + failed) / 2, 1)  # type: ignore[operator]
        if mid <= low or mid >= failed:  # type: ignore[operator]
            break
        if (await step(mid))["passed"]:
            continue
        failed = mid
    # past the latency bound: how much it still answers without errors (its capacity)
    for rate in later if args.capacity else []:
        if not sustained(await step(rate), args.capacity_p99_ms):
            break
    capacity = max((r for r in results if sustained(r, args.capacity_p99_ms)), key=lambda r: r["rate"], default=None)
    # on a busy machine a step can fail below one that passes: say so next to the best
    below = sorted(r["rate"] for r in results if not r["passed"] and best and r["rate"] < best["rate"])
    return {"target": target.label, "system": target.name, "workers": target.workers,
            "best_rate": best["rate"] if best else None, "best": best, "first_failed_rate": failed,
            "failed_below_best": below,
            "capacity_rate": capacity["rate"] if capacity else None, "capacity": capacity, "steps": results}


def sustained(r: dict[str, Any], p99_ms: float) -> bool:
    """Kept up with the offered rate: no errors, at least 95 % answered, and p99 under a loose
    bound (1 s by default). Without the bound a queue still growing at the end of a short step,
    which a longer step would turn into timeouts, would count as kept up."""
    return r["errors"] == 0 and r["msgs_per_s"] >= 0.95 * r["rate"] and (r["p99_ms"] or 0) < p99_ms


async def run_target(target: Target, args: argparse.Namespace,
                     report: Callable[[dict[str, Any]], None] = lambda r: None) -> dict[str, Any]:
    """Start the target, scan (or one step), stop it whatever happened."""
    factory = _SourceAddresses(args.source_ips) if args.source_ips > 1 else None
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, socket_factory=factory, ttl_dns_cache=None,
                                     use_dns_cache=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=args.reply_timeout),
                                     raise_for_status=False) as http:
        try:
            await target.start(http)
            return await scan(target, args, report)
        finally:
            await target.stop()


def make_target(system: str, workers: int, args: argparse.Namespace) -> Target:
    return HailongTarget(workers, args) if system == "hailong" else RasaTarget(workers, args)


def format_table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Plain-text columns, as the other bench scripts print."""
    all_rows = [head, *rows]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(head))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in all_rows)


def step_line(r: dict[str, Any]) -> str:
    c = r["cpu_cores"]
    return (f"{r['target']:<22} rate {r['rate']:>7g}/s  got {r['msgs_per_s']:>7.1f}/s  p50 {r['p50_ms']} p95 {r['p95_ms']} "
            f"p99 {r['p99_ms']} ms  errors {r['errors']} {r['errors_by_kind'] or ''} lag99 {r['generator_lag_p99_ms']} ms  "
            f"users {r['users']}  cpu srv/bench/pg/redis/other {c['servers']:.2f}/{c['bench']:.2f}/{c['postgres']:.2f}/"
            f"{c['redis']:.2f}/{c['other']:.2f}  {r['server_cpu_ms_per_msg']} ms/msg  rss {r['rss_mb']} MB  "
            f"{'PASS' if r['passed'] else 'fail'}")


def add_common_args(p: argparse.ArgumentParser) -> None:
    """Options shared with bench/compare_rasa.py."""
    p.add_argument("--workers", default="1", help="server processes, or a comma list (e.g. 1,2)")
    p.add_argument("--rate", type=float, default=50.0, help="messages/s for a single step (without --scan)")
    p.add_argument("--scan", nargs="?", const=DEFAULT_SCAN, default=None, metavar="RATES",
                   help=f"step the rate up through this comma list until a step fails (default {DEFAULT_SCAN})")
    p.add_argument("--refine", type=int, default=2, help="after the first failing step, bisect this many times")
    p.add_argument("--capacity", action="store_true",
                   help="after the first failure, go on up the steps while the rate is still sustained "
                        "(no errors, 95 %% answered, p99 < --capacity-p99-ms): the capacity")
    p.add_argument("--capacity-p99-ms", type=float, default=1000.0, help="the capacity's latency bound (default 1000)")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds per step (default 20)")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds sent at the step's rate before measuring")
    p.add_argument("--think", type=float, default=2.0,
                   help="a user answers no sooner than this many seconds after a reply (default 2)")
    p.add_argument("--mix", default=DEFAULT_MIX, help=f"message shares by kind (default {DEFAULT_MIX})")
    p.add_argument("--p99-ms", type=float, default=100.0, help="a step passes below this p99 (default 100)")
    p.add_argument("--reply-timeout", type=float, default=10.0, help="a reply later than this is an error (s)")
    p.add_argument("--max-users", type=int, default=20000, help="simulated users at most; beyond, slots are shed")
    p.add_argument("--settle", type=float, default=2.0, help="pause between steps (s)")
    p.add_argument("--drain-timeout", type=float, default=60.0, help="Hailong: wait for empty queues between steps")
    p.add_argument("--unpaced", action="store_true",
                   help="Hailong: lift the channel-wide send pacing (Zalo 20/s, Telegram 25/s per process)")
    p.add_argument("--rasa-tracker", choices=("redis", "memory"), default="redis",
                   help="Rasa's tracker and lock store (default redis; memory allows one worker only)")
    p.add_argument("--rasa-start-timeout", type=float, default=900.0, help="training + start-up bound (s)")
    p.add_argument("--source-ips", type=int, default=254, help="loopback source addresses (chat_load's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--json", action="store_true", help="print the results as JSON")


def check_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    _require_loopback(args.pg_admin_url, "--pg-admin-url")
    _require_loopback(args.redis_url, "--redis-url")
    try:
        args.mix_weights = parse_mix(args.mix)
    except ValueError as e:
        p.error(str(e))
    args.workers_list = [int(w) for w in str(args.workers).split(",") if w.strip()]
    if not args.workers_list or any(not 1 <= w <= 8 for w in args.workers_list):
        p.error("--workers must be between 1 and 8")
    args.scan_steps = args.scan or ""
    if args.scan and any(not 0 < r <= 20000 for r in _steps(args)):
        p.error("--scan rates must be in (0, 20000]")
    if not 0 < args.rate <= 20000 or not 0 < args.duration <= 600 or not 0 <= args.warmup <= 120:
        p.error("--rate in (0, 20000], --duration in (0, 600], --warmup in [0, 120]")
    if not 0 <= args.think <= 600 or not 0 < args.reply_timeout <= 120 or not 1 <= args.max_users <= 200000:
        p.error("--think in [0, 600], --reply-timeout in (0, 120], --max-users in [1, 200000]")
    if not 0 <= args.refine <= 6:
        p.error("--refine in [0, 6]")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Mixed open-loop load against Hailong or the Rasa comparison bot.")
    p.add_argument("--target", choices=("hailong", "rasa"), default="hailong")
    add_common_args(p)
    args = p.parse_args(argv)
    check_args(p, args)
    if args.target == "rasa" and args.rasa_tracker == "memory" and args.workers_list != [1]:
        p.error("Rasa with --rasa-tracker memory runs one worker only")
    return args


T = TypeVar("T")


def run_main(work: Callable[[], Awaitable[T]]) -> T | None:
    """Run ``work`` on the generator's loop (uvloop, as the servers). SIGTERM cancels it, so the
    targets' ``finally`` still stop the servers and drop the database; None when interrupted."""

    async def guarded() -> T:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)  # type: ignore[union-attr]
        return await work()

    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(guarded())
    except (asyncio.CancelledError, KeyboardInterrupt):
        _log("interrupted: servers stopped, scratch database and keys removed")
        return None


async def run_targets(plan: list[tuple[str, int, argparse.Namespace]]) -> list[dict[str, Any]]:
    """Each (system, workers, options) in turn, one at a time on the same machine."""
    out = []
    for system, workers, options in plan:
        out.append(await run_target(make_target(system, workers, options), options, lambda r: _log(step_line(r))))
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run_main(lambda: run_targets([(args.target, w, args) for w in args.workers_list]))
    if results is None:
        return 130
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
        return 0
    for r in results:
        print(f"{r['target']}: highest rate with p99 < {args.p99_ms:g} ms and no errors: "
              f"{r['best_rate'] if r['best_rate'] is not None else 'none'} msgs/s"
              + (f" (first failure at {r['first_failed_rate']:g}/s)" if r["first_failed_rate"] else ""))
        for s in r["steps"]:
            print("  " + step_line(s))
    return 0


if __name__ == "__main__":
    sys.exit(main())
