"""Pieces the fault tests share: a simulated clock, an outbox pump that jumps it, a switchable
outage in front of a fake platform, simulated respondents that retry like real clients, and the
per-respondent accounting that proves nothing was lost or duplicated.

Time: the outbox sender takes a clock. The pump steps the sender (``send_due``) and, when the only
work left is waiting for a backoff, moves the clock to the next due retry instead of sleeping, so
a minute of platform outage passes in a few hundred milliseconds and every retry happens at the
moment the backoff schedule says.
"""
from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

import aiohttp
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.messages import Outbound
from bot.store.tables import answers, inbox, outbox, processed, respondents, responses
from channels.messenger import sign as messenger_sign
from channels.outbox_sender import OutboxSender
from channels.telegram.render import callback_data
from channels.zalo.render import BUTTON_PAYLOAD_PREFIX
from fakes.messenger import graph_error
from fakes.telegram import callback_update, text_update
from fakes.zalo import FakeZalo
from webchat.driver import plan

from .script import Script

WAIT = 45.0  # the longest any event wait may take before the test fails (a hang, not a slow run)


class SimClock:
    """Real time plus an offset that only the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance_to(self, when: datetime) -> None:
        self.offset += max(timedelta(0), when - self.now()) + timedelta(milliseconds=1)


class Pump:
    """Runs an ``OutboxSender`` the way ``OutboxSender.run`` does, on a simulated clock: sends what
    is due, and when only backoffs remain jumps the clock to the earliest one. Woken by the inbox
    (``inbox.on_outbox``) like the real loop; ``settled()`` waits until nothing is left to do."""

    def __init__(self, sender: OutboxSender, engine: AsyncEngine, clock: SimClock) -> None:
        self.sender, self.engine, self.clock = sender, engine, clock
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self.errors = 0
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def settled(self) -> None:
        self.wake()
        async with asyncio.timeout(WAIT):
            await self._idle.wait()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                if await self.sender.send_due():
                    continue
                nxt = await self._next_retry()
            except Exception:  # the database is down: wait to be woken when it is back
                self.errors += 1
                self._idle.set()
                await self._wake.wait()
                continue
            if nxt is not None:
                self.clock.advance_to(nxt)
                continue
            self._idle.set()
            await self._wake.wait()

    async def _next_retry(self) -> datetime | None:
        async with self.engine.connect() as conn:
            nxt = (await conn.execute(select(func.min(outbox.c.next_attempt_at)).where(
                outbox.c.status == "pending", outbox.c.next_attempt_at > self.clock.now()))).scalar()
        if nxt is not None and nxt.tzinfo is None:
            nxt = nxt.replace(tzinfo=timezone.utc)
        return nxt


# ---- a platform outage, switched on the simulated clock -------------------------------------------

def _failure(platform: str, mode: str) -> web.Response:
    """What the platform answers when overloaded or broken, in its own error shape."""
    if platform == "zalo":  # Zalo reports rate limiting in a 200 body, error -32
        if mode == "429":
            return web.json_response({"error": -32, "message": "Request exceeds the limit"})
        return web.Response(status=500, text="Internal Server Error")
    if platform == "messenger":
        if mode == "429":
            return web.json_response(graph_error(4, "(#4) Application request limit reached", is_transient=True),
                                     status=429)
        return web.Response(status=500, text="Internal Server Error")
    if mode == "429":
        return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 5",
                                  "parameters": {"retry_after": 5}}, status=429)
    return web.json_response({"ok": False, "error_code": 500, "description": "Internal Server Error"}, status=500)


class Outage:
    """An HTTP hop in front of a fake platform: passes requests through, except while
    ``failing()`` is true, when it answers ``mode`` ("429", "500") in the platform's own shape or
    ("timeout") never answers, so the client's own timeout fires. Nothing is forwarded during the
    outage, so a failed send never reached the platform (no duplicate can come from it)."""

    def __init__(self, platform: str, upstream: str, mode: str, failing: Callable[[], bool]) -> None:
        self.platform, self.upstream, self.mode, self.failing = platform, upstream.rstrip("/"), mode, failing
        self.refused = 0
        self.url = ""
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Outage":
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.failing() and not request.path.endswith("/getMe"):
            self.refused += 1
            if self.mode == "timeout":
                await self._release.wait()  # the client gives up first; released at teardown
            return _failure(self.platform, self.mode)
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._http.request(request.method, self.upstream + request.path_qs, data=body,
                                      headers=headers) as r:
            return web.Response(status=r.status, body=await r.read(), content_type=r.content_type)


# ---- simulated respondents --------------------------------------------------------------------------

class Progress:
    """Counts acknowledged client messages so a fault can be injected mid-traffic, on an event."""

    def __init__(self) -> None:
        self.count = 0
        self._cond = asyncio.Condition()

    async def add(self) -> None:
        async with self._cond:
            self.count += 1
            self._cond.notify_all()

    async def until(self, n: int) -> None:
        async with asyncio.timeout(WAIT):
            async with self._cond:
                await self._cond.wait_for(lambda: self.count >= n)


class Gate:
    """Open while the server can be reached; clients that failed wait here (an event, not a sleep)."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()
        self.failed = Progress()  # client sends that failed and were resent


