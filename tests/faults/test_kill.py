"""``hailong run`` killed with SIGKILL while six web chat respondents and four Zalo users write at
once, then started again. Nobody notices more than a delay.

Clients behave like real ones: the web chat resends an unanswered message with the same client id
(cid); Zalo redelivers a webhook that got no 200 byte for byte (same msg_id); Zalo users read the
bot's reply before typing the next answer. Redis survives the kill (only the process dies).

Work the dead process left behind (events recorded before their 200 but not handled, outbox rows
leased but not sent) is picked up by the inbox and outbox sweeps a minute later in production;
here that minute is simulated: the locks the dead process held in Redis are expired, and the
sweeps run, with ``older_than=0`` and a clock two minutes ahead, before the server is started
again (so no live sender races the shifted clock).

Afterwards, per respondent: one response; the answers table equals what the client answered; the
outbox is numbered 1..N without gaps; the web client received exactly the stored messages; each
Zalo user received every reply, in order, and at most the one message that was in flight at the
kill twice (platform sends are at-least-once: a send that reached Zalo but whose result was not
recorded is sent again). Every inbox event is done.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from bot.services import build_services
from bot.settings import REPO_ROOT, Settings
from bot.store.outbox_repo import OutboxRepo
from channels.outbox_sender import OutboxSender
from channels.zalo.channel import ZaloChannel
from channels.zalo.client import ZaloClient
from channels.zalo.db_tokens import DbTokenStore
from fakes.zalo import FakeZalo

from .harness import Gate, PlatformUser, Progress, WebUser, check_nothing_lost_or_repeated, zalo_reader
from .script import survey
from .services import free_port

READY = "Hailong serving on"
WEB_USERS, ZALO_USERS, WEB_ANSWERS, ZALO_ANSWERS = 6, 4, 10, 8


class ServerProcess:
    """``hailong run`` as a child process; ready when it prints its serving line."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self.starts = 0

    async def start(self) -> None:
        script = Path(sys.executable).with_name("hailong")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
        with self.log.open("ab") as err:
            self.proc = await asyncio.create_subprocess_exec(*cmd, "run", env=self.env, cwd=REPO_ROOT,
                                                             stdout=asyncio.subprocess.PIPE, stderr=err)
        assert self.proc.stdout is not None
        async with asyncio.timeout(60):
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    raise AssertionError(f"the server exited:\n{self.log.read_text()[-3000:]}")
                if READY in line.decode():
                    break
        self._pump = asyncio.create_task(self._drain(self.proc.stdout))  # the pipe must never fill
        self.starts += 1

    @staticmethod
    async def _drain(stream: asyncio.StreamReader) -> None:
        while await stream.readline():
            pass

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        if self._pump is not None:
            await self._pump
        self.proc = None


def server_env(settings: Settings, zalo: FakeZalo, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAILONG_")}
    env.update({
        "HAILONG_DATA_DIR": str(settings.data_dir), "HAILONG_HOST": "127.0.0.1", "HAILONG_PORT": str(port),
        "HAILONG_DATABASE_URL": settings.database_url, "HAILONG_SECRET_KEY": settings.secret_key,
        "HAILONG_REDIS_URL": settings.redis_url, "HAILONG_REDIS_PREFIX": settings.redis_prefix,
        "HAILONG_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(REPO_ROOT),  # the checkout as it is now, as pytest sees it (new packages too)
        "HAILONG_ZALO_APP_ID": zalo.app_id, "HAILONG_ZALO_APP_SECRET": zalo.app_secret,
        "HAILONG_ZALO_OA_SECRET_KEY": zalo.oa_secret_key, "HAILONG_ZALO_ACCESS_TOKEN": zalo.access_token,
        "HAILONG_ZALO_REFRESH_TOKEN": zalo.refresh_token, "HAILONG_ZALO_API_BASE": zalo.url,
        "HAILONG_ZALO_OAUTH_BASE": zalo.url, "HAILONG_SEND_BACKOFF_SECONDS": "0.2",
        "HAILONG_SEND_USER_PACING": "false",
    })
    return env


async def sweep(settings: Settings, zalo: FakeZalo) -> tuple[int, int]:
    """What the restarted server's periodic sweeps would do a minute later: handle the events the
    dead process recorded but never handled, and send what it had leased but not sent."""
    services = build_services(settings)
    try:
        recovered = await services.inbox.recover(older_than=timedelta(0))
        await services.inbox.drain()
        async with aiohttp.ClientSession() as http:
            channel = ZaloChannel(ZaloClient(app_id=zalo.app_id, app_secret=zalo.app_secret,
                                             tokens=DbTokenStore(services.engine), session=http, base_url=zalo.url,
                                             oauth_url=zalo.url))
            later = lambda: datetime.now(timezone.utc) + timedelta(minutes=2)  # noqa: E731
            sender = OutboxSender(repo=OutboxRepo(services.engine, services.sealer), channels={"zalo": channel},
                                  user_pacing=False, clock=later)
            sent = await sender.send_due()
        return recovered, sent
    finally:
        await services.close()


async def expire_locks(settings: Settings) -> None:
    """The minute that passes before the sweeps, as Redis sees it: the respondent and inbox locks
    the dead process held (30 s and 60 s leases) have expired. Cached state is kept."""
    r = aioredis.Redis.from_url(settings.redis_url)
    try:
        keys = [k async for k in r.scan_iter(f"{settings.redis_prefix}lock:*")]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()


async def test_a_server_killed_under_load_loses_and_duplicates_no_answer(fault_settings: Settings,
                                                                         tmp_path: Path) -> None:
    async with FakeZalo() as zalo, aiohttp.ClientSession() as http:
        port = free_port()
        server = ServerProcess(server_env(fault_settings, zalo, port), tmp_path / "server.log")
        await server.start()
        base = f"http://127.0.0.1:{port}"
        gate, progress = Gate(), Progress()
        web = [WebUser(http, base, gate, progress, f"w{i}") for i in range(WEB_USERS)]
        users = [PlatformUser("zalo", f"25127365190000002{i:02d}", survey(answers=ZALO_ANSWERS, submit=False),
                              http, base, gate, progress, zalo=zalo) for i in range(ZALO_USERS)]

        total = WEB_USERS * (WEB_ANSWERS + 1) + sum(len(u.script.turns) for u in users)
        swept: list[tuple[int, int]] = []
        at_kill: list[int] = []

        async def crash() -> None:
            await progress.until(total * 2 // 5)
            at_kill.append(progress.count)
            gate.open.clear()  # from here a failed client waits for the restart
            await server.kill()
            await expire_locks(fault_settings)
            swept.append(await sweep(fault_settings, zalo))
            await server.start()
            gate.open.set()

        try:
            await asyncio.gather(crash(), *(w.run(WEB_ANSWERS) for w in web),
                                 *(u.run(zalo_reader(zalo, u.user)) for u in users))
        finally:
            await server.kill()

        assert server.starts == 2
        print(f"killed after {at_kill[0]}/{total} messages; {gate.failed.count} client sends failed and were"
              f" resent; the sweep recovered {swept[0][0]} events and sent {swept[0][1]} messages")
        services = build_services(fault_settings)
        try:
            await check_nothing_lost_or_repeated(services, web, users, zalo, recorded=False)
        finally:
            await services.close()
