"""Background work: periodic jobs (sending due outbox messages, inbox recovery, campaign sends,
knowledge-base follow) and one-off jobs (exports), the same job functions however they run.

With Redis configured (``hailong run --workers N``), jobs go through a Redis-backed queue that the
server processes consume themselves (``runner.RedisJobs``): a periodic job runs in one process per
tick whichever process that is, a one-off job survives the death of the process that queued or
was running it. Without Redis (``make run``: one process, SQLite), ``runner.LocalJobs`` runs the
same functions in the process. Work that concerns each process's own memory (its knowledge-base
index) runs in every process either way.

The queue is saq (https://github.com/tobymao/saq), not a home-made scheduler. Chosen over arq
(maintenance releases only for years), taskiq (its scheduler must run as one separate process, a
single point of failure) and rq (synchronous, forks per job): saq is asyncio-native and typed,
actively released, depends only on redis-py (already ours) and croniter, runs its worker inside an
existing event loop, de-duplicates cron ticks across workers by job key, and re-queues a job whose
worker died (the sweep of stuck jobs) or was stopped mid-job.

``pacing`` holds the send pacers: a GCRA token bucket per channel (and per user) in Redis, so N
processes together keep each platform's rate, or in process memory for one process.
"""
from .runner import JobContext, Jobs, JobStatus, LocalJobs, RedisJobs, open_jobs
from .tasks import ONE_OFF, PERIODIC, Periodic, job

__all__ = ["JobContext", "JobStatus", "Jobs", "LocalJobs", "ONE_OFF", "PERIODIC", "Periodic", "RedisJobs", "job",
           "open_jobs"]
