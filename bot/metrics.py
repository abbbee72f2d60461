"""Prometheus metrics: what operators watch during a national survey week (messages, latency,
queue depth, send failures per channel). Counters live in each process; queue depths are read
from the database at scrape time, so every worker reports the same, true backlog."""
from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

from .store.tables import inbox, outbox, qa_tickets

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

REGISTRY = CollectorRegistry(auto_describe=True)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

MESSAGES = Counter("hailong_messages_total", "Inbound messages handled by the conversation core",
                   ["channel", "outcome"], registry=REGISTRY)
MESSAGE_SECONDS = Histogram("hailong_message_seconds", "Time to handle one inbound message (lock, plan, commit)",
                            ["channel"], buckets=_LATENCY_BUCKETS, registry=REGISTRY)
SHED = Counter("hailong_shed_total", "Requests refused or dropped under overload (gate: waited too long to start;"
               " client_gone: the client left while it waited; webhook: events waited too long in the inbox)",
               ["reason"], registry=REGISTRY)
INBOX_DELAY = Gauge("hailong_inbox_delay_seconds", "How long the last event handled here waited in this process's inbox",
                    registry=REGISTRY)
HTTP_SECONDS = Histogram("hailong_http_seconds", "HTTP request latency by route", ["route", "method", "status"],
                         buckets=_LATENCY_BUCKETS, registry=REGISTRY)
WEBHOOK_EVENTS = Counter("hailong_webhook_events_total", "Platform events received (new or redelivered)",
                         ["channel", "kind"], registry=REGISTRY)
SENDS = Counter("hailong_sends_total", "Outbound platform sends by result (sent, retry, failed, window_closed)",
                ["channel", "result"], registry=REGISTRY)
OUTBOX_PENDING = Gauge("hailong_outbox_pending", "Messages waiting to be sent", ["channel"], registry=REGISTRY)
OUTBOX_FAILED = Gauge("hailong_outbox_failed", "Messages that finally failed (hailong outbox failed)", ["channel"],
                      registry=REGISTRY)
INBOX_PENDING = Gauge("hailong_inbox_pending", "Webhook events recorded and not yet handled", ["channel"],
                      registry=REGISTRY)
QUESTIONS_WAITING = Gauge("hailong_questions_waiting", "Forwarded questions waiting for an official", registry=REGISTRY)


async def refresh_queue_gauges(engine: "AsyncEngine") -> None:
    async with engine.connect() as conn:
        by_status = (await conn.execute(select(outbox.c.channel, outbox.c.status, func.count())
                                        .where(outbox.c.status.in_(("pending", "failed")))
                                        .group_by(outbox.c.channel, outbox.c.status))).all()
        pending_in = (await conn.execute(select(inbox.c.channel, func.count()).where(inbox.c.status == "pending")
                                         .group_by(inbox.c.channel))).all()
        waiting = (await conn.execute(select(func.count()).select_from(qa_tickets)
                                      .where(qa_tickets.c.status.in_(("open", "assigned", "review"))))).scalar_one()
    for gauge in (OUTBOX_PENDING, OUTBOX_FAILED, INBOX_PENDING):
        gauge.clear()
    for channel, status, n in by_status:
        (OUTBOX_PENDING if status == "pending" else OUTBOX_FAILED).labels(channel).set(n)
    for channel, n in pending_in:
        INBOX_PENDING.labels(channel).set(n)
    QUESTIONS_WAITING.set(waiting)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
