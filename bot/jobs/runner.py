"""Runs the job functions of ``tasks``: on a Redis-backed saq queue shared by every server process,
or in this process when there is no Redis (``make run``). Both have one interface, ``Jobs``."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from ..logs import log
from ..settings import Settings
from .context import JobContext
from .tasks import ONE_OFF, PERIODIC, JobFn, Periodic

# how long finished one-off jobs (and their results: an export's file name) are kept
RESULT_TTL = 7 * 24 * 3600
TERMINAL = frozenset({"complete", "failed", "aborted"})


@dataclass(frozen=True)
class JobStatus:
    key: str
    status: str  # queued | active | complete | failed | aborted
    result: Any = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


class Jobs(Protocol):
    context: JobContext

    async def start(self) -> None:
        """Consume jobs in this process (periodic ones included) until ``close``."""
        ...

    async def close(self) -> None:
        """Stop consuming; a job cut short runs again (in another process, on Redis)."""
        ...

    async def enqueue(self, name: str, *, key: str | None = None, timeout: int = 600, retries: int = 3,
                      **kwargs: Any) -> str:
        """Queue the one-off job ``name`` (see ``tasks.job``) with JSON ``kwargs``; returns its key.
        A key already queued is not queued twice (a double-clicked export runs once)."""
        ...

    async def status(self, key: str) -> JobStatus | None: ...

    async def wait(self, key: str, timeout: float = 60.0) -> JobStatus:
        """Until the job has finished; ``TimeoutError`` after ``timeout`` seconds."""
        ...


def open_jobs(settings: Settings, context: JobContext) -> Jobs:
    if settings.redis_url:
        return RedisJobs(settings.redis_url, f"{settings.redis_prefix}jobs", context)
    return LocalJobs(context)


def _periodic(context: JobContext, *, shared: bool | None = None) -> list[Periodic]:
    return [p for p in PERIODIC if (shared is None or p.shared == shared)
            and (context.send_due is not None or not p.needs_sender)]


def _logged(fn: JobFn) -> JobFn:
    """A periodic job's failure (the database restarting) is a log line; the next tick retries."""
    @functools.wraps(fn)
    async def run(ctx: dict[str, Any]) -> Any:
        try:
            return await fn(ctx)
        except Exception as e:
            log("jobs.error", level=40, job=fn.__qualname__, error=type(e).__name__)
            return None

    return run


class _Periodic:
    """Periodic jobs run in this process: every one without Redis; with Redis, those that refresh
    this process's own memory. A timer per job, not a scheduler: the queue does the rest."""

    def __init__(self, jobs: list[Periodic], context: JobContext) -> None:
        self._jobs, self._context = jobs, context
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._every(p)) for p in self._jobs]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []

    async def _every(self, p: Periodic) -> None:
        while True:
            await asyncio.sleep(p.every)  # the period of a periodic job, not a wait for an event
            try:
                await asyncio.wait_for(_logged(p.fn)({"hailong": self._context, "job_key": p.name}), p.timeout)
            except asyncio.TimeoutError:
                log("jobs.timeout", level=40, job=p.name)


