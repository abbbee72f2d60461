#!/usr/bin/env python3
"""Platform webhook load test: simulated Zalo, Messenger and Telegram users answer ``sipas``.

For each platform in ``--platforms`` it:

1. creates a fresh PostgreSQL database and Redis key prefix, migrates it and loads the flows
   (``bench/chat_load.py``'s helpers),
2. starts a fake of the platform's HTTP API **inside this process** (same event loop as the users):
   Zalo ``POST /v3.0/oa/message/cs`` (+ the OAuth refresh endpoint), Messenger ``POST
   /{version}/me/messages``, Telegram ``/bot<token>/sendMessage`` and ``answerCallbackQuery``.
   It checks the token, accepts the send in the platform's real request format, answers success
   and hands the message to the simulated user it is for,
3. starts K ``hailong run`` processes with that platform's credentials and API base pointing at the
   fake, per-user send pacing off (``HAILONG_SEND_USER_PACING=0``: the fake has no per-chat limit),
4. lets N users (one asyncio task each) send signed webhooks, spread round-robin over the K servers
   (a load balancer in front of one webhook URL), each waiting for the bot's complete reply before
   answering it: "sipas", then tap the first button / "1" for a numbered list / a typed answer,
   until the closing message, then "sipas" again,
5. reports answered messages/s over the window, p50/p95/p99 webhook→reply latency, the webhook's
   own answer time, webhook errors, lost replies, CPU per party (``chat_load``'s /proc accounting),
   and from ``pg_stat_database`` the transactions per answered message and new connections per second,
6. lets the servers drain, checks the database against what the fake received (lost or duplicated
   sends), stops the servers and drops the database and the Redis keys, whatever happened.

**When is a reply complete?** The latency of one user message runs from just before its webhook
POST to the arrival at the fake of the *last* message of the bot's reply. The reply is complete
when a message arrives that expects input: it has buttons (Zalo template buttons, Messenger quick
replies, a Telegram inline keyboard) or it is a question, which always carries the progress line
``Câu N/M`` (re-asks too); or when the closing message arrives (the flow's ``closing`` text). A
numbered list or a "?" alone is not enough: the review before submitting lists every answer and is
split into several messages on Zalo and Messenger. Messages after that, before the user's next
message, are counted as ``stray`` (there should be none: it would mean the rule cut a reply short
or the bot sent something twice). How to answer: tap the first button (as the platform sends a tap);
a numbered list gets "1"; a question found in ``survey_flows/sipas.yaml`` by its text gets a typed
answer for its type (as ``tests/platforms/driver.py``: "ha noi", "01/01/2025", "0912345678", the
number's minimum, "không có ý kiến"); anything else gets "1".

Bounded load: every target is on 127.0.0.1, every wait has a deadline, the run stops by itself.

Examples::

    .venv/bin/python bench/webhook_load.py --platforms zalo,messenger,telegram --users 200 --duration 20
    .venv/bin/python bench/webhook_load.py --platforms telegram --workers 2 --users 400 --json
    .venv/bin/python bench/webhook_load.py --platforms zalo --users 1 --duration 10 --trace   # see the dialogue
    .venv/bin/python bench/webhook_load.py --platforms messenger --profile /tmp/prof --profile-gil

The fake runs in the bench process, so the ``bench`` CPU column is the simulated users plus the fake
platform API. ``--unpaced`` starts the servers through a small wrapper that lifts the channel-wide
send pacing (not the shipped configuration), to show the server's own ceiling.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl

import aiohttp
import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

import chat_load  # noqa: E402  (the shared helpers: backends, server processes, CPU accounting)
from chat_load import (ROOT, Server, _cpu_sample, _cpu_split, _drop_backend, _free_port_block, _log,  # noqa: E402
                       _loop_factory, _make_backend, _percentile, _require_loopback, _run_cli, _start_server,
                       _stop_server)

PLATFORMS = ("zalo", "messenger", "telegram")
FLOW_FILE = ROOT / "survey_flows" / "sipas.yaml"
NUMBERED = re.compile(r"^1\. ", re.M)
PROGRESS = re.compile(r"^Câu \d+/\d+$", re.M)
TYPED = {"unit": "ha noi", "date": "01/01/2025", "phone": "0912345678", "text": "không có ý kiến"}
MAX_TURNS_PER_SURVEY = 200  # sipas is about 45 turns; this only stops a runaway loop


# ---- what the user reads: the flow's questions and closing, as a person who knows the survey ------

def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class FlowText:
    questions: list[tuple[str, str, Any]]  # (normalised text, type, min), longest first
    closing: str

    @classmethod
    def load(cls, path: Path = FLOW_FILE) -> "FlowText":
        import yaml

        flow = yaml.safe_load(path.read_text(encoding="utf-8"))
        qs = [(_norm(q["text"]), q["type"], q.get("min")) for s in flow["sections"] for q in s["questions"]]
        return cls(sorted(qs, key=lambda q: -len(q[0])), _norm(flow.get("closing") or ""))

    def question(self, text: str) -> tuple[str, Any] | None:
        t = _norm(text)
        for q_text, q_type, q_min in self.questions:
            if q_text and q_text in t:
                return q_type, q_min
        return None

    def is_closing(self, text: str) -> bool:
        return bool(self.closing) and self.closing[:60] in _norm(text)


@dataclass
class Msg:
    """One platform message the bot sent, as the user's phone shows it."""

    text: str
    buttons: list[tuple[str, str]]  # (title, what a tap sends: Zalo payload, quick-reply payload, callback_data)
    at: float                        # perf_counter() when the fake received it


