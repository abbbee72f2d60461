"""Delivers platform messages from the outbox: in order per user, paced, retried, every result recorded.

The conversation service writes what to say in the same transaction as what it learned; this
sender turns those rows into platform calls (claiming and recording through ``OutboxRepo``).
A message split into pieces records each piece sent, so a retry never repeats one.
"""
from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from bot.logs import log
from bot.messages import Outbound
from bot.metrics import SENDS
from bot.store.outbox_repo import DueMessage, OutboxRepo

from .base import Pace, PlatformChannel
from .delivery import SendResult

LEASE = timedelta(seconds=60)
MAX_BACKOFF = 600.0


class _Bucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = float(burst), time.monotonic()

    def delay(self) -> float:
        """Take a token; how long to wait before using it."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class OutboxSender:
    def __init__(self, *, repo: OutboxRepo, channels: dict[str, PlatformChannel], max_attempts: int = 8,
                 backoff: float = 2.0, concurrency: int = 32, user_pacing: bool = True,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.repo = repo
        self.channels = channels
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.user_pacing = user_pacing
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._wake = asyncio.Event()
        self._sem = asyncio.Semaphore(concurrency)
        self._buckets = {name: _Bucket(ch.pace.per_second, ch.pace.burst) for name, ch in channels.items()}
        self._user_buckets: dict[tuple[str, str], _Bucket] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run(self, poll: float = 1.0) -> None:
        """Send until cancelled: at once when woken, otherwise every ``poll`` seconds (retries, other processes)."""
        while True:
            try:
                sent = await self.send_due()
            except Exception as e:  # the database may be restarting: keep the loop alive
                log("outbox.loop_error", level=40, error=type(e).__name__)
                sent = 0
            if sent == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), poll)
                except asyncio.TimeoutError:
                    pass

    async def send_due(self, limit: int = 200) -> int:
        """Claim and send what is due now, round after round, until nothing is; returns messages handled."""
        if not self.channels:
            return 0
        total = 0
        while True:
            rows = await self._claim(limit)
            if not rows:
                return total
            await asyncio.gather(*(self._deliver(row) for row in rows))
            total += len(rows)

    async def _claim(self, limit: int) -> list[DueMessage]:
        return await self.repo.claim(list(self.channels), now=self.clock(), lease=LEASE, limit=limit)

    async def _deliver(self, row: DueMessage) -> None:
        async with self._sem:
            channel = self.channels[row.channel]
            outbound = Outbound.from_json(row.payload)
            contact = await self.repo.contact(row.respondent_id)
            if contact is None:
                await self._finish(row, SendResult.failed("no contact address for this respondent"), row.parts_sent)
                return
            window = channel.capabilities.window_hours
            if window and (contact.last_inbound_at is None
                           or _aware(contact.last_inbound_at) + timedelta(hours=window) < self.clock()):
                await self._finish(row, SendResult.window_closed(f"outside the {window:g} h messaging window"),
                                   row.parts_sent)
                return
            parts = channel.render(outbound)
            done = row.parts_sent
            result = SendResult.sent()
            for i in range(done, len(parts)):
                await self._pace(channel.name, channel.pace, contact.address)
                try:
                    result = await channel.send(contact, parts[i], part=i)
                except Exception as e:  # a bug in an adapter must not lose the message
                    result = SendResult.retry(f"{type(e).__name__}: {e}")
                if result.status != "sent":
                    break
                done = i + 1
                if done < len(parts):
                    await self.repo.progress(row.id, done)
            await self._finish(row, result, done)

    async def _pace(self, name: str, pace: Pace, address: str) -> None:
        delay = self._buckets[name].delay()
        if pace.per_user and self.user_pacing:
            bucket = self._user_buckets.get((name, address))
            if bucket is None:
                if len(self._user_buckets) > 50_000:
                    self._user_buckets.clear()
                bucket = self._user_buckets[(name, address)] = _Bucket(pace.per_user, pace.per_user_burst)
            delay = max(delay, bucket.delay())
        if delay > 0:
            await asyncio.sleep(delay)  # pacing under the platform's rate limit, not waiting for an event

    async def _finish(self, row: DueMessage, result: SendResult, parts_sent: int) -> None:
        now = self.clock()
        attempts = row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "parts_sent": parts_sent}
        if result.status == "sent":
            values.update(status="sent", sent_at=now, last_error=None, next_attempt_at=None,
                          platform_message_id=result.platform_message_id)
        elif result.status == "retry" and attempts < self.max_attempts:
            wait = max(result.retry_after or 0.0, min(MAX_BACKOFF, self.backoff * 2 ** (attempts - 1)))
            wait *= random.uniform(1.0, 1.25)
            values.update(next_attempt_at=now + timedelta(seconds=wait), last_error=result.error)
        elif result.status == "window_closed":
            values.update(status="window_closed", next_attempt_at=None, last_error=result.error)
        else:
            values.update(status="failed", next_attempt_at=None, last_error=result.error)
        await self.repo.record(row.id, **values)
        SENDS.labels(row.channel, values.get("status", "retry")).inc()
        log("outbox.result", respondent=row.respondent_id, seq=row.seq, channel=row.channel,
            status=values.get("status", "retry"), attempts=attempts, error=result.error)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
