"""Background jobs: the same job functions on the Redis queue (shared by the server processes) and
in process (``make run``); a job outlives the process that queued or was running it."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis as redis_sync

from bot.jobs import ONE_OFF, JobContext, LocalJobs, RedisJobs, job
from bot.messages import Inbound
from bot.services import Services
from bot.settings import Settings

RELEASED: dict[str, asyncio.Event] = {}
STARTED: dict[str, asyncio.Event] = {}


@pytest.fixture
def queue_name(settings: Settings) -> Iterator[str]:
    """The test's own saq queue (saq names its keys ``saq:<queue>:…``, outside our prefix)."""
    name = f"{settings.redis_prefix}jobs"
    yield name
    r = redis_sync.Redis.from_url(settings.redis_url)
    keys = list(r.scan_iter(f"saq:*{name}*"))
    if keys:
        r.delete(*keys)
    r.close()


@pytest.fixture
def blocking_job() -> Iterator[str]:
    """A one-off job whose first attempt runs until its process stops (a long export, say)."""
    @job
    async def hold_then_finish(ctx: dict[str, Any], *, tag: str) -> str:
        job_ = ctx["job"]
        STARTED[tag].set()
        if job_.attempts == 1:
            await RELEASED[tag].wait()  # never set: the process stops first
        return f"done on attempt {job_.attempts}"

    yield "hold_then_finish"
    ONE_OFF.pop("hold_then_finish", None)


@pytest.mark.parametrize("backend", ["postgres"])
async def test_an_export_queued_by_a_process_that_stopped_is_run_by_the_next(
        services: Services, queue_name: str) -> None:
    before = RedisJobs(services.settings.redis_url, queue_name, JobContext(services))  # takes the request, consumes nothing
    key = await before.enqueue("export_responses", flow_id="sipas", fmt="csv")
    await before.close()
    after = RedisJobs(services.settings.redis_url, queue_name, JobContext(services))  # the process started again
    await after.start()
    try:
        done = await after.wait(key, timeout=60)
    finally:
        await after.close()
    assert done.status == "complete", done.error
    assert Path(done.result["path"]).is_file() and done.result["rows"] == 0


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_job_cut_short_by_a_stopping_process_runs_again_in_another(
        services: Services, queue_name: str, blocking_job: str) -> None:
    RELEASED["t"], STARTED["t"] = asyncio.Event(), asyncio.Event()
    first = RedisJobs(services.settings.redis_url, queue_name, JobContext(services), shutdown_grace=1)
    await first.start()
    try:
        key = await first.enqueue(blocking_job, tag="t")
        async with asyncio.timeout(30):
            await STARTED["t"].wait()
        assert (await first.status(key)).status == "active"  # type: ignore[union-attr]
    finally:
        await first.close()  # e.g. SIGTERM during a deploy, mid-job
    second = RedisJobs(services.settings.redis_url, queue_name, JobContext(services))
    await second.start()
    try:
        done = await second.wait(key, timeout=30)
    finally:
        await second.close()
    assert (done.status, done.result) == ("complete", "done on attempt 2")


@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_key_already_queued_is_not_queued_twice(services: Services, queue_name: str) -> None:
    jobs = RedisJobs(services.settings.redis_url, queue_name, JobContext(services))
    try:
        assert await jobs.enqueue("export_responses", key="export-1", flow_id="sipas") == "export-1"
        await jobs.enqueue("export_responses", key="export-1", flow_id="sipas")
        assert await jobs.queue.count("queued") == 1
    finally:
        await jobs.close()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_without_redis_the_same_job_runs_in_process(services: Services) -> None:
    jobs = LocalJobs(JobContext(services))
    key = await jobs.enqueue("export_responses", flow_id="sipas", fmt="csv")  # before start: kept
    await jobs.start()
    try:
        done = await jobs.wait(key, timeout=60)
    finally:
        await jobs.close()
    assert done.status == "complete", done.error
    assert Path(done.result["path"]).is_file()


@pytest.mark.parametrize("backend", ["postgres"])
async def test_due_messages_are_sent_by_the_periodic_job_once_across_two_processes(
        settings: Settings, services: Services, queue_name: str) -> None:
    from sqlalchemy import func, select

    from bot.services import build_services
    from bot.store.outbox_repo import OutboxRepo
    from bot.store.tables import outbox
    from channels.outbox_sender import OutboxSender
    from channels.telegram import TelegramSender
    from channels.telegram.channel import TelegramChannel
    from fakes.telegram import TOKEN, FakeTelegram

    other = build_services(settings)
    for n in range(3):  # replies written while no process was sending (nobody woke a sender)
        await services.inbox.accept([Inbound("telegram", str(8_000_000 + n), text="xin chào",
                                             message_id=f"telegram:tick-{n}")])
    await services.inbox.drain()
    async with services.engine.connect() as conn:
        due = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
    async with FakeTelegram() as tg:
        runners = []
        for s in (services, other):
            sender = OutboxSender(repo=OutboxRepo(s.engine, s.sealer), backoff=0.0, channels={
                "telegram": TelegramChannel(TelegramSender(TOKEN, base_url=f"{tg.url}/bot"))})
            runners.append((RedisJobs(s.settings.redis_url, queue_name, JobContext(s, send_due=sender.send_due)),
                            sender))
        try:
            for jobs, _ in runners:
                await jobs.start()
            await tg.arrivals.until(due, timeout=30)
        finally:
            for jobs, sender in runners:
                await jobs.close()
                await sender.channels["telegram"].close()
            await other.close()
        assert len(tg.delivered) == due
    async with services.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(outbox).where(outbox.c.status == "sent"))
                ).scalar_one() == due
