"""Send pacing shared between processes: two outbox senders (each with its own Telegram client,
database pool and Redis client, as two server processes have) together stay under Telegram's
channel rate, measured on the fake Bot API's arrival times."""
from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

import pytest

from bot.jobs.pacing import LocalPacer, RedisPacer
from bot.messages import Inbound
from bot.services import Services, build_services
from bot.settings import Settings
from bot.store.outbox_repo import OutboxRepo
from channels.outbox_sender import OutboxSender
from channels.telegram import TelegramSender
from channels.telegram.channel import TelegramChannel
from fakes.arrivals import Arrivals
from fakes.telegram import TOKEN, FakeTelegram

USERS = 40


class TimedArrivals(Arrivals):
    """Arrivals with the moment of each (monotonic clock of this test process)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def add(self) -> None:
        self.times.append(time.monotonic())
        await super().add()


def most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    j, best = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(arrivals=TimedArrivals()) as fake:
        yield fake


@pytest.fixture
async def other(settings: Settings, services: Services) -> AsyncIterator[Services]:
    s = build_services(settings)
    yield s
    await s.close()


def _sender(services: Services, tg: FakeTelegram, pacer: Any) -> OutboxSender:
    channel = TelegramChannel(TelegramSender(TOKEN, base_url=f"{tg.url}/bot"))
    return OutboxSender(repo=OutboxRepo(services.engine, services.sealer), channels={"telegram": channel},
                        backoff=0.0, pacer=pacer)


async def _replies_waiting(services: Services) -> None:
    """Each of USERS people wrote once; their replies wait in the outbox."""
    for n in range(USERS):
        await services.inbox.accept([Inbound("telegram", str(7_000_000 + n), text="xin chào",
                                             message_id=f"telegram:pace-{n}")])
    await services.inbox.drain()


@pytest.mark.parametrize("backend", ["postgres"])
async def test_two_processes_together_keep_the_channel_rate(services: Services, other: Services,
                                                            tg: FakeTelegram) -> None:
    await _replies_waiting(services)
    pace = TelegramChannel.pace
    prefix = services.settings.redis_prefix
    pacers = [RedisPacer(services.settings.redis_url, prefix), RedisPacer(services.settings.redis_url, prefix)]
    a, b = _sender(services, tg, pacers[0]), _sender(other, tg, pacers[1])
    try:
        # small rounds, so both processes keep claiming while the other sends
        sent = await asyncio.gather(a.send_due(limit=5), b.send_due(limit=5))
    finally:
        for s, p in ((a, pacers[0]), (b, pacers[1])):
            await s.channels["telegram"].close()
            await p.close()
    times: list[float] = tg.arrivals.times  # type: ignore[attr-defined]
    assert all(sent) and sum(sent) >= USERS and len(times) == len(tg.delivered) >= USERS
    # GCRA: at most burst + rate * W in any window of W seconds (one message of slack for timing)
    assert most_in_any_window(times, 1.0) <= pace.burst + pace.per_second * 1.0 + 1
    assert most_in_any_window(times, 0.5) <= pace.burst + pace.per_second * 0.5 + 1
    # and the channel was used: past the burst, about the rate (not one process's share of it)
    span = max(times) - min(times)
    assert (len(times) - pace.burst) / pace.per_second * 0.8 <= span <= (len(times) - pace.burst) / pace.per_second + 1.0


async def test_local_pacing_lets_a_burst_through_then_keeps_the_rate() -> None:
    pacer = LocalPacer()
    delays = [pacer.take_now("telegram", 10.0, 5)[0] for _ in range(15)]
    assert delays[:5] == [0.0] * 5
    assert all(abs(d - (i + 1) * 0.1) < 0.02 for i, d in enumerate(delays[5:]))


async def test_a_user_waiting_for_their_own_slot_does_not_hold_a_channel_slot() -> None:
    pacer = LocalPacer()
    first, second = (pacer.take_now("telegram", 100.0, 1, user="u", user_rate=1.0, user_burst=1) for _ in range(2))
    assert first == (0.0, True)
    assert second[1] is False and abs(second[0] - 1.0) < 0.02  # u waits a second, holding no channel slot
    delay, taken = pacer.take_now("telegram", 100.0, 1, user="v", user_rate=1.0, user_burst=1)
    assert taken and delay < 0.02  # v only waits for the channel's next slot (1/100 s)
