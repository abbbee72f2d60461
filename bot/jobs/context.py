"""What job functions get: the process's services and, where platforms are on, its outbox sender."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    from ..services import Services


@dataclass
class JobContext:
    services: "Services"
    # the outbox sender's ``send_due`` (set by the composition root when platforms are configured;
    # the core does not import channels)
    send_due: Callable[..., Awaitable[int]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def context_of(ctx: dict[str, Any]) -> JobContext:
    """The JobContext in a job's ``ctx`` (saq's context dict, or the local runner's)."""
    return ctx["hailong"]


def job_key(ctx: dict[str, Any]) -> str:
    job = ctx.get("job")
    return str(getattr(job, "key", None) or ctx["job_key"])
