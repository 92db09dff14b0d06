"""Send limits shared by replicas in Redis (bot/ratelimit.py), on a real Redis server."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import TelegramMethod
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import utcnow
from bot.local import LocalSession
from bot.ratelimit import SharedRate
from bot.sender import Pacer, Sender
from storage import outbox
from storage.models import OutboxMessage
from storage.outbox import Claimed


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[tuple[SharedRate, SharedRate]]:
    """Two replicas' limiters: separate connections, one Redis, a fresh key prefix."""
    prefix = f"test:{uuid.uuid4().hex}"
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    yield tuple(  # type: ignore[misc]
        SharedRate(
            c,
            prefix=prefix,
            global_per_second=20,
            private_per_second=1,
            group_per_minute=20,
            burst=2,
        )
        for c in clients
    )
    for c in clients:
        await c.aclose()


async def _reserve_at(rate: SharedRate, chat: int | None, *, overall: bool = True) -> float:
    """When the reserved send may leave, on this process's clock (`reserve` may itself
    wait while the chat's budget holds the send back)."""
    delay = await rate.reserve(chat, overall=overall)
    return time.monotonic() + delay


async def _wait(rate: SharedRate, chat: int | None) -> float:
    """Seconds from asking until the send may leave."""
    asked = time.monotonic()
    return await _reserve_at(rate, chat) - asked


def busiest(times: list[float], span: float = 1.0) -> int:
    times = sorted(times)
    return max(sum(1 for u in times if t <= u < t + span) for t in times)


async def test_two_replicas_together_keep_the_bots_overall_rate(
    replicas: tuple[SharedRate, SharedRate],
) -> None:
    a, b = replicas
    jobs = [_reserve_at(a if i % 2 else b, 1000 + i) for i in range(60)]
    times = sorted(await asyncio.gather(*jobs))
    # 20 a second with a burst of 2: the 60 places span (60 - 2) / 20 seconds; alone, each
    # replica would have placed its 30 within 1.5 s. (Not the busiest second: these times
    # are read on a loop that may be late to read them; `admit` below is the hard cap.)
    assert times[-1] - times[0] == pytest.approx(58 / 20, abs=0.2)


async def test_admit_lets_no_more_than_the_limit_through_in_any_span_across_replicas(
    replicas: tuple[SharedRate, SharedRate],
) -> None:
    a, b = replicas
    through: list[float] = []

    async def send(rate: SharedRate) -> None:
        await rate.admit(10, 0.5)
        through.append(time.monotonic())

    started = time.monotonic()
    await asyncio.gather(*[send((a, b)[i % 2]) for i in range(30)])
    # 30 sends at 10 per half second, all asked at once: three waves, half a second apart.
    assert busiest(through, span=0.45) <= 10
    assert 0.95 <= through[-1] - started < 1.5


async def test_one_private_chat_gets_one_message_a_second_whichever_replica_sends(
    replicas: tuple[SharedRate, SharedRate],
) -> None:
    a, b = replicas
    times = sorted(await asyncio.gather(*[_reserve_at((a, b)[i % 2], 42) for i in range(5)]))
    gaps = [v - u for u, v in zip(times, times[1:], strict=False)]
    assert times[1] - times[0] < 0.1  # the burst of 2
    assert all(g == pytest.approx(1.0, abs=0.1) for g in gaps[1:])


async def test_a_groups_places_are_three_seconds_apart_without_a_burst(
    replicas: tuple[SharedRate, SharedRate],
) -> None:
    a, b = replicas
    times = sorted([await _reserve_at(a, -100), await _reserve_at(b, -100)])
    assert times[1] - times[0] == pytest.approx(3.0, abs=0.1)


async def test_a_429_blocks_the_chat_and_the_bot_on_every_replica(
    replicas: tuple[SharedRate, SharedRate],
) -> None:
    a, b = replicas
    await a.block(7, 2)
    waits = await asyncio.gather(_wait(b, 7), _wait(b, 8))  # chat 8: the bot's budget too
    assert min(waits) >= 1.95 and max(waits) < 2.3


