"""Delivers platform messages from the outbox: in order per user, paced, retried, every result recorded.

The conversation service writes what to say in the same transaction as what it learned; this
sender turns those rows into platform calls (claiming and recording through ``OutboxRepo``).
A message split into pieces records each piece sent, so a retry never repeats one.

Pacing goes through a ``Pacer``: in Redis when there are several processes, so that together
they keep each platform's rate (``bot.jobs.pacing``). ``run`` sends when woken (this process's
inbox wrote replies); what else is due (retries, other processes' rows, campaign messages) is
sent by the periodic job ``bot.jobs.tasks.send_outbox``, which calls ``send_due``.
"""
from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from bot.campaigns.hours import SendingHours
from bot.jobs.pacing import LocalPacer, Pacer, wait_turn
from bot.logs import log
from bot.messages import Outbound
from bot.metrics import SENDS
from bot.store.outbox_repo import DueMessage, OutboxRepo

from .base import Pace, PlatformChannel
from .delivery import SendResult

LEASE = timedelta(seconds=60)
MAX_BACKOFF = 600.0


class OutboxSender:
    def __init__(self, *, repo: OutboxRepo, channels: dict[str, PlatformChannel], max_attempts: int = 8,
                 backoff: float = 2.0, concurrency: int = 32, user_pacing: bool = True,
                 clock: Callable[[], datetime] | None = None, pacer: Pacer | None = None) -> None:
        self.repo = repo
        self.channels = channels
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.user_pacing = user_pacing
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._wake = asyncio.Event()
        self._sem = asyncio.Semaphore(concurrency)
        self.pacer: Pacer = pacer or LocalPacer()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, poll: float | None = None) -> None:
        """Send until cancelled, at once when woken; and every ``poll`` seconds if given (otherwise
        the periodic ``send_outbox`` job covers retries and other processes' messages)."""
        while True:
            self._wake.clear()
            try:
                await self.send_due()
            except Exception as e:  # the database may be restarting: keep the loop alive
                log("outbox.loop_error", level=40, error=type(e).__name__)
            if poll is None:
                await self._wake.wait()
            else:
                try:
                    await asyncio.wait_for(self._wake.wait(), poll)
                except asyncio.TimeoutError:
                    pass

    async def send_due(self, limit: int = 200, max_seconds: float | None = None) -> int:
        """Claim and send what is due now, round after round, until nothing is (or, given
        ``max_seconds``, until no new round should start); returns messages handled."""
        if not self.channels:
            return 0
        total = 0
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while deadline is None or time.monotonic() < deadline:
            rows = await self._claim(limit)
            if not rows:
                return total
            await asyncio.gather(*(self._deliver(row) for row in rows))
            total += len(rows)
        return total

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
            hours = SendingHours.from_json(row.payload.get("hours"))
            now = self.clock()
            if hours is not None and hours.window_end(now) is None:
                # a campaign message due outside its hours (a retry, a backlog after an outage):
                # it waits for the next window; not an attempt
                await self.repo.record(row.id, next_attempt_at=hours.next_start(now))
                log("outbox.outside_hours", respondent=row.respondent_id, seq=row.seq, channel=row.channel)
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
        per_user = bool(pace.per_user and self.user_pacing)
        await wait_turn(self.pacer, name, pace.per_second, pace.burst, user=address if per_user else None,
                        user_rate=pace.per_user if per_user else None, user_burst=pace.per_user_burst)

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
            retry_at = now + timedelta(seconds=wait)
            hours = SendingHours.from_json(row.payload.get("hours"))
            if hours is not None:
                retry_at = hours.next_start(retry_at)
            values.update(next_attempt_at=retry_at, last_error=result.error)
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
