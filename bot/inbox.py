"""Platform events: recorded durably before the platform gets its 200, handled after, in order per user.

Platforms want a fast answer (Zalo: about 2 s, then retries for hours) and redeliver on any doubt,
so a webhook only verifies, records here and returns. Handling happens in this process right
after, one user's events strictly in arrival order, different users in parallel. Events left
pending by a crash are picked up by ``recover``; handling is idempotent (the conversation
service de-duplicates by message id), so an event handled twice is answered once.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .conversation import ConversationService
from .logs import log
from .messages import Inbound
from .sealing import Sealer
from .metrics import MESSAGE_SECONDS, MESSAGES, WEBHOOK_EVENTS
from .store.db import upsert
from .store.tables import contacts, inbox, outbox

MAX_ATTEMPTS = 5


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
        self._queues: dict[tuple[str, str], deque[tuple[int, Inbound]]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    async def accept(self, events: list[Inbound]) -> int:
        """Record the events (ignoring ones already recorded) and queue them; returns how many were new."""
        new: list[tuple[int, Inbound]] = []
        now = self._clock()
        async with self.engine.begin() as conn:
            for ev in events:
                if not ev.message_id:
                    raise ValueError("platform events need a message id to be recorded")
                stmt = upsert(self._dialect, inbox, {
                    "channel": ev.channel, "message_key": ev.message_id, "payload": ev.to_json(), "status": "pending",
                    "attempts": 0, "received_at": now}, ["channel", "message_key"]).returning(inbox.c.id)
                row_id = (await conn.execute(stmt)).scalar_one_or_none()
                if row_id is not None:
                    new.append((row_id, ev))
        for row_id, ev in new:
            self._enqueue(row_id, ev)
        if new:
            WEBHOOK_EVENTS.labels(events[0].channel, "new").inc(len(new))
        if len(new) < len(events):
            WEBHOOK_EVENTS.labels(events[0].channel, "redelivery").inc(len(events) - len(new))
            log("inbox.redelivery", channel=events[0].channel, count=len(events) - len(new))
        return len(new)

    def _enqueue(self, row_id: int, ev: Inbound) -> None:
        key = (ev.channel, ev.respondent_key)
        self._queues.setdefault(key, deque()).append((row_id, ev))
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.create_task(self._work(key))

    async def _work(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        try:
            while queue:
                row_id, ev = queue.popleft()
                async with self._handling:
                    await self._handle(row_id, ev)
        finally:
            del self._queues[key]
            del self._workers[key]
            if not self._workers:
                self._idle.set()

    async def _handle(self, row_id: int, ev: Inbound) -> None:
        now = self._clock()
        try:
            if ev.kind != "event" or ev.text == "follow":
                await self._touch_contact(ev, now)
            started = time.perf_counter()
            await self.conversation.handle(ev)
            MESSAGE_SECONDS.labels(ev.channel).observe(time.perf_counter() - started)
            MESSAGES.labels(ev.channel, "handled").inc()
        except Exception as e:  # recorded and retried by recover(); one bad event must not stop the rest
            async with self.engine.begin() as conn:
                attempts = (await conn.execute(select(inbox.c.attempts).where(inbox.c.id == row_id))).scalar_one() + 1
                await conn.execute(update(inbox).where(inbox.c.id == row_id).values(
                    attempts=attempts, last_error=f"{type(e).__name__}: {e}"[:500],
                    status="failed" if attempts >= MAX_ATTEMPTS else "pending"))
            MESSAGES.labels(ev.channel, "error").inc()
            log("inbox.error", channel=ev.channel, message=ev.message_id, attempts=attempts, error=type(e).__name__)
            return
        async with self.engine.begin() as conn:
            await conn.execute(update(inbox).where(inbox.c.id == row_id).values(
                status="done", payload=None, done_at=self._clock()))
        self.on_outbox()

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
        queued = {row_id for q in self._queues.values() for row_id, _ in q}
        count = 0
        for row in rows:
            if row.id not in queued and row.payload:
                self._enqueue(row.id, Inbound.from_json(row.payload))
                count += 1
        if count:
            log("inbox.recovered", count=count)
        return count

    async def drain(self) -> None:
        """Until every queued event is handled (shutdown, tests)."""
        await self._idle.wait()

    async def close(self) -> None:
        await self.drain()
