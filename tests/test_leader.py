"""The scheduler's leader on a real Redis with short leases: one of two replicas leads, a
dead leader's lease runs out and the other takes over, a stop hands over at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.leader import Leader

LEASE = 1.0


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_without_redis_the_process_always_leads() -> None:
    leader = Leader(None)
    await leader.start()
    assert leader.is_leader
    await leader.stop()
    assert leader.is_leader


async def test_one_of_two_leads_and_keeps_leading_past_its_lease(redis: Redis) -> None:
    a, b = Leader(redis, lease=LEASE), Leader(redis, lease=LEASE)
    await a.start()
    await b.start()
    try:
        assert a.is_leader and not b.is_leader
        await asyncio.sleep(LEASE * 2.5)  # renewed every third of the lease
        assert a.is_leader and not b.is_leader
    finally:
        await a.stop()
        await b.stop()


async def test_a_dead_leaders_lease_runs_out_and_the_other_takes_over(redis: Redis) -> None:
    a, b = Leader(redis, lease=LEASE), Leader(redis, lease=LEASE)
    await a.start()
    await b.start()
    assert a.is_leader and not b.is_leader
    # a dies: its renewing stops, nothing is released.
    assert a._task is not None
    a._task.cancel()
    await asyncio.sleep(LEASE / 2)
    assert not b.is_leader  # the lease still runs
    await asyncio.sleep(LEASE)  # ran out; b has tried again since
    try:
        assert b.is_leader
        assert not a.is_leader  # a's own view expired with its lease
        assert await a.tick() is False
    finally:
        await b.stop()


async def test_stop_hands_over_at_once(redis: Redis) -> None:
    a, b = Leader(redis, lease=LEASE), Leader(redis, lease=LEASE)
    await a.start()
    await b.start()
    try:
        await a.stop()
        assert not a.is_leader
        assert await b.tick() is True
        assert b.is_leader
    finally:
        await b.stop()
    assert await redis.exists("shopbot:leader") == 0