RETRIES = 60  # resends of one message before the test gives up (a server stuck failing)


async def retrying(gate: Gate, attempt: Callable[[], Awaitable[Any]]) -> Any:
    """Call ``attempt`` until it succeeds; after a failure wait for the gate (the server coming back)
    and try again with the very same message, as a browser or a platform does."""
    for _ in range(RETRIES):
        await gate.open.wait()
        try:
            return await attempt()
        except (aiohttp.ClientError, asyncio.TimeoutError, Unavailable):
            await gate.failed.add()
    raise AssertionError("the server never accepted the message again")


class Unavailable(Exception):
    """A 5xx: the server is up but could not take the message now."""


@dataclass
class WebUser:
    """A web chat respondent answering from the bot's last message; resends keep their cid."""

    http: aiohttp.ClientSession
    base: str
    gate: Gate
    progress: Progress
    name: str
    token: str = ""
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # by seq: resends must not repeat
    answered: dict[str, Any] = field(default_factory=dict)
    sent: int = 0
    flow_state: dict[str, Any] = field(default_factory=dict)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self.base + path, json=body, timeout=aiohttp.ClientTimeout(total=WAIT)) as r:
            if r.status >= 500:
                raise Unavailable(r.status)
            data = await r.json()
            assert r.status == 200, (r.status, data)
            return data

    def _take(self, reply: dict[str, Any]) -> None:
        for m in reply["messages"]:
            assert self.messages.get(m["seq"], m) == m, "the same seq came back different"
            self.messages[m["seq"]] = m
        self.flow_state = reply["flow_state"]

    async def run(self, answers: int) -> None:
        reply = await retrying(self.gate, lambda: self._post("/api/v1/chat/sessions", {"flow": "sipas"}))
        self.token = reply["session"]
        self._take(reply)
        await self.send({"choice": "yes"})
        for turn in range(answers):
            last = self.messages[max(self.messages)]
            question = self.flow_state["question"]
            body, key, value = plan(last, question, turn, self.answered, yes_no="no")
            await self.send(body)
            self.answered[key] = value

    async def send(self, body: dict[str, Any]) -> None:
        self.sent += 1
        cid = f"{self.name}-{self.sent}"
        path = f"/api/v1/chat/sessions/{self.token}/messages"
        self._take(await retrying(self.gate, lambda: self._post(path, {"cid": cid, **body})))
        await self.progress.add()


_update_ids = itertools.count(500_000)


@dataclass
class PlatformUser:
    """A user on a chat platform sending a planned script through signed webhooks; a webhook that
    did not get its 200 is redelivered byte for byte (same message id), as the platforms do."""

    platform: str
    user: str
    script: Script
    http: aiohttp.ClientSession
    base: str
    gate: Gate
    progress: Progress
    zalo: FakeZalo | None = None
    app_secret: str = ""
    tg_secret: str = ""

    def webhook(self, text: str | None, choice: str | None) -> tuple[bytes, dict[str, str]]:
        if self.platform == "zalo":
            assert self.zalo is not None
            return self.zalo.user_event(self.user, text if choice is None else BUTTON_PAYLOAD_PREFIX + choice)
        if self.platform == "messenger":
            n = next(_update_ids)
            message: dict[str, Any] = {"mid": f"m_{self.user}_{n}", "text": text if choice is None else choice}
            if choice is not None:
                message["quick_reply"] = {"payload": choice}
            raw = json.dumps({"object": "page", "entry": [{"id": "1067280970047460", "time": 1_700_000_000_000,
                              "messaging": [{"sender": {"id": self.user}, "recipient": {"id": "1067280970047460"},
                                             "timestamp": 1_700_000_000_000 + n, "message": message}]}]}).encode()
            return raw, {"X-Hub-Signature-256": messenger_sign(raw, self.app_secret),
                         "Content-Type": "application/json"}
        chat = int(self.user)
        update = (text_update(chat, text or "", update_id=next(_update_ids)) if choice is None
                  else callback_update(chat, callback_data(choice), update_id=next(_update_ids)))
        return json.dumps(update).encode(), {"X-Telegram-Bot-Api-Secret-Token": self.tg_secret,
                                             "Content-Type": "application/json"}

    async def deliver(self, body: bytes, headers: dict[str, str]) -> None:
        async def attempt() -> None:
            async with self.http.post(f"{self.base}/webhooks/{self.platform}", data=body, headers=headers,
                                      timeout=aiohttp.ClientTimeout(total=WAIT)) as r:
                if r.status >= 500:
                    raise Unavailable(r.status)
                assert r.status == 200, (r.status, await r.text())
        await retrying(self.gate, attempt)
        await self.progress.add()

    async def run(self, replies: Callable[[int], Awaitable[None]] | None = None) -> None:
        """Send every turn; with ``replies``, wait after each for the bot's answer to arrive (given
        the number of bot messages expected so far), like a person reading before typing."""
        expected = 0
        for turn in self.script.turns:
            await self.deliver(*self.webhook(turn.text, turn.choice))
            expected += turn.replies
            if replies is not None:
                await replies(expected)