# ---- simulated users -----------------------------------------------------------------------------

class User:
    __slots__ = ("idx", "key", "inbox", "event", "waiting", "last_msg_id")

    def __init__(self, idx: int, key: str) -> None:
        self.idx, self.key = idx, key
        self.inbox: list[Msg] = []
        self.event = asyncio.Event()
        self.waiting = False
        self.last_msg_id = ""

    def deliver(self, msg: Msg) -> None:
        self.inbox.append(msg)
        self.event.set()


@dataclass
class Stats:
    measuring: bool = False
    answered: int = 0                 # replies completed inside the window
    answered_total: int = 0
    latencies: list[float] = field(default_factory=list)
    ack_latencies: list[float] = field(default_factory=list)   # webhook POST → its HTTP answer
    webhook_status: Counter = field(default_factory=Counter)   # inside the window, all statuses
    webhook_errors_total: Counter = field(default_factory=Counter)
    posts_total: int = 0
    lost: int = 0                     # no complete reply within --reply-timeout (window)
    lost_total: int = 0
    stray: int = 0                    # messages after a complete reply, before the user's next message
    sends_window: int = 0             # messages the fake accepted inside the window
    surveys_completed: int = 0        # closing messages inside the window
    surveys_completed_total: int = 0
    reasks: int = 0                   # replies whose question was the one just answered (an answer not understood)
    turns: Counter = field(default_factory=Counter)            # what users sent: button/number/typed/start


# ---- the fake platforms (one aiohttp low-level server each, in this process) -----------------------

class FakePlatform:
    name = ""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.users: dict[str, User] = {}
        self.sends = 0             # accepted send calls, warm-up and drain included
        self.rejected: Counter = Counter()
        self.unknown_user = 0
        self.other_calls: Counter = Counter()
        self.url = ""
        self._server: asyncio.base_events.Server | None = None
        self._low: web.Server | None = None
        self._ids = itertools.count(1)

    async def start(self) -> "FakePlatform":
        self._low = web.Server(self._handle, access_log=None)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._low, "127.0.0.1", 0, backlog=1024)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._low is not None:
            with contextlib.suppress(Exception):
                await self._low.shutdown(1.0)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        raise NotImplementedError

    def _accept(self, key: str, msg: Msg) -> bool:
        user = self.users.get(key)
        if user is None:
            self.unknown_user += 1
            return False
        self.sends += 1
        if self.stats.measuring:
            self.stats.sends_window += 1
        user.deliver(msg)
        return True

    # the webhook side: (body, headers) of a user's message or tap, as the platform would POST it
    def webhook(self, user: User, text: str, tap: str | None) -> tuple[bytes, dict[str, str]]:
        raise NotImplementedError

    def new_user(self, idx: int) -> User:
        raise NotImplementedError


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


