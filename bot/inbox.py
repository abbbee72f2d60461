"""Platform events: recorded durably before the platform gets its 200, handled after, in order per user.

Platforms want a fast answer (Zalo: about 2 s, then retries for hours) and redeliver on any doubt,
so a webhook only verifies, records here and returns. Handling happens right after, one user's
events strictly in arrival order (inbox id order), different users in parallel. Events left
pending by a crash are picked up by ``recover``; handling is idempotent (the conversation
service de-duplicates by message id), so an event handled twice is answered once.

Order across processes: with several server processes, a user's event 1 may reach process A and
event 2 process B a moment later, and B may get to it first. So each row carries a hash of its
sender, and an event is handled under that sender's lock (shared through the state store: Redis
when there are several processes) *together with every earlier pending event of the same
sender*, in id order: B handles event 1 then event 2, and A, when its turn comes, finds event 1
done and skips it. An earlier event that fails stops the sender's later ones until it is done
or finally failed, so a transient error never reorders a conversation.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Callable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .conversation import ConversationService
from .logs import log
from .messages import Inbound
from .sealing import Sealer
from .metrics import INBOX_DELAY, MESSAGE_SECONDS, MESSAGES, WEBHOOK_EVENTS
from .store.db import upsert
from .store.tables import contacts, inbox, outbox

MAX_ATTEMPTS = 5
# events handled per hold of a sender's lock: well inside the lock's expiry, so a long backlog
# (recovery after an outage) never outlives the lock that orders it
BATCH = 20
LOCK_SECONDS = 60.0


def sender_key(channel: str, respondent_key: str) -> str:
    """Groups a sender's events without keeping their platform id (cleared once handled anyway)."""
    return hashlib.sha256(f"{channel}\x00{respondent_key}".encode()).hexdigest()[:32]