# ---- accounting ---------------------------------------------------------------------------------------

@dataclass
class Stored:
    """What the database holds for one respondent."""

    responses: int
    answers: dict[str, Any]
    answer_rows: int
    outbox: list[Any]  # (seq, status, payload, attempts, last_error) in seq order
    processed: int


async def stored(engine: AsyncEngine, channel: str, rid: str) -> Stored:
    async with engine.connect() as conn:
        resp = (await conn.execute(select(responses.c.id).where(responses.c.respondent_id == rid))).scalars().all()
        rows = (await conn.execute(select(answers.c.key, answers.c.value).where(
            answers.c.response_id.in_(resp)))).all() if resp else []
        out = (await conn.execute(select(outbox.c.seq, outbox.c.status, outbox.c.payload, outbox.c.attempts,
                                         outbox.c.last_error).where(outbox.c.respondent_id == rid)
                                  .order_by(outbox.c.seq))).all()
        done = (await conn.execute(select(func.count()).select_from(processed).where(
            processed.c.respondent_id == rid))).scalar_one()
    return Stored(len(resp), {r.key: r.value for r in rows}, len(rows), list(out), done)


async def inbox_statuses(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status))).all()
    return {r[0]: r[1] for r in rows}


async def respondent_count(engine: AsyncEngine, channel: str) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(respondents).where(
            respondents.c.channel == channel))).scalar_one()


def zalo_reader(zalo: FakeZalo, user: str) -> Callable[[int], Awaitable[None]]:
    """For ``PlatformUser.run``: wait until ``user`` has received ``expected`` messages, woken by
    every arrival at the fake Zalo."""
    async def replies(expected: int) -> None:
        async with asyncio.timeout(WAIT):
            # distinct messages: a repeat of one sent twice after a crash must not count as the next
            while len(_dedupe(zalo_received(zalo, user))) < expected:
                await zalo.arrivals.until(zalo.arrivals.count + 1, timeout=WAIT)
    return replies


def zalo_received(zalo: FakeZalo, user: str) -> list[str]:
    return [b["message"]["text"] for b in zalo.delivered
            if zalo.user_messages.get(b["recipient"].get("message_id")) == user]


def _dedupe(texts: list[str]) -> list[str]:
    return [t for i, t in enumerate(texts) if i == 0 or texts[i - 1] != t]


async def check_nothing_lost_or_repeated(services: Any, web: list[WebUser], users: list[PlatformUser],
                                         zalo: FakeZalo, *, recorded: bool = True) -> None:
    """The accounting every fault test ends with, per respondent (see the test modules).

    ``recorded=False`` when the server was killed at the end: a last send that Zalo received may
    not have had its result written yet (status still ``pending``); it was delivered all the same."""
    from channels.webchat.tokens import SessionTokens
    from channels.zalo import render as zalo_render

    engine = services.engine
    assert await inbox_statuses(engine) == {"done": sum(len(u.script.turns) for u in users)}
    tokens = SessionTokens(services.settings.secret_key, services.settings.session_ttl_seconds)
    for w in web:
        sid = tokens.verify(w.token)
        assert isinstance(sid, str)
        db = await stored(engine, "web", await services.conversation.respondent_id("web", sid))
        assert db.responses == 1 and db.answers == w.answered and db.answer_rows == len(w.answered)
        assert db.processed == w.sent  # each cid once, however often it was sent
        assert [r.seq for r in db.outbox] == list(range(1, len(db.outbox) + 1))
        assert sorted(w.messages) == [r.seq for r in db.outbox]  # the client saw every message, once
    for u in users:
        db = await stored(engine, "zalo", await services.conversation.respondent_id("zalo", u.user))
        assert db.responses == 1 and db.answers == u.script.answers
        assert db.answer_rows == len(u.script.answers) and db.processed == len(u.script.turns)
        assert [r.seq for r in db.outbox] == list(range(1, len(db.outbox) + 1))
        assert {r.status for r in db.outbox} <= ({"sent"} if recorded else {"sent", "pending"})
        got, want = zalo_received(zalo, u.user), outbound_texts(zalo_render, db.outbox)
        assert _dedupe(got) == _dedupe(want)  # every reply, in order
        # at-least-once: only a send that reached Zalo while its result could not be recorded repeats
        assert len(got) - len(want) <= 1, (got, want)


def outbound_texts(render: Callable[[Outbound], list[dict[str, Any]]], rows: list[Any]) -> list[str]:
    """The texts the platform must have received for these outbox rows, in order."""
    out: list[str] = []
    for r in rows:
        payload = r.payload if isinstance(r.payload, dict) else json.loads(r.payload)
        out += [p["text"] for p in render(Outbound.from_json(payload))]
    return out