class FakeZalo(FakePlatform):
    """``POST /v3.0/oa/message/cs`` (header ``access_token``; recipient ``message_id`` or ``user_id``;
    a text and optionally a template of ``oa.query.hide`` buttons) and ``POST /v4/oa/access_token``."""

    name = "zalo"
    APP_ID, OA_ID = "1496501574123456789", "4318253617123456789"

    def __init__(self, stats: Stats) -> None:
        super().__init__(stats)
        self.app_secret = "bench-app-secret"
        self.oa_secret_key = "bench-oa-secret-key"
        self.access_tokens = {"bench-access-" + secrets.token_hex(6)}
        self.access_token = next(iter(self.access_tokens))
        self.refresh_token = "bench-refresh-" + secrets.token_hex(6)
        self.msg_ids: dict[str, str] = {}  # the user's msg_id -> user id (replies quote it)
        self.refreshes = 0

    def env(self) -> dict[str, str]:
        return {"HAILONG_ZALO_APP_ID": self.APP_ID, "HAILONG_ZALO_APP_SECRET": self.app_secret,
                "HAILONG_ZALO_OA_SECRET_KEY": self.oa_secret_key, "HAILONG_ZALO_OA_ID": self.OA_ID,
                # seeded into the database at the first start, valid for an hour (runs are far shorter)
                "HAILONG_ZALO_ACCESS_TOKEN": self.access_token, "HAILONG_ZALO_REFRESH_TOKEN": self.refresh_token,
                "HAILONG_ZALO_API_BASE": self.url, "HAILONG_ZALO_OAUTH_BASE": self.url}

    def new_user(self, idx: int) -> User:
        return User(idx, f"25127365{idx:011d}")

    def webhook(self, user: User, text: str, tap: str | None) -> tuple[bytes, dict[str, str]]:
        from channels.zalo.signature import SIGNATURE_HEADER, sign

        msg_id = secrets.token_hex(16)
        self.msg_ids[msg_id] = user.key
        # a tap on an oa.query.hide button arrives as a hidden user_send_text carrying the payload
        body = orjson.dumps({
            "app_id": self.APP_ID, "user_id_by_app": "55" + user.key[2:], "event_name": "user_send_text",
            "timestamp": str(int(time.time() * 1000)), "sender": {"id": user.key}, "recipient": {"id": self.OA_ID},
            "message": {"text": tap if tap is not None else text, "msg_id": msg_id}})
        return body, {SIGNATURE_HEADER: sign(body, self.oa_secret_key), "Content-Type": "application/json"}

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        raw = await request.read()
        if request.path == "/v3.0/oa/message/cs" and request.method == "POST":
            if request.headers.get("access_token") not in self.access_tokens:
                self.rejected["token"] += 1
                return _json({"error": -216, "message": "Access token is invalid"})
            try:
                body = orjson.loads(raw)
                recipient, message = body["recipient"], body["message"]
                key = self.msg_ids.get(recipient["message_id"]) if "message_id" in recipient else recipient["user_id"]
                text = message["text"]
                attachment = message.get("attachment")
                buttons = [(b["title"], b["payload"]) for b in attachment["payload"]["buttons"]] if attachment else []
                if not isinstance(text, str) or not text or len(text) > 2000 or key is None:
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                self.rejected["bad_request"] += 1
                return _json({"error": -201, "message": "invalid request"})
            self._accept(key, Msg(text, buttons, time.perf_counter()))
            return _json({"error": 0, "message": "Success", "data": {"message_id": f"{next(self._ids):032x}",
                                                                      "user_id": key}})
        if request.path == "/v4/oa/access_token" and request.method == "POST":
            form = dict(parse_qsl(raw.decode()))
            self.refreshes += 1
            if request.headers.get("secret_key") != self.app_secret or form.get("refresh_token") != self.refresh_token:
                return _json({"error": -14020, "error_name": "Invalid refresh token", "error_description": "bench"})
            self.access_token = "bench-access-" + secrets.token_hex(6)
            self.access_tokens.add(self.access_token)
            self.refresh_token = "bench-refresh-" + secrets.token_hex(6)
            return _json({"access_token": self.access_token, "refresh_token": self.refresh_token,
                          "expires_in": "90000"})
        self.other_calls[request.path] += 1
        return _json({"error": -1, "message": "not found"}, 404)


class FakeMessenger(FakePlatform):
    """``POST /{version}/me/messages?access_token=…`` with a text and optionally quick replies."""

    name = "messenger"
    PAGE = "1067280970047460"

    def __init__(self, stats: Stats) -> None:
        super().__init__(stats)
        self.app_secret = "bench-app-secret"
        self.page_token = "EAAB-bench-" + secrets.token_hex(8)
        self._mids = itertools.count(1)

    def env(self) -> dict[str, str]:
        return {"HAILONG_MESSENGER_APP_SECRET": self.app_secret, "HAILONG_MESSENGER_VERIFY_TOKEN": "bench-verify",
                "HAILONG_MESSENGER_PAGE_TOKEN": self.page_token, "HAILONG_MESSENGER_PAGE": self.PAGE,
                "HAILONG_MESSENGER_API_BASE": self.url}

    def new_user(self, idx: int) -> User:
        return User(idx, f"68521{idx:011d}")

    def webhook(self, user: User, text: str, tap: str | None) -> tuple[bytes, dict[str, str]]:
        now = int(time.time() * 1000)
        message: dict[str, Any] = {"mid": f"m_bench{next(self._mids)}_{secrets.token_hex(6)}", "text": text}
        if tap is not None:
            message["quick_reply"] = {"payload": tap}  # the text is the quick reply's title
        raw = orjson.dumps({"object": "page", "entry": [{"id": self.PAGE, "time": now, "messaging": [
            {"sender": {"id": user.key}, "recipient": {"id": self.PAGE}, "timestamp": now, "message": message}]}]})
        sig = "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()
        return raw, {"X-Hub-Signature-256": sig, "Content-Type": "application/json"}

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        raw = await request.read()
        if request.method == "POST" and request.path.endswith("/me/messages"):
            if request.query.get("access_token") != self.page_token:
                self.rejected["token"] += 1
                return _json({"error": {"message": "Invalid OAuth access token", "type": "OAuthException",
                                        "code": 190}}, 400)
            try:
                body = orjson.loads(raw)
                key, message = body["recipient"]["id"], body["message"]
                text = message["text"]
                if body.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG") or not text:
                    raise ValueError
                buttons = [(q["title"], q["payload"]) for q in message.get("quick_replies") or ()]
                if len(buttons) > 13 or any(len(t) > 20 for t, _ in buttons) or len(text) > 2000:
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                self.rejected["bad_request"] += 1
                return _json({"error": {"message": "(#100) invalid", "type": "OAuthException", "code": 100}}, 400)
            self._accept(key, Msg(text, buttons, time.perf_counter()))
            return _json({"recipient_id": key, "message_id": f"m_fake{next(self._ids)}"})
        self.other_calls[request.path] += 1
        return _json({"error": {"message": "Unknown path", "code": 2500}}, 404)