class LocalJobs:
    """One process, no Redis: periodic jobs on timers, one-off jobs as tasks (lost if the process
    dies before they finish, as is everything in memory of ``make run``)."""

    def __init__(self, context: JobContext, concurrency: int = 2) -> None:
        self.context = context
        self._periodic = _Periodic(_periodic(context), context)
        self._sem = asyncio.Semaphore(concurrency)
        self._status: dict[str, JobStatus] = {}
        self._finished: dict[str, asyncio.Event] = {}
        self._pending: list[tuple[str, str, int, int, dict[str, Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False

    async def start(self) -> None:
        self._started = True
        self._periodic.start()
        for args in self._pending:
            self._spawn(*args)
        self._pending.clear()

    async def close(self) -> None:
        await self._periodic.stop()
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._started = False

    async def enqueue(self, name: str, *, key: str | None = None, timeout: int = 600, retries: int = 3,
                      **kwargs: Any) -> str:
        if name not in ONE_OFF:
            raise KeyError(f"no job named {name!r}")
        key = key or secrets.token_hex(8)
        if key in self._status and not self._status[key].done:
            return key
        self._status[key] = JobStatus(key, "queued")
        self._finished[key] = asyncio.Event()
        if self._started:
            self._spawn(key, name, timeout, retries, kwargs)
        else:
            self._pending.append((key, name, timeout, retries, kwargs))
        return key

    def _spawn(self, key: str, name: str, timeout: int, retries: int, kwargs: dict[str, Any]) -> None:
        task = asyncio.create_task(self._run(key, name, timeout, retries, kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: str, name: str, timeout: int, retries: int, kwargs: dict[str, Any]) -> None:
        async with self._sem:
            error = ""
            for attempt in range(1, max(1, retries) + 1):
                self._status[key] = JobStatus(key, "active")
                try:
                    result = await asyncio.wait_for(ONE_OFF[name]({"hailong": self.context, "job_key": key}, **kwargs),
                                                    timeout or None)
                except Exception as e:
                    error = f"{type(e).__name__}: {e}"
                    log("jobs.error", level=40, job=name, key=key, attempt=attempt, error=type(e).__name__)
                    continue
                self._status[key] = JobStatus(key, "complete", result=result)
                break
            else:
                self._status[key] = JobStatus(key, "failed", error=error)
            self._finished[key].set()

    async def status(self, key: str) -> JobStatus | None:
        return self._status.get(key)

    async def wait(self, key: str, timeout: float = 60.0) -> JobStatus:
        async with asyncio.timeout(timeout):
            await self._finished[key].wait()
        return self._status[key]


def _embedded_worker() -> type:
    from saq import Worker

    class EmbeddedWorker(Worker):  # type: ignore[misc]
        """saq's worker inside the server process. Two changes: the server (aiohttp) owns
        SIGINT/SIGTERM, and ``draining`` lets running jobs finish without taking new ones (saq's
        own grace period also waits for its timers, which sleep up to a minute)."""

        SIGNALS: list[Any] = []
        draining = False

        def _process(self, previous_task: asyncio.Task[Any] | None = None) -> None:
            if self.draining:
                if previous_task is not None:
                    self.tasks.discard(previous_task)
                return
            super()._process(previous_task)

    return EmbeddedWorker


class RedisJobs:
    """The saq queue in Redis, consumed by this process among others. Periodic ``shared`` jobs are
    saq cron jobs: every process's worker schedules the next tick under one job key, so a tick is
    queued once and run by whichever process takes it. A one-off job stays in Redis until it
    finishes: a process stopped mid-job hands it back at once, one that died leaves it to the
    sweep (after the job's timeout), and another process runs it again."""

    def __init__(self, url: str, name: str, context: JobContext, *, concurrency: int = 8,
                 sweep_every: int = 60, shutdown_grace: int = 10) -> None:
        from saq import CronJob
        from saq.queue.redis import RedisQueue

        self.context = context
        self.queue = RedisQueue.from_url(url, name=name)
        cron = [CronJob(_logged(p.fn), cron=p.cron, timeout=p.timeout, retries=1, ttl=60)
                for p in _periodic(context, shared=True)]
        # waiting for work wakes every second, so that on close an idle worker stops at once
        self.worker = _embedded_worker()(self.queue, [(n, f) for n, f in ONE_OFF.items()], cron_jobs=cron,
                                         concurrency=concurrency, timers={"sweep": sweep_every},
                                         dequeue_timeout=1.0)
        self._grace = shutdown_grace
        self.worker.context["hailong"] = context
        self._periodic = _Periodic(_periodic(context, shared=False), context)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.queue.connect()
        self._task = asyncio.create_task(self.worker.start())
        self._periodic.start()

    async def close(self) -> None:
        await self._periodic.stop()
        if self._task is not None:
            # running jobs get ``shutdown_grace`` seconds to finish (a send pass records what it
            # sent); then saq cancels what is left and puts those jobs back in the queue
            self.worker.draining = True
            busy = [t for t in self.worker.tasks if t.get_name() == "process"]
            if busy:
                await asyncio.wait(busy, timeout=self._grace)
            await self.worker.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):  # Redis already gone: nothing left to close cleanly
            await self.queue.disconnect()

    async def enqueue(self, name: str, *, key: str | None = None, timeout: int = 600, retries: int = 3,
                      **kwargs: Any) -> str:
        from saq import Job

        if name not in ONE_OFF:
            raise KeyError(f"no job named {name!r}")
        job = Job(function=name, kwargs=kwargs, key=key or secrets.token_hex(8), timeout=timeout, retries=retries,
                  ttl=RESULT_TTL, retry_delay=5.0, retry_backoff=300.0)
        await self.queue.enqueue(job)
        return job.key

    async def status(self, key: str) -> JobStatus | None:
        job = await self.queue.job(key)
        if job is None:
            return None
        return JobStatus(key, job.status.value, job.result, job.error)

    async def wait(self, key: str, timeout: float = 60.0) -> JobStatus:
        def finished(_id: str, status: Any) -> bool:
            return str(getattr(status, "value", status)) in TERMINAL

        async with asyncio.timeout(timeout):
            while True:
                current = await self.status(key)
                if current is not None and current.done:
                    return current
                # notified at once by Redis pub/sub; the re-check covers a notice sent before we listened
                with contextlib.suppress(asyncio.TimeoutError):
                    await self.queue.listen([key], finished, timeout=0.5)
