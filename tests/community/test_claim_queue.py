"""The claim queue (group commit) on SQLite and PostgreSQL: the rules of a claim hold for
taps settled together, and a batch that cannot be settled whole is claimed tap by tap."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from community import announce, drops
from community.claim_queue import ClaimQueue
from community.drops import BatchClaim, ClaimStatus
from storage.models import CouponCode, CouponDrop, Member, OutboxMessage, User
from storage.queries import TgUser
from tests.community.test_drops import new_drop
from tests.conftest import T0

GROUP = -100_123


def member(user_id: int) -> TgUser:
    return TgUser(user_id, None, f"m{user_id}", "en")


async def tap(queue: ClaimQueue, drop_id: int, user_id: int) -> BatchClaim:
    return await queue.claim(drop_id=drop_id, user=member(user_id), chat_id=GROUP, now=T0)


async def issued(session: AsyncSession, drop_id: int) -> list[int]:
    users = await session.scalars(
        select(CouponCode.user_id).where(
            CouponCode.drop_id == drop_id, CouponCode.user_id.is_not(None)
        )
    )
    await session.rollback()
    return [u for u in users if u is not None]


async def deliveries(session: AsyncSession) -> int:
    n = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == announce.CODE)
    )
    await session.rollback()
    return int(n or 0)


async def test_concurrent_taps_issue_exactly_the_quantity_to_distinct_members(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    drop = (await new_drop(session, quantity=100, post_in=GROUP)).id
    # Two queues: two processes on one database (on PostgreSQL truly concurrent).
    queues = [ClaimQueue(session_factory), ClaimQueue(session_factory)]
    users = list(range(20_000, 20_300))
    results = await asyncio.gather(*(tap(queues[i % 2], drop, u) for i, u in enumerate(users)))

    statuses = Counter(r.result.status for r in results)
    assert statuses == {ClaimStatus.CLAIMED: 100, ClaimStatus.SOLD_OUT: 200}
    won = [
        u for u, r in zip(users, results, strict=True) if r.result.status is ClaimStatus.CLAIMED
    ]
    assert sorted(await issued(session, drop)) == sorted(won)  # one each, to the winners
    assert len({r.result.code for r in results if r.result.code}) == 100
    assert sum(r.result.sold_out_now for r in results) == 1
    stored = await session.execute(
        select(CouponDrop.claimed, CouponDrop.status).where(CouponDrop.id == drop)
    )
    assert tuple(stored.one()) == (100, "sold_out")
    assert await deliveries(session) == 100  # each code's delivery, written with its claim
    assert await session.scalar(select(func.count()).select_from(User)) == 300  # refreshed


async def test_first_come_first_served_within_a_batch(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    drop = (await new_drop(session, quantity=3)).id
    queue = ClaimQueue(session_factory)
    users = [30_001, 30_002, 30_003, 30_004, 30_005]
    results = await asyncio.gather(*(tap(queue, drop, u) for u in users))
    assert [r.result.status for r in results] == [ClaimStatus.CLAIMED] * 3 + [
        ClaimStatus.SOLD_OUT
    ] * 2
    assert [r.result.left for r in results] == [2, 1, 0, 0, 0]


async def test_a_batch_with_a_repeat_tap_and_an_ended_drop_answers_each(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    live = (await new_drop(session, quantity=5)).id
    ended = (await new_drop(session, title="Gone", quantity=5)).id
    assert await drops.end_drop(session, drop_id=ended, now=T0)
    queue = ClaimQueue(session_factory)
    # All waiting together: the writer takes them as one batch.
    a1, a2, b, c, missing = await asyncio.gather(
        tap(queue, live, 40_001),
        tap(queue, live, 40_001),  # the same member's second tap
        tap(queue, live, 40_002),
        tap(queue, ended, 40_003),
        tap(queue, 999_999, 40_004),
    )
    assert a1.result.status is ClaimStatus.CLAIMED
    assert a2.result.status is ClaimStatus.LIMIT_REACHED  # what a second tap always gets
    assert b.result.status is ClaimStatus.CLAIMED
    assert c.result.status is ClaimStatus.ENDED
    assert missing.result.status is ClaimStatus.NOT_FOUND
    assert sorted(await issued(session, live)) == [40_001, 40_002]
    assert await issued(session, ended) == []


async def test_the_member_chosen_language_comes_with_the_answer(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    drop = (await new_drop(session, quantity=5)).id
    queue = ClaimQueue(session_factory)
    first = await tap(queue, drop, 50_001)
    assert first.language is None
    user = await session.get(User, 50_001)
    assert user is not None
    user.language = "zh"
    await session.commit()
    again = await tap(ClaimQueue(session_factory), drop, 50_001)
    assert (again.result.status, again.language) == (ClaimStatus.LIMIT_REACHED, "zh")


async def test_a_drop_paid_with_points_is_claimed_tap_by_tap(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    drop = (await new_drop(session, quantity=5, cost_points=100)).id
    queue = ClaimQueue(session_factory)
    for user_id in (60_001, 60_002):  # the members exist, with no points yet
        assert (await tap(queue, drop, user_id)).result.status is ClaimStatus.INSUFFICIENT_POINTS
    session.add(Member(user_id=60_002, balance=150, earned=150, updated_at=T0))
    await session.commit()
    poor, rich = await asyncio.gather(tap(queue, drop, 60_001), tap(queue, drop, 60_002))
    assert poor.result.status is ClaimStatus.INSUFFICIENT_POINTS
    assert (rich.result.status, rich.result.cost) == (ClaimStatus.CLAIMED, 100)
    assert await session.scalar(select(Member.balance).where(Member.user_id == 60_002)) == 50


async def test_a_batch_that_fails_is_claimed_tap_by_tap(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drop = (await new_drop(session, quantity=2)).id

    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the batch statement failed")

    monkeypatch.setattr(drops, "claim_many", broken)
    queue = ClaimQueue(session_factory)
    results = await asyncio.gather(*(tap(queue, drop, u) for u in (70_001, 70_002, 70_003)))
    assert [r.result.status for r in results] == [
        ClaimStatus.CLAIMED,
        ClaimStatus.CLAIMED,
        ClaimStatus.SOLD_OUT,
    ]
    assert sorted(await issued(session, drop)) == [70_001, 70_002]