class FakeTelegram(FakePlatform):
    """``/bot<token>/sendMessage`` (form-encoded by python-telegram-bot, ``reply_markup`` as a JSON
    string; JSON bodies accepted too) and ``answerCallbackQuery``."""

    name = "telegram"
    TOKEN = "123456789:AAHbench-Token_for_load0123456789abcd"

    def __init__(self, stats: Stats) -> None:
        super().__init__(stats)
        self.secret = "hailong-bench-secret_" + secrets.token_hex(4)
        self.callbacks_answered = 0
        self._updates = itertools.count(100_000)
        self._prefix = f"/bot{self.TOKEN}/"
        self._bot = {"id": 123456789, "is_bot": True, "first_name": "Hailong Bench", "username": "hailong_bench_bot"}

    def env(self) -> dict[str, str]:
        return {"HAILONG_TELEGRAM_TOKEN": self.TOKEN, "HAILONG_TELEGRAM_SECRET": self.secret,
                "HAILONG_TELEGRAM_BOT_USERNAME": "hailong_bench_bot", "HAILONG_TELEGRAM_API_BASE": self.url}

    def new_user(self, idx: int) -> User:
        return User(idx, str(5_000_000_000 + idx))

    def webhook(self, user: User, text: str, tap: str | None) -> tuple[bytes, dict[str, str]]:
        uid = int(user.key)
        who = {"id": uid, "is_bot": False, "first_name": "Lan", "language_code": "vi"}
        chat = {"id": uid, "type": "private", "first_name": "Lan"}
        update_id = next(self._updates)
        if tap is None:
            update: dict[str, Any] = {"update_id": update_id, "message": {
                "message_id": update_id, "from": who, "chat": chat, "date": int(time.time()), "text": text}}
        else:
            update = {"update_id": update_id, "callback_query": {
                "id": f"{update_id}{secrets.token_hex(4)}", "from": who, "chat_instance": "-5000000000000000001",
                "data": tap, "message": {"message_id": 7, "from": self._bot, "chat": chat,
                                         "date": int(time.time()), "text": "Câu hỏi"}}}
        return orjson.dumps(update), {"X-Telegram-Bot-Api-Secret-Token": self.secret,
                                      "Content-Type": "application/json"}

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        raw = await request.read()
        path = request.path
        if not path.startswith(self._prefix):
            self.rejected["token"] += 1
            return _json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        method = path[len(self._prefix):].lower()
        try:
            if request.content_type == "application/json":
                params = orjson.loads(raw) if raw else {}
            else:
                params = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        except ValueError:
            self.rejected["bad_request"] += 1
            return _json({"ok": False, "error_code": 400, "description": "Bad Request: can't parse"}, 400)
        if method == "sendmessage":
            try:
                key, text = str(params["chat_id"]).strip(), params["text"]
                markup = params.get("reply_markup")
                if isinstance(markup, str):
                    markup = orjson.loads(markup)
                buttons = [(b["text"], b["callback_data"]) for row in (markup or {}).get("inline_keyboard", ())
                           for b in row]
                if not text or len(text) > 4096 or any(len(d.encode()) > 64 for _, d in buttons):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                self.rejected["bad_request"] += 1
                return _json({"ok": False, "error_code": 400, "description": "Bad Request: invalid"}, 400)
            self._accept(key, Msg(text, buttons, time.perf_counter()))
            return _json({"ok": True, "result": {
                "message_id": next(self._ids), "from": self._bot, "date": int(time.time()), "text": text,
                "chat": {"id": int(key), "type": "private", "first_name": "Lan"}}})
        if method == "answercallbackquery":
            self.callbacks_answered += 1
            return _json({"ok": True, "result": True})
        if method == "getme":
            return _json({"ok": True, "result": self._bot})
        self.other_calls[method] += 1
        return _json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)


