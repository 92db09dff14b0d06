"""The outbox on SQLite and PostgreSQL: dedupe, lane order, claims that never overlap,
leases, rate pauses, retries and the final states."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import outbox
from storage.engine import create_engine, create_session_factory
from storage.models import OutboxMessage, RatePause, Ticket, User
from storage.outbox import Claimed
from tests.conftest import T0

LEASE = timedelta(seconds=60)
BIG_CHAT = 5_000_000_000  # Telegram ids exceed 32 bits
GROUP = -1001234567890


async def add(session: AsyncSession, lane: str, **kwargs: Any) -> int:
    kwargs.setdefault("kind", "text")
    kwargs.setdefault("now", T0)
    new_id = await outbox.enqueue(session, lane=lane, **kwargs)
    await session.commit()
    assert new_id is not None
    return new_id


async def claim_ids(session: AsyncSession, worker: str = "w1", **kwargs: Any) -> list[int]:
    kwargs.setdefault("now", T0)
    kwargs.setdefault("lease", LEASE)
    return [c.id for c in await outbox.claim(session, worker=worker, **kwargs)]


async def load(session: AsyncSession, row_id: int) -> OutboxMessage:
    row = await session.get(OutboxMessage, row_id, populate_existing=True)
    await session.commit()
    assert row is not None
    return row


async def test_enqueue_dedupes_and_claim_returns_the_row(session: AsyncSession) -> None:
    first = await outbox.enqueue(
        session,
        kind="card",
        lane="ticket:1",
        now=T0,
        chat_id=GROUP,
        payload={"text": "hello", "n": [1, 2]},
        dedupe_key="card:1",
        priority=2,
    )
    assert first is not None
    again = await outbox.enqueue(
        session, kind="card", lane="ticket:1", now=T0, dedupe_key="card:1"
    )
    assert again is None
    # Rows without a key never collide.
    assert await outbox.enqueue(session, kind="note", lane="x", now=T0) is not None
    assert await outbox.enqueue(session, kind="note", lane="y", now=T0) is not None
    await session.commit()
    assert (
        await outbox.enqueue(session, kind="card", lane="z", now=T0, dedupe_key="card:1") is None
    )
    await session.commit()

    claimed = await outbox.claim(session, worker="w1", now=T0, lease=LEASE)
    assert len(claimed) == 3
    card = claimed[-1]  # priority 2 sorts last
    assert card == Claimed(
        id=first,
        kind="card",
        lane="ticket:1",
        lane_order=1,
        chat_id=GROUP,
        priority=2,
        ticket_id=None,
        ticket_message_id=None,
        payload={"text": "hello", "n": [1, 2]},
        dedupe_key="card:1",
        attempts=1,
        created_at=T0,
    )
    assert card.created_at.tzinfo is not None
    assert all(c.payload == {} for c in claimed[:2])  # NULL payload reads as {}
    row = await load(session, first)
    assert (row.status, row.claimed_by, row.lease_until) == ("sending", "w1", T0 + LEASE)


async def test_enqueue_leaves_the_transaction_to_the_caller(session: AsyncSession) -> None:
    assert await outbox.enqueue(session, kind="text", lane="a", now=T0, dedupe_key="k")
    await session.rollback()
    assert (await outbox.backlog(session))["pending"] == 0
    assert await outbox.enqueue(session, kind="text", lane="a", now=T0, dedupe_key="k")


async def test_a_lane_goes_out_in_order(session: AsyncSession) -> None:
    # An earlier row that is not yet due still blocks the lane.
    a1 = await add(session, "a", delay=timedelta(seconds=30))
    a2 = await add(session, "a")
    assert await claim_ids(session) == []
    assert await claim_ids(session, now=T0 + timedelta(seconds=30)) == [a1]
    # While a1 is being sent, a2 waits.
    assert await claim_ids(session, now=T0 + timedelta(seconds=31)) == []
    await outbox.mark_sent(session, a1, now=T0 + timedelta(seconds=31))
    assert await claim_ids(session, now=T0 + timedelta(seconds=31)) == [a2]


async def test_lane_order_zero_jumps_ahead(session: AsyncSession) -> None:
    b1 = await add(session, "b")
    b2 = await add(session, "b")
    b0 = await add(session, "b", lane_order=0, kind="topic")
    assert await claim_ids(session) == [b0]
    await outbox.mark_sent(session, b0, now=T0)
    assert await claim_ids(session) == [b1]
    await outbox.mark_sent(session, b1, now=T0)
    assert await claim_ids(session) == [b2]


async def test_priority_orders_lanes_and_limit_takes_the_most_urgent(
    session: AsyncSession,
) -> None:
    low = await add(session, "l1", priority=5)
    mid = await add(session, "l2", priority=1)
    top = await add(session, "l3", priority=0)
    mid2 = await add(session, "l4", priority=1)
    assert await claim_ids(session, limit=3) == [top, mid, mid2]
    assert await claim_ids(session) == [low]


async def test_rows_not_yet_due_are_skipped(session: AsyncSession) -> None:
    later = await add(session, "a", delay=timedelta(minutes=5))
    due = await add(session, "b")
    assert await claim_ids(session) == [due]
    await outbox.mark_sent(session, due, now=T0)
    assert await claim_ids(session, now=T0 + timedelta(minutes=4)) == []
    assert await claim_ids(session, now=T0 + timedelta(minutes=5)) == [later]


async def test_an_expired_lease_is_recovered(session: AsyncSession) -> None:
    row_id = await add(session, "a")
    assert await claim_ids(session, worker="w1", lease=timedelta(seconds=30)) == [row_id]
    assert await claim_ids(session, worker="w2", now=T0 + timedelta(seconds=29)) == []
    assert await claim_ids(session, worker="w2", now=T0 + timedelta(seconds=31)) == [row_id]
    row = await load(session, row_id)
    assert (row.status, row.claimed_by, row.attempts) == ("sending", "w2", 2)
    assert row.lease_until == T0 + timedelta(seconds=31) + LEASE


@pytest.fixture
async def factories(engine: AsyncEngine) -> AsyncIterator[list[async_sessionmaker[AsyncSession]]]:
    """Two engines on one database, as two sender processes would have."""
    other = create_engine(engine.url.render_as_string(hide_password=False))
    yield [create_session_factory(engine), create_session_factory(other)]
    await other.dispose()


async def _race(
    factories: list[async_sessionmaker[AsyncSession]], workers: int, limit: int
) -> list[list[Claimed]]:
    async def one(n: int) -> list[Claimed]:
        async with factories[n % len(factories)]() as s:
            return await outbox.claim(s, worker=f"w{n}", now=T0, lease=LEASE, limit=limit)

    batches = list(await asyncio.gather(*(one(n) for n in range(workers))))
    # PostgreSQL may run an `IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` subquery once per
    # outer row, each run skipping what the other senders locked meanwhile: far more than
    # `limit` rows then. The candidates must be picked once.
    assert all(len(batch) <= limit for batch in batches), [len(b) for b in batches]
    return batches


async def test_racing_senders_never_share_a_row(
    factories: list[async_sessionmaker[AsyncSession]],
) -> None:
    async with factories[0]() as s:
        ids = [
            await outbox.enqueue(s, kind="text", lane=f"user:{i}", now=T0, chat_id=i)
            for i in range(200)
        ]
        ids.append(await outbox.enqueue(s, kind="text", lane="late", now=T0, delay=LEASE))
        await s.commit()
    due = set(ids[:200])

    seen: list[int] = []
    for _ in range(20):
        batches = await _race(factories, 2, 50)
        got = [c.id for batch in batches for c in batch]
        if not got:
            break
        seen += got
    assert len(seen) == len(set(seen)), "a row was claimed twice"
    assert set(seen) == due


async def test_racing_senders_keep_one_row_of_a_lane_in_flight(
    factories: list[async_sessionmaker[AsyncSession]],
) -> None:
    async with factories[0]() as s:
        lanes: dict[str, list[int]] = {}
        for _ in range(4):
            for lane in range(50):
                row_id = await outbox.enqueue(s, kind="text", lane=f"l{lane}", now=T0)
                assert row_id is not None
                lanes.setdefault(f"l{lane}", []).append(row_id)
        await s.commit()

    order: dict[str, list[int]] = {}
    for _ in range(10):
        batches = await _race(factories, 4, 17)
        got = [c for batch in batches for c in batch]
        if not got:
            break
        assert len({c.lane for c in got}) == len(got), "two rows of one lane in flight"
        for c in got:
            order.setdefault(c.lane, []).append(c.id)
        async with factories[1]() as s:
            for c in got:
                await outbox.mark_sent(s, c.id, now=T0)
    assert order == lanes


async def test_rate_pauses_hold_rows_back(session: AsyncSession) -> None:
    user = await add(session, "u", chat_id=BIG_CHAT)
    group = await add(session, "g", chat_id=GROUP)
    none = await add(session, "n")
    await outbox.pause(session, f"chat:{BIG_CHAT}", until=T0 + timedelta(seconds=10))
    await outbox.pause(session, f"chat:{GROUP}", until=T0 - timedelta(seconds=1))  # over
    assert await claim_ids(session) == [group, none]
    await outbox.retry_later(session, group, at=T0, error=None, count_attempt=False)
    await outbox.retry_later(session, none, at=T0, error=None, count_attempt=False)

    await outbox.pause(session, "global", until=T0 + timedelta(seconds=20))
    assert await claim_ids(session, now=T0 + timedelta(seconds=15)) == []
    assert await claim_ids(session, now=T0 + timedelta(seconds=20)) == [user, group, none]


async def test_pause_keeps_the_later_time(session: AsyncSession) -> None:
    async def until() -> Any:
        value = await session.scalar(select(RatePause.until).where(RatePause.scope == "global"))
        await session.commit()
        return value

    await outbox.pause(session, "global", until=T0 + timedelta(seconds=60))
    await outbox.pause(session, "global", until=T0 + timedelta(seconds=30))
    assert await until() == T0 + timedelta(seconds=60)
    await outbox.pause(session, "global", until=T0 + timedelta(seconds=90))
    assert await until() == T0 + timedelta(seconds=90)


async def test_retry_later(session: AsyncSession) -> None:
    row_id = await add(session, "a")
    blocked = await add(session, "a")
    assert await claim_ids(session) == [row_id]
    # Not the row's fault (429, pacing): the attempt is given back.
    await outbox.retry_later(session, row_id, at=T0, error=None, count_attempt=False)
    row = await load(session, row_id)
    assert (row.status, row.attempts, row.claimed_by, row.lease_until) == (
        "pending",
        0,
        None,
        None,
    )

    assert await claim_ids(session) == [row_id]
    at = T0 + timedelta(seconds=8)
    await outbox.retry_later(session, row_id, at=at, error="timeout")
    row = await load(session, row_id)
    assert (row.status, row.attempts, row.last_error, row.next_attempt_at) == (
        "pending",
        1,
        "timeout",
        at,
    )
    # The waiting row still heads its lane.
    assert await claim_ids(session, now=T0 + timedelta(seconds=7)) == []
    claimed = await outbox.claim(session, worker="w1", now=at, lease=LEASE)
    assert [(c.id, c.attempts) for c in claimed] == [(row_id, 2)]
    await outbox.retry_later(session, row_id, at=at, error=None, count_attempt=False)
    row = await load(session, row_id)
    assert (row.attempts, row.last_error) == (1, "timeout")  # None keeps the last error

    # A row another sender already finished is not brought back.
    assert await claim_ids(session, now=at) == [row_id]
    await outbox.mark_sent(session, row_id, now=at)
    await outbox.retry_later(session, row_id, at=at, error="late")
    assert (await load(session, row_id)).status == "sent"
    assert await claim_ids(session, now=at) == [blocked]


async def test_final_states(session: AsyncSession) -> None:
    sent, failed, dropped = [await add(session, lane) for lane in ("a", "b", "c")]
    waiting = await add(session, "d", delay=timedelta(hours=1))
    assert await claim_ids(session) == [sent, failed, dropped]
    await outbox.retry_later(session, sent, at=T0, error="timeout")
    assert await claim_ids(session) == [sent]
    later = T0 + timedelta(seconds=3)
    await outbox.mark_sent(session, sent, now=later)
    await outbox.mark_failed(session, failed, error="Bad Request: chat not found", now=later)
    await outbox.mark_dropped(session, dropped, reason="message deleted", now=later)

    row = await load(session, sent)
    assert (row.status, row.sent_at, row.lease_until, row.last_error) == (
        "sent",
        later,
        None,
        None,
    )
    assert row.attempts == 2
    row = await load(session, failed)
    assert (row.status, row.last_error, row.sent_at) == (
        "failed",
        "Bad Request: chat not found",
        None,
    )
    row = await load(session, dropped)
    assert (row.status, row.last_error) == ("dropped", "message deleted")
    assert await outbox.backlog(session) == {
        "pending": 1,
        "sending": 0,
        "sent": 1,
        "failed": 1,
        "dropped": 1,
    }
    assert await claim_ids(session, now=later) == []
    assert (await load(session, waiting)).status == "pending"


async def test_drop_lane(session: AsyncSession) -> None:
    in_flight = await add(session, "user:1", kind="relay")
    relays = [await add(session, "user:1", kind="relay") for _ in range(2)]
    ack = await add(session, "user:1", kind="ack")
    other = await add(session, "user:2", kind="relay")
    assert await claim_ids(session) == [in_flight, other]

    dropped = await outbox.drop_lane(session, "user:1", reason="blocked", now=T0, kinds={"relay"})
    assert dropped == 2
    assert [(await load(session, i)).status for i in relays] == ["dropped", "dropped"]
    assert (await load(session, relays[0])).last_error == "blocked"
    assert (await load(session, ack)).status == "pending"
    assert (await load(session, in_flight)).status == "sending"  # in flight: left to finish
    assert await outbox.drop_lane(session, "user:1", reason="blocked", now=T0) == 1
    assert (await load(session, ack)).status == "dropped"
    assert (await load(session, other)).status == "sending"
    assert await outbox.drop_lane(session, "user:3", reason="blocked", now=T0) == 0


async def test_has_pending(session: AsyncSession) -> None:
    assert await outbox.has_pending(session, ticket_id=7, kind="card") is False
    await session.rollback()
    # ticket_id references tickets: build one to point at.
    session.add(User(id=42, first_seen=T0, last_seen=T0))
    await session.flush()
    ticket = Ticket(user_id=42, reason="ask", lang="en", opened_at=T0)
    session.add(ticket)
    await session.flush()
    await outbox.enqueue(session, kind="card", lane="t", now=T0, ticket_id=ticket.id)
    await session.commit()
    assert await outbox.has_pending(session, ticket_id=ticket.id, kind="card") is True
    assert await outbox.has_pending(session, ticket_id=ticket.id, kind="note") is False
    await session.commit()
    assert len(await outbox.claim(session, worker="w", now=T0, lease=LEASE)) == 1
    # Being sent, it may carry an older state: a new edit must be queued.
    assert await outbox.has_pending(session, ticket_id=ticket.id, kind="card") is False


async def test_next_due(session: AsyncSession) -> None:
    assert await outbox.next_due(session, now=T0) is None
    a1 = await add(session, "a", delay=timedelta(seconds=40))
    await add(session, "a")  # due now, but behind a1
    assert await outbox.next_due(session, now=T0) == T0 + timedelta(seconds=40)
    await add(session, "b", chat_id=BIG_CHAT, delay=timedelta(seconds=5))
    assert await outbox.next_due(session, now=T0) == T0 + timedelta(seconds=5)
    await outbox.pause(session, f"chat:{BIG_CHAT}", until=T0 + timedelta(seconds=50))
    assert await outbox.next_due(session, now=T0) == T0 + timedelta(seconds=40)

    at = T0 + timedelta(seconds=40)
    assert await claim_ids(session, now=at, lease=timedelta(seconds=30)) == [a1]
    assert await outbox.next_due(session, now=at) == T0 + timedelta(seconds=50)
    await outbox.pause(session, f"chat:{BIG_CHAT}", until=T0 + timedelta(seconds=90))
    assert await outbox.next_due(session, now=at) == at + timedelta(seconds=30)  # the lease
    await outbox.pause(session, "global", until=T0 + timedelta(seconds=200))
    assert await outbox.next_due(session, now=at) == T0 + timedelta(seconds=200)


def test_backoff_bounds() -> None:
    mid = lambda: 0.5  # noqa: E731
    assert outbox.backoff(1, rand=mid) == timedelta(seconds=1)
    assert outbox.backoff(0, rand=mid) == timedelta(seconds=1)
    assert outbox.backoff(4, rand=mid) == timedelta(seconds=8)
    assert outbox.backoff(4, base=2, rand=mid) == timedelta(seconds=16)
    assert outbox.backoff(20, rand=mid) == timedelta(seconds=300)
    assert outbox.backoff(10_000, rand=mid) == timedelta(seconds=300)
    assert outbox.backoff(4, rand=lambda: 0.0) == timedelta(seconds=8 * 0.8)
    assert outbox.backoff(4, rand=lambda: 1.0) == timedelta(seconds=8 * 1.2)
    assert outbox.backoff(30, cap=60, rand=lambda: 1.0) == timedelta(seconds=72)
    for attempts in range(1, 15):
        seconds = outbox.backoff(attempts).total_seconds()
        expected = min(300.0, 2.0 ** (attempts - 1))
        assert expected * 0.8 <= seconds <= expected * 1.2


async def test_claim_copes_with_a_few_thousand_rows(session: AsyncSession) -> None:
    lanes = 700
    expected: dict[str, list[int]] = {}
    for n in range(2_000):
        lane = f"user:{n % lanes}"
        row_id = await outbox.enqueue(
            session, kind="text", lane=lane, now=T0, chat_id=n % lanes, priority=n % 3
        )
        assert row_id is not None
        expected.setdefault(lane, []).append(row_id)
    # Some history, as in production: finished rows must not slow the lane check down.
    for n in range(1_000):
        await outbox.enqueue(session, kind="text", lane=f"user:{n % lanes}", now=T0)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id > max(max(ids) for ids in expected.values()))
        .values(status="sent")
    )
    await session.commit()

    order: dict[str, list[int]] = {}
    for _ in range(100):
        claimed = await outbox.claim(session, worker="w", now=T0, lease=LEASE, limit=200)
        if not claimed:
            break
        for c in claimed:
            order.setdefault(c.lane, []).append(c.id)
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([c.id for c in claimed]))
            .values(status="sent")
        )
        await session.commit()
    assert order == expected
    assert (await outbox.backlog(session))["sent"] == 3_000


async def test_prune_deletes_old_delivered_rows_only(session: AsyncSession) -> None:
    for status in ("sent", "dropped", "failed", "pending"):
        await outbox.enqueue(session, kind="k", lane=f"l:{status}", now=T0)
    await session.commit()
    rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    for row, status in zip(rows, ("sent", "dropped", "failed", "pending"), strict=True):
        row.status = status
    await session.commit()
    assert await outbox.prune(session, before=T0) == 0  # not older than the cut-off
    assert await outbox.prune(session, before=T0 + timedelta(days=8)) == 2
    left = (await session.scalars(select(OutboxMessage.status))).all()
    assert sorted(left) == ["failed", "pending"]
