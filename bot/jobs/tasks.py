"""The job functions. Each takes the runner's ``ctx`` (see ``context``) and keyword arguments that
are JSON values, so the same function runs from the Redis queue or in process.

Periodic jobs are ``shared`` when any one process may do them for everyone (they work on the
database: due messages, pending events, campaigns) and per-process when they refresh something
held in that process's memory (the knowledge-base index), which a queue, handing each job to one
process, cannot do.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from ..logs import log
from .context import context_of, job_key

JobFn = Callable[..., Awaitable[Any]]
ONE_OFF: dict[str, JobFn] = {}

# a periodic outbox pass stops claiming after this long, so it ends well inside its job timeout
# and the next tick (possibly in another process) carries on
SEND_PASS_SECONDS = 20.0


def job(fn: JobFn) -> JobFn:
    """Register a one-off job function under its name (``jobs.enqueue(name, **kwargs)``)."""
    ONE_OFF[fn.__name__] = fn
    return fn


@dataclass(frozen=True)
class Periodic:
    fn: JobFn
    every: int  # seconds, a divisor of 60
    shared: bool = True
    timeout: int = 60
    needs_sender: bool = False  # pointless where no platform is configured (no outbox sender)

    @property
    def name(self) -> str:
        return self.fn.__qualname__

    @property
    def cron(self) -> str:
        """croniter's six-field form, seconds last."""
        return "* * * * * *" if self.every == 1 else f"* * * * * */{self.every}"


async def send_outbox(ctx: dict[str, Any]) -> int:
    """Due messages: retries whose backoff ended, leases of dead processes, messages written by
    campaigns or by another process. (A process also sends at once what its own handling wrote.)"""
    send_due = context_of(ctx).send_due
    if send_due is None:
        return 0
    return await send_due(max_seconds=SEND_PASS_SECONDS)


async def recover_inbox(ctx: dict[str, Any]) -> int:
    """Platform events left pending by a crash or a failed attempt, handled by this process."""
    return await context_of(ctx).services.inbox.recover()


async def send_campaigns(ctx: dict[str, Any]) -> int:
    """Campaign invitations and reminders that are due, into the outbox (when campaigns exist)."""
    try:
        from ..campaigns import send_due
    except ImportError:
        return 0
    sent: int = await send_due(context_of(ctx).services, datetime.now(timezone.utc))
    if sent and context_of(ctx).send_due is not None:
        await send_outbox(ctx)
    return sent


async def follow_knowledge_base(ctx: dict[str, Any]) -> bool:
    """Imports and published answers (possibly by another process) reach this process's index."""
    nlu = context_of(ctx).services.nlu
    refresh = getattr(nlu, "refresh", None) or getattr(getattr(nlu, "fallback", None), "refresh", None)
    if refresh is None:
        return False
    return bool(await refresh())


@job
async def export_responses(ctx: dict[str, Any], *, flow_id: str, fmt: str = "csv", unit: str | None = None,
                           period: str | None = None, include_personal: bool = False) -> dict[str, Any]:
    """A survey's responses to a file under ``<data dir>/exports`` (pandas, in a thread: it is
    synchronous and may take minutes, which is why it is a job and not a request)."""
    from ..analytics import export_responses as export

    settings = context_of(ctx).services.settings
    out = settings.data_dir / "exports" / f"{job_key(ctx)}.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = await asyncio.to_thread(export, settings.effective_database_url, flow_id, fmt, out,
                                   unit=unit, period=period, include_personal=include_personal)
    log("jobs.export", flow=flow_id, format=fmt, rows=rows)
    return {"path": str(out), "rows": rows}


PERIODIC: tuple[Periodic, ...] = (
    Periodic(send_outbox, every=1, needs_sender=True),
    Periodic(recover_inbox, every=30),
    Periodic(send_campaigns, every=5, timeout=120),
    Periodic(follow_knowledge_base, every=30, shared=False),
)