FAKES: dict[str, type[FakePlatform]] = {"zalo": FakeZalo, "messenger": FakeMessenger, "telegram": FakeTelegram}


# ---- one user's loop -----------------------------------------------------------------------------

def expects_input(msg: Msg) -> bool:
    """Buttons, or a question: every question message carries the progress line ``Câu N/M``
    (``progress`` in dialogues/vi.yaml), re-asks included. A numbered list alone is not enough: the
    review before submitting is a numbered list of answers, split into several messages on Zalo and
    Messenger, and only its last piece (with the "Gửi" button) asks for input."""
    return bool(msg.buttons) or bool(PROGRESS.search(msg.text))


def next_answer(msg: Msg, flow: FlowText) -> tuple[str, str | None, str]:
    """(text, tap payload or None, kind) a cooperative user sends after reading ``msg``."""
    if msg.buttons:
        title, data = msg.buttons[0]
        return title, data, "button"
    if NUMBERED.search(msg.text):
        return "1", None, "number"
    q = flow.question(msg.text)
    if q is not None:
        q_type, q_min = q
        if q_type == "number":
            return str(int(q_min) if q_min is not None else 1), None, "typed"
        if q_type in TYPED:
            return TYPED[q_type], None, "typed"
    return "1", None, "guess"


async def user_loop(user: User, fake: FakePlatform, post: Callable[[bytes, dict[str, str]], Any], stats: Stats,
                    flow: FlowText, stop: asyncio.Event, args: argparse.Namespace) -> None:
    if args.ramp > 0:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), args.ramp * user.idx / max(1, args.users))
    text, tap, kind = "sipas", None, "start"
    turns = 0
    last_question: str | None = None
    while not stop.is_set():
        if user.inbox:  # arrived after the last complete reply, before this message
            if stats.measuring:
                stats.stray += len(user.inbox)
            if args.trace:
                for m in user.inbox:
                    _log(f"  [{user.key}] STRAY {m.text[:100]!r}")
            user.inbox.clear()
        user.event.clear()
        stats.turns[kind] += 1
        if args.trace:
            _log(f"[{user.key}] -> {text!r}" + (f" (tap {tap!r})" if tap is not None else ""))
        body, headers = fake.webhook(user, text, tap)
        t0 = time.perf_counter()
        status = await post(body, headers)
        t_ack = time.perf_counter()
        stats.posts_total += 1
        if stats.measuring:
            stats.webhook_status[status] += 1
            stats.ack_latencies.append(t_ack - t0)
        if status != 200:
            stats.webhook_errors_total[status] += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            continue  # the platform redelivers: send the same message again
        # wait for the complete reply
        deadline = t0 + args.reply_timeout
        done: Msg | None = None
        got = 0
        while done is None:
            if not user.inbox:
                user.event.clear()
                left = deadline - time.perf_counter()
                if left <= 0:
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(user.event.wait(), left)
                continue
            while user.inbox and done is None:
                m = user.inbox.pop(0)
                got += 1
                if args.trace:
                    bt = f" buttons={[t for t, _ in m.buttons]}" if m.buttons else ""
                    _log(f"  [{user.key}] <- +{(m.at - t0) * 1000:.0f} ms {m.text[:120]!r}{bt}")
                if flow.is_closing(m.text) or expects_input(m):
                    done = m
        if done is None:
            stats.lost_total += 1
            if stats.measuring:
                stats.lost += 1
            if args.trace:
                _log(f"  [{user.key}] no complete reply within {args.reply_timeout:g} s ({got} messages)")
            text, tap, kind, turns, last_question = "sipas", None, "start", 0, None
            continue
        in_window = stats.measuring and not stop.is_set()
        stats.answered_total += 1
        if in_window:
            stats.answered += 1
            stats.latencies.append(done.at - t0)
        turns += 1
        if flow.is_closing(done.text) or turns > MAX_TURNS_PER_SURVEY:
            stats.surveys_completed_total += 1
            if in_window:
                stats.surveys_completed += 1
            text, tap, kind, turns, last_question = "sipas", None, "start", 0, None
            continue
        q = flow.question(done.text)
        key = q and _norm(done.text)
        if kind != "start" and key is not None and key == last_question and in_window:
            stats.reasks += 1
        last_question = key
        text, tap, kind = next_answer(done, flow)
        if args.think > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), args.think)


# ---- one run -------------------------------------------------------------------------------------