async def test_a_groups_429_blocks_that_group_only(
    replicas: tuple[SharedRate, SharedRate],
) -> None:
    a, b = replicas
    await a.block(-100, 3)
    group, other = await asyncio.gather(_wait(b, -100), _wait(b, 9))
    assert 2.95 <= group < 3.3
    assert other < 0.1


async def test_without_redis_sends_go_on_with_local_pacing_and_say_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    rate = SharedRate(
        client,
        prefix="x",
        global_per_second=20,
        private_per_second=1,
        group_per_minute=20,
        burst=2,
    )
    with caplog.at_level(logging.WARNING, logger="bot.ratelimit"):
        assert await rate.reserve(1) == 0.0
        assert await rate.reserve(2) == 0.0
        await rate.block(1, 3)
    assert [r.message for r in caplog.records].count(
        "shared send limits: Redis unreachable (ConnectionError); pacing this process alone"
    ) == 1
    await client.aclose()


async def test_two_senders_on_one_outbox_send_at_the_bots_rate_together(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], redis_url: str
) -> None:
    """Two replicas' outbox senders, each pacing itself at the full 20 a second: sharing
    the budget in Redis, together they still send 20 a second, each row once."""
    now = utcnow()
    for chat in range(1000, 1080):
        await outbox.enqueue(session, kind="t", lane=f"u:{chat}", chat_id=chat, now=now)
    await session.commit()
    sent: list[tuple[int, float]] = []
    all_sent = asyncio.Event()

    def record(method: TelegramMethod[Any]) -> None:
        sent.append((int(getattr(method, "chat_id", 0)), time.monotonic()))
        if len(sent) == 80:
            all_sent.set()

    prefix = f"test:{uuid.uuid4().hex}"
    clients: list[Redis] = []
    senders: list[Sender] = []
    for name in ("a", "b"):
        client = Redis.from_url(redis_url)
        clients.append(client)
        bot = Bot("123456:TEST", session=LocalSession(on_request=record))
        sender = Sender(
            session_factory,
            clock=utcnow,
            pacer=Pacer(global_per_second=20, private_per_second=1, burst=1),
            worker=name,
        )
        sender.attach(bot)
        sender.share(
            SharedRate(
                client,
                prefix=prefix,
                global_per_second=20,
                private_per_second=1,
                group_per_minute=20,
                burst=1,
            )
        )

        async def deliver(row: Claimed, bot: Bot = bot) -> None:
            await bot.send_message(row.chat_id or 0, "hello")

        sender.route("t", deliver)
        senders.append(sender)
    tasks = [asyncio.create_task(s.run_forever()) for s in senders]
    try:
        await asyncio.wait_for(all_sent.wait(), 30)
    finally:
        for s, t in zip(senders, tasks, strict=True):
            await s.close(t, grace=5)
        for c in clients:
            await c.aclose()
    assert sorted(chat for chat, _ in sent) == list(range(1000, 1080))
    # Together at the bot's 20 a second: 80 sends take (80 - 1) / 20 s at least; unshared,
    # each sender sends its 40 in 2 s, side by side, and 41 leave in the busiest second.
    # The shared guard admits at most 21 in any 1.02 s, timed by Redis as each send is let
    # through; the times here are read after that, and a loaded machine reads some late:
    # hence the slack in the busiest second.
    times = sorted(t for _, t in sent)
    assert times[-1] - times[0] >= 79 / 20 - 0.1
    assert busiest(times) <= 25
    result = await session.execute(select(OutboxMessage.status))
    assert Counter(result.scalars()) == {"sent": 80}


async def test_a_groups_topic_or_edit_spends_the_groups_turn_not_the_bots(
    replicas: tuple[SharedRate, SharedRate],
) -> None:
    a, b = replicas
    await _reserve_at(a, -100, overall=False)
    assert await a.redis.get(f"{a.prefix}:all") is None  # the bot's budget untouched
    waited = await _wait(b, -100)  # a post in the same group: its turn comes 3 s later
    assert waited == pytest.approx(3.0, abs=0.15)