class Inbox:
    def __init__(self, *, engine: AsyncEngine, conversation: ConversationService, sealer: Sealer,
                 on_outbox: Callable[[], None] | None = None,
                 clock: Callable[[], datetime] | None = None, max_concurrency: int = 12) -> None:
        self.engine = engine
        # handling is bounded so that recording new events (the webhook's 200) always finds a
        # database connection, however many users write at once
        self._handling = asyncio.Semaphore(max_concurrency)
        self.conversation = conversation
        self._sealer = sealer
        self.on_outbox: Callable[[], None] = on_outbox or (lambda: None)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._dialect = engine.dialect.name
        self._queues: dict[tuple[str, str], deque[tuple[int, Inbound, float]]] = {}
        self._queued = 0
        # how long the last event to start waited since it was queued, and when it started
        self._delay = 0.0
        self._delay_at = 0.0
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    async def accept(self, events: list[Inbound]) -> int:
        """Record the events (ignoring ones already recorded) and queue them; returns how many were new."""
        new = await self.record(events)
        for row_id, ev in new:
            self.enqueue(row_id, ev)
        return len(new)

    async def record(self, events: list[Inbound]) -> list[tuple[int, Inbound]]:
        """The durable half of ``accept`` (what must be done before the 200): the new events with
        their inbox ids. Separate so a test can play a process that recorded but is not handling yet."""
        new: list[tuple[int, Inbound]] = []
        now = self._clock()
        async with self.engine.begin() as conn:
            for ev in events:
                if not ev.message_id:
                    raise ValueError("platform events need a message id to be recorded")
                stmt = upsert(self._dialect, inbox, {
                    "channel": ev.channel, "message_key": ev.message_id, "payload": ev.to_json(), "status": "pending",
                    "attempts": 0, "received_at": now, "sender_key": sender_key(ev.channel, ev.respondent_key)},
                    ["channel", "message_key"]).returning(inbox.c.id)
                row_id = (await conn.execute(stmt)).scalar_one_or_none()
                if row_id is not None:
                    new.append((row_id, ev))
        if new:
            WEBHOOK_EVENTS.labels(events[0].channel, "new").inc(len(new))
        if len(new) < len(events):
            WEBHOOK_EVENTS.labels(events[0].channel, "redelivery").inc(len(events) - len(new))
            log("inbox.redelivery", channel=events[0].channel, count=len(events) - len(new))
        return new

    def enqueue(self, row_id: int, ev: Inbound) -> None:
        """Handle a recorded event in this process, after the sender's events queued before it."""
        key = (ev.channel, ev.respondent_key)
        now = time.monotonic()
        if not self._queued:  # nothing has waited longer than from now
            self._delay, self._delay_at = 0.0, now
        self._queues.setdefault(key, deque()).append((row_id, ev, now))
        self._queued += 1
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.create_task(self._work(key))

    async def _work(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        try:
            while queue:
                async with self._handling:
                    row_id, ev, queued_at = queue.popleft()
                    self._queued -= 1
                    self._delay_at = time.monotonic()
                    self._delay = self._delay_at - queued_at
                    INBOX_DELAY.set(self._delay)
                    try:
                        handled = await self._handle_through(row_id, ev)
                    except Exception as e:  # the database is unreachable: recover() takes them up later
                        log("inbox.sweep_error", level=40, channel=ev.channel, error=type(e).__name__)
                        handled = False
                    if not handled:
                        # an earlier event failed: the later ones wait for recover(), in order
                        self._queued -= len(queue)
                        queue.clear()
        finally:
            self._queued -= len(queue)  # cancelled at shutdown: recover() takes them up
            del self._queues[key]
            del self._workers[key]
            if not self._workers:
                self._idle.set()

    async def _handle_through(self, row_id: int, ev: Inbound) -> bool:
        """Handle the sender's pending events up to and including ``row_id``, oldest first, under the
        sender's lock; events another process finished meanwhile are skipped. False if one failed."""
        skey = sender_key(ev.channel, ev.respondent_key)
        while True:
            async with self._sender_lock(skey):
                async with self.engine.connect() as conn:
                    rows = (await conn.execute(select(inbox.c.id, inbox.c.payload).where(and_(
                        inbox.c.status == "pending",
                        or_(and_(inbox.c.sender_key == skey, inbox.c.id <= row_id), inbox.c.id == row_id)))
                        .order_by(inbox.c.id).limit(BATCH))).all()
                for row in rows:
                    if not row.payload:
                        continue
                    if not await self._handle(row.id, ev if row.id == row_id else Inbound.from_json(row.payload)):
                        return False
            if len(rows) < BATCH or rows[-1].id >= row_id:
                return True

    @contextlib.asynccontextmanager
    async def _sender_lock(self, skey: str) -> AsyncIterator[None]:
        """The sender's lock, shared by every process. If the state store cannot give it (Redis
        restarting), handle anyway: order then holds within this process, and the conversation
        service still answers each message id once; a stalled conversation would be worse."""
        lock = self.conversation.state.lock(f"inbox:{skey}", timeout=LOCK_SECONDS)
        try:
            await lock.__aenter__()
        except Exception as e:
            log("inbox.lock_unavailable", level=30, error=type(e).__name__)
            yield
            return
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                await lock.__aexit__(None, None, None)

    async def _handle(self, row_id: int, ev: Inbound) -> bool:
        now = self._clock()
        try:
            if ev.kind != "event" or ev.text == "follow":
                await self._touch_contact(ev, now)
            started = time.perf_counter()
            await self.conversation.handle(ev)
            MESSAGE_SECONDS.labels(ev.channel).observe(time.perf_counter() - started)
            MESSAGES.labels(ev.channel, "handled").inc()
        except Exception as e:  # recorded and retried by recover(), before the sender's later events
            async with self.engine.begin() as conn:
                attempts = (await conn.execute(select(inbox.c.attempts).where(inbox.c.id == row_id))).scalar_one() + 1
                await conn.execute(update(inbox).where(inbox.c.id == row_id).values(
                    attempts=attempts, last_error=f"{type(e).__name__}: {e}"[:500],
                    status="failed" if attempts >= MAX_ATTEMPTS else "pending"))
            MESSAGES.labels(ev.channel, "error").inc()
            log("inbox.error", channel=ev.channel, message=ev.message_id, attempts=attempts, error=type(e).__name__)
            return attempts >= MAX_ATTEMPTS  # finally failed: the sender's later events go on
        async with self.engine.begin() as conn:
            await conn.execute(update(inbox).where(inbox.c.id == row_id).values(
                status="done", payload=None, sender_key=None, done_at=self._clock()))
        self.on_outbox()
        return True

    async def _touch_contact(self, ev: Inbound, now: datetime) -> None:
        """Remember where to reply and when the user last wrote (messaging windows); reopen held messages."""
        rid = await self.conversation.respondent_id(ev.channel, ev.respondent_key)
        raw: dict[str, Any] = ev.raw if isinstance(ev.raw, dict) else {}
        reply_token = raw.get("reply_token") or raw.get("msg_id")
        async with self.engine.begin() as conn:
            await conn.execute(upsert(self._dialect, contacts, {
                "respondent_id": rid, "channel": ev.channel, "address": self._sealer.seal(ev.respondent_key, rid), "last_inbound_at": now,
                "reply_token": str(reply_token) if reply_token else None, "updated_at": now},
                ["respondent_id"], ["address", "last_inbound_at", "reply_token", "updated_at"]))
            await conn.execute(update(outbox).where(and_(outbox.c.respondent_id == rid,
                                                         outbox.c.status == "window_closed"))
                               .values(status="pending", next_attempt_at=None))

    async def recover(self, older_than: timedelta = timedelta(seconds=60)) -> int:
        """Queue events still pending (a crash, or a failed attempt); returns how many."""
        cutoff = self._clock() - older_than
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(inbox.c.id, inbox.c.payload).where(and_(
                inbox.c.status == "pending", or_(inbox.c.received_at <= cutoff, inbox.c.attempts > 0)))
                .order_by(inbox.c.id).limit(1000))).all()
        queued = {row_id for q in self._queues.values() for row_id, _, _ in q}
        count = 0
        for row in rows:
            if row.id not in queued and row.payload:
                self.enqueue(row.id, Inbound.from_json(row.payload))
                count += 1
        if count:
            log("inbox.recovered", count=count)
        return count

    def delay(self) -> float:
        """Seconds events wait here before they are handled: the wait of the last one to start, or,
        when that was a while ago and events are queued, how long since anything started (a stall
        shows at once, not after the next event finally starts)."""
        if not self._queued:
            return 0.0
        return max(self._delay, time.monotonic() - self._delay_at)

    async def drain(self) -> None:
        """Until every queued event is handled (shutdown, tests)."""
        await self._idle.wait()

    async def close(self) -> None:
        await self.drain()