def _db_counts(url: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        inbox = dict(conn.execute("SELECT status, count(*) FROM inbox GROUP BY status").fetchall())
        outbox = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        parts = conn.execute("SELECT coalesce(sum(parts_sent), 0) FROM outbox WHERE status = 'sent'").fetchone()[0]
        retried = conn.execute("SELECT count(*) FROM outbox WHERE attempts > 1").fetchone()[0]
        errors = [r[0] for r in conn.execute(
            "SELECT DISTINCT left(last_error, 200) FROM inbox WHERE last_error IS NOT NULL LIMIT 5").fetchall()]
        out_errors = [r[0] for r in conn.execute(
            "SELECT DISTINCT left(last_error, 200) FROM outbox WHERE last_error IS NOT NULL LIMIT 5").fetchall()]
    return {"inbox": inbox, "outbox": outbox, "parts_sent": int(parts), "outbox_retried": retried,
            "inbox_errors": errors, "outbox_errors": out_errors}


def _pg_stats(admin_url: str, database: str) -> tuple[int, int] | None:
    """(transactions, sessions opened) so far on the bench database, from pg_stat_database."""
    import psycopg

    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SELECT xact_commit + xact_rollback, sessions FROM pg_stat_database WHERE datname = %s",
                               (database,)).fetchone()
    except Exception:  # noqa: BLE001 - a statistic, not worth failing the run for
        return None
    return (int(row[0]), int(row[1])) if row else None


async def _drain(db_url: str, timeout: float) -> dict[str, Any]:
    """Wait until the servers have handled every event and sent every message (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await asyncio.to_thread(_db_counts, db_url)
        busy = counts["inbox"].get("pending", 0) + counts["outbox"].get("pending", 0)
        if busy == 0 or time.monotonic() >= deadline:
            counts["drained"] = busy == 0
            return counts
        await asyncio.sleep(0.5)


@contextlib.contextmanager
def _server_command(data_dir: Path, unpaced: bool):  # type: ignore[no-untyped-def]
    """``--unpaced``: start the servers through a wrapper that lifts the channel-wide send pacing
    (Zalo 20/s, Telegram 25/s, Messenger 250/s per process), to see the server's own ceiling."""
    if not unpaced:
        yield
        return
    wrapper = data_dir / "hailong-unpaced"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from channels.base import Pace\n"
        "from channels.zalo.channel import ZaloChannel\n"
        "from channels.messenger.channel import MessengerChannel\n"
        "from channels.telegram.channel import TelegramChannel\n"
        "for c in (ZaloChannel, MessengerChannel, TelegramChannel):\n"
        "    c.pace = Pace(per_second=1e6, burst=1_000_000, per_user=c.pace.per_user,"
        " per_user_burst=c.pace.per_user_burst)\n"
        "from bot.cli import main\n"
        "sys.argv[0] = 'hailong'\n"
        "sys.exit(main())\n")
    wrapper.chmod(0o755)
    original = chat_load._hailong_exe
    chat_load._hailong_exe = lambda: str(wrapper)
    try:
        yield
    finally:
        chat_load._hailong_exe = original


async def run_one(platform: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"hailong-bench-{platform}-"))
    backend = None
    servers: list[Server] = []
    stats = Stats()
    fake = FAKES[platform](stats)
    flow = FlowText.load()
    try:
        await fake.start()
        backend = await asyncio.to_thread(_make_backend, "postgres", data_dir, args.pg_admin_url, args.redis_url)
        env = backend.env(data_dir, secrets.token_urlsafe(32))
        env.update(fake.env())
        env["HAILONG_SEND_USER_PACING"] = "1" if args.user_pacing else "0"
        env["HAILONG_SEND_BACKOFF_SECONDS"] = str(args.send_backoff)
        _log(f"{platform}: migrating and loading flows")
        await asyncio.to_thread(_run_cli, ["db", "upgrade"], env)
        await asyncio.to_thread(_run_cli, ["flows", "load"], env)
        base = _free_port_block(workers)
        with _server_command(data_dir, args.unpaced):
            servers = list(await asyncio.gather(*(_start_server(base + i, env, data_dir) for i in range(workers))))
        _log(f"{platform}: {workers} server(s) on ports {base}-{base + workers - 1}, fake {fake.name} API at "
             f"{fake.url}; {args.users} users for {args.duration:g} s after {args.warmup:g} s of warm-up")
        result = await _drive(platform, servers, fake, stats, flow, args, backend.pg_database)
        result["code"] = await asyncio.to_thread(_code_version)
        result["db"] = await _drain(backend.database_url.replace("+asyncpg", ""), args.drain_timeout)
        _check(result, fake)
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
                _log(f"server {s.port} stderr ({len(tail)} lines, last 5):\n  " + "\n  ".join(tail[-5:]))
        await fake.close()
        if backend is not None:
            await asyncio.to_thread(_drop_backend, backend)
        shutil.rmtree(data_dir, ignore_errors=True)


def _code_version() -> str:
    """The commit the servers ran, with "+dirty" when tracked files had uncommitted changes."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def _check(result: dict[str, Any], fake: FakePlatform) -> None:
    """What the fake received against what the database says was sent."""
    db = result["db"]
    result["fake_sends_total"] = fake.sends
    result["sends_minus_db_parts"] = fake.sends - db["parts_sent"]  # > 0: a message reached the user twice
    result["fake_rejected"] = dict(fake.rejected)
    result["fake_unknown_user"] = fake.unknown_user
    if fake.other_calls:
        result["fake_other_calls"] = dict(fake.other_calls)
    if isinstance(fake, FakeTelegram):
        result["callbacks_answered"] = fake.callbacks_answered
    if isinstance(fake, FakeZalo):
        result["token_refreshes"] = fake.refreshes


async def _drive(platform: str, servers: list[Server], fake: FakePlatform, stats: Stats, flow: FlowText,
                 args: argparse.Namespace, pg_database: str) -> dict[str, Any]:
    stop = asyncio.Event()
    urls = [f"{s.base_url}/webhooks/{platform}" for s in servers]
    rr = itertools.count()
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=None, use_dns_cache=True)
    timeout = aiohttp.ClientTimeout(total=30)
    pids = [s.proc.pid for s in servers]
    users = [fake.new_user(i) for i in range(args.users)]
    fake.users = {u.key: u for u in users}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, raise_for_status=False) as http:

        async def post(body: bytes, headers: dict[str, str]) -> int | str:
            url = urls[next(rr) % len(urls)]  # a load balancer in front of one webhook URL
            try:
                async with http.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    return resp.status
            except asyncio.TimeoutError:
                return "timeout"
            except aiohttp.ClientError as e:
                return type(e).__name__

        tasks = [asyncio.create_task(user_loop(u, fake, post, stats, flow, stop, args)) for u in users]
        t_start = time.monotonic()
        hard_deadline = t_start + args.warmup + args.duration + args.reply_timeout + 10
        cpu0 = cpu1 = None
        pg0 = pg1 = None
        window = 0.0
        profilers: list[Any] = []
        try:
            await asyncio.sleep(args.warmup)
            stats.measuring = True
            cpu0 = _cpu_sample(pids)
            pg0 = await asyncio.to_thread(_pg_stats, args.pg_admin_url, pg_database)
            t_measure = time.perf_counter()
            if args.profile:
                profilers = chat_load._start_profilers(pids, args, platform, len(servers))
            await asyncio.sleep(args.duration)
            window = time.perf_counter() - t_measure
            cpu1 = _cpu_sample(pids)
            stats.measuring = False
            pg1 = await asyncio.to_thread(_pg_stats, args.pg_admin_url, pg_database)
        finally:
            stop.set()
            for u in users:
                u.event.set()
            remaining = max(1.0, hard_deadline - time.monotonic())
            done, pending = await asyncio.wait(tasks, timeout=min(remaining, args.reply_timeout + 5))
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
            for t in done:
                if not t.cancelled() and t.exception() is not None:
                    _log(f"a user task failed: {t.exception()!r}")
            for p in profilers:
                try:
                    await asyncio.to_thread(p.wait, args.duration + 30)
                except Exception:  # noqa: BLE001 - py-spy hung: stop it
                    p.kill()
                    p.wait()
    lat = sorted(stats.latencies)
    ack = sorted(stats.ack_latencies)

    def ms(v: float | None) -> float | None:
        return None if v is None else round(v * 1000, 1)

    cpu = _cpu_split(cpu0, cpu1, pg_database) if cpu0 and cpu1 else {}
    rate = stats.answered / window if window else 0.0
    errors = {str(k): v for k, v in stats.webhook_status.items() if k != 200}
    return {
        "platform": platform,
        "workers": len(servers),
        "users": args.users,
        "unpaced": args.unpaced,
        "user_pacing": args.user_pacing,
        "window_s": round(window, 2),
        "answered": stats.answered,
        "msgs_per_s": round(rate, 1),
        "p50_ms": ms(_percentile(lat, 50)),
        "p95_ms": ms(_percentile(lat, 95)),
        "p99_ms": ms(_percentile(lat, 99)),
        "max_ms": ms(lat[-1] if lat else None),
        "webhook_ack_p50_ms": ms(_percentile(ack, 50)),
        "webhook_ack_p99_ms": ms(_percentile(ack, 99)),
        "webhook_errors": sum(errors.values()),
        "webhook_errors_by_status": errors,
        "webhook_errors_incl_warmup": dict(Counter({str(k): v for k, v in stats.webhook_errors_total.items()})),
        "lost_replies": stats.lost,
        "lost_replies_incl_warmup": stats.lost_total,
        "stray_messages": stats.stray,
        "reasks": stats.reasks,
        "sends_per_s": round(stats.sends_window / window, 1) if window else None,
        "sends_per_answer": round(stats.sends_window / stats.answered, 2) if stats.answered else None,
        "surveys_completed": stats.surveys_completed,
        "turns": dict(stats.turns),
        "cpu_cores": cpu,
        # PostgreSQL transactions per answered message, and new connections per second (pool churn)
        "pg_xacts_per_msg": round((pg1[0] - pg0[0]) / stats.answered, 1) if pg0 and pg1 and stats.answered else None,
        "pg_sessions_per_s": round((pg1[1] - pg0[1]) / window, 1) if pg0 and pg1 and window else None,
        "server_cpu_ms_per_msg": round(cpu["servers"] * 1000 / rate, 2) if cpu and rate else None,
        "bench_cpu_ms_per_msg": round(cpu["bench"] * 1000 / rate, 2) if cpu and rate else None,
    }


def _table(results: list[dict[str, Any]]) -> str:
    head = ("platform", "workers", "users", "msgs/s", "p50 ms", "p95 ms", "p99 ms", "ack p99", "errors", "lost",
            "stray", "dup", "sends/msg", "server ms/msg", "CPU server/bench/pg/redis/other")
    rows = [head]
    for r in results:
        c = r["cpu_cores"]
        rows.append((r["platform"] + (" (unpaced)" if r["unpaced"] else ""), str(r["workers"]), str(r["users"]),
                     f"{r['msgs_per_s']:.0f}", str(r["p50_ms"]), str(r["p95_ms"]), str(r["p99_ms"]),
                     str(r["webhook_ack_p99_ms"]), str(r["webhook_errors"]), str(r["lost_replies"]),
                     str(r["stray_messages"]), str(max(0, r.get("sends_minus_db_parts", 0))),
                     str(r["sends_per_answer"]), str(r["server_cpu_ms_per_msg"]),
                     f"{c['servers']:.2f}/{c['bench']:.2f}/{c['postgres']:.2f}/{c['redis']:.2f}/{c['other']:.2f}"
                     if c else "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Load-test the platform webhooks with simulated users (local only).")
    p.add_argument("--platforms", default=",".join(PLATFORMS), help="comma list of zalo, messenger, telegram")
    p.add_argument("--users", type=int, default=200, help="concurrent simulated users (default 200)")
    p.add_argument("--workers", default="1", help="server processes, or a comma list (e.g. 1,2)")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds (default 20)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds run before measuring (default 3)")
    p.add_argument("--ramp", type=float, default=2.0, help="users start spread over this many seconds")
    p.add_argument("--think", type=float, default=0.0, help="seconds a user waits before answering")
    p.add_argument("--reply-timeout", type=float, default=60.0,
                   help="a reply not complete after this many seconds counts as lost (default 60)")
    p.add_argument("--drain-timeout", type=float, default=60.0,
                   help="after the run, wait at most this long for the servers to finish their queues")
    p.add_argument("--user-pacing", action="store_true",
                   help="keep per-user send pacing on (Telegram: 1 message/s per chat); off by default")
    p.add_argument("--unpaced", action="store_true",
                   help="lift the channel-wide send pacing in the servers (not the shipped configuration)")
    p.add_argument("--send-backoff", type=float, default=0.5, help="HAILONG_SEND_BACKOFF_SECONDS (default 0.5)")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--profile", metavar="DIR", help="record the servers with py-spy (raw collapsed stacks) into DIR")
    p.add_argument("--profile-rate", type=int, default=100)
    p.add_argument("--profile-gil", action="store_true", help="sample only the thread holding the GIL (CPU hot spots)")
    p.add_argument("--trace", action="store_true", help="log every message sent and received (use with few users)")
    p.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    _require_loopback(args.pg_admin_url, "--pg-admin-url")
    _require_loopback(args.redis_url, "--redis-url")
    args.platform_list = [x.strip() for x in args.platforms.split(",") if x.strip()]
    if not args.platform_list or any(x not in PLATFORMS for x in args.platform_list):
        p.error(f"--platforms must be a comma list of {', '.join(PLATFORMS)}")
    args.workers_list = [int(w) for w in str(args.workers).split(",") if w.strip()]
    if not args.workers_list or any(w < 1 or w > 16 for w in args.workers_list):
        p.error("--workers must be between 1 and 16")
    if not 1 <= args.users <= 20000:
        p.error("--users must be between 1 and 20000")
    if not 1 <= args.repeat <= 20:
        p.error("--repeat must be between 1 and 20")
    if not 0 < args.duration <= 3600 or not 0 <= args.warmup <= 600 or not 0 < args.reply_timeout <= 600 \
            or not 0 <= args.drain_timeout <= 600 or not 0 <= args.think <= 60:
        p.error("durations must be positive and bounded (an hour for --duration, 10 minutes for the others)")
    return args


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    # SIGTERM cancels the run, so the finally blocks still stop the servers and drop the database
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)  # type: ignore[union-attr]
    results = []
    for platform in args.platform_list:
        for workers in args.workers_list:
            for _ in range(args.repeat):
                result = await run_one(platform, workers, args)
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
