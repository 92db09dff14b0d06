"""The points ledger on SQLite and PostgreSQL: balance == SUM(delta), never negative, a
reference applies once, admin adjustments need a reason, tiers follow earned points."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from community import points
from community.checkins import week_start
from community.points import Change, ChangeCode, Reason
from community.tiers import DEFAULT_TIERS
from storage.models import Member, PointsEntry, User
from tests.community import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    SHANGHAI,
    add_users,
    count,
    days,
    member,
    member_lock,
    race,
    rows,
)
from tests.conftest import T0


async def give(
    session: AsyncSession,
    delta: int,
    reason: Reason = Reason.REWARD,
    ref: str = "r1",
    *,
    user_id: int = ALICE,
    at: timedelta = timedelta(0),
    commit: bool = True,
) -> Change:
    return await points.apply(
        session,
        user_id=user_id,
        delta=delta,
        reason=reason,
        ref=ref,
        now=T0 + at,
        tiers=DEFAULT_TIERS,
        commit=commit,
    )


async def assert_consistent(session: AsyncSession, user_id: int, balance: int) -> None:
    """The cached balance is the ledger's sum, and is what the test expects."""
    assert (await member(session, user_id)).balance == balance
    assert await points.balance_from_ledger(session, user_id) == balance
    await session.rollback()


async def test_ensure_member_creates_a_zero_row_once(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    created = await points.ensure_member(session, ALICE, T0)
    assert (created.balance, created.earned, created.tier, created.makeup_cards) == (0, 0, 0, 0)
    await session.commit()
    again = await points.ensure_member(session, ALICE, T0 + days(1))
    assert again.updated_at == T0  # found, not replaced
    await session.commit()
    assert await count(session, Member) == 1


async def test_the_balance_is_the_sum_of_the_ledger(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    assert await points.balance_from_ledger(session, ALICE) == 0

    steps = [
        (await give(session, 100, Reason.CHECKIN, "checkin:2026-11-20"), 100, "ok"),
        (await give(session, 50, Reason.BONUS, "streak7:2026-11-20"), 150, "ok"),
        (await give(session, -120, Reason.REDEEM, "drop:1"), 30, "ok"),
        (await give(session, -31, Reason.REDEEM, "drop:2"), 30, "insufficient"),
        (await give(session, -120, Reason.REDEEM, "drop:1"), 30, "duplicate"),
        (await give(session, -30, Reason.EXPIRY, "2026"), 0, "ok"),
        (await give(session, -1, Reason.MAKEUP, "card:1"), 0, "insufficient"),
        (await give(session, 7, Reason.REDEEM, "refund:drop:1"), 7, "ok"),
    ]
    for change, balance, code in steps:
        assert (change.balance, change.reason_code) == (balance, code)
        assert change.applied == (code == "ok")
    await assert_consistent(session, ALICE, 7)

    # Earned counts check-ins and bonuses, not a refund of spent points.
    alice = await member(session, ALICE)
    assert alice.earned == 150 and alice.updated_at == T0
    ledger = await rows(session, PointsEntry)
    assert [(e.reason, e.ref, e.delta) for e in ledger] == [
        ("checkin", "checkin:2026-11-20", 100),
        ("bonus", "streak7:2026-11-20", 50),
        ("redeem", "drop:1", -120),
        ("expiry", "2026", -30),
        ("redeem", "refund:drop:1", 7),
    ]


async def test_a_reference_applies_once(session: AsyncSession) -> None:
    await add_users(session, ALICE, BOB)
    first = await give(session, 10, Reason.CHECKIN, "checkin:2026-11-20")
    again = await give(session, 10, Reason.CHECKIN, "checkin:2026-11-20", at=days(0.1))
    assert (first.applied, first.reason_code) == (True, ChangeCode.OK)
    assert again == Change(False, 10, 10, 0, False, ChangeCode.DUPLICATE)
    # The reference is per user and per reason.
    assert (await give(session, 10, Reason.BONUS, "checkin:2026-11-20")).applied
    assert (await give(session, 10, Reason.CHECKIN, "checkin:2026-11-20", user_id=BOB)).applied
    await assert_consistent(session, ALICE, 20)
    await assert_consistent(session, BOB, 10)
    assert await count(session, PointsEntry) == 3


async def test_a_change_must_be_nonzero_with_a_short_ref(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    with pytest.raises(ValueError, match="must not be 0"):
        await give(session, 0)
    with pytest.raises(ValueError, match="ref"):
        await give(session, 1, ref="")
    with pytest.raises(ValueError, match="ref"):
        await give(session, 1, ref="x" * 65)
    assert (await give(session, 1, ref="x" * 64)).applied


async def test_racing_debits_never_overdraw(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    """Two redemptions at once where only one fits: one succeeds, the other is refused."""
    await add_users(session, ALICE)
    await give(session, 100)

    def redeem(ref: str) -> Callable[[], Awaitable[Change]]:
        async def call() -> Change:
            async with session_factory() as s:
                return await give(s, -60, Reason.REDEEM, ref, at=days(0.1))

        return call

    results = await race(engine, member_lock(ALICE), redeem("drop:1"), redeem("drop:2"))
    assert sorted(r.reason_code for r in results) == ["insufficient", "ok"]
    assert {r.balance for r in results} == {40}
    await assert_consistent(session, ALICE, 40)
    assert await count(session, PointsEntry, PointsEntry.reason == "redeem") == 1


async def test_racing_credits_of_one_reference_count_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    """Both pass the duplicate check before either writes: the UNIQUE guard decides, and
    the loser's balance update is rolled back with it."""
    await add_users(session, ALICE)
    await points.ensure_member(session, ALICE, T0)
    await session.commit()

    async def reward() -> Change:
        async with session_factory() as s:
            return await give(s, 25, Reason.REWARD, "campaign:1")

    results = await race(engine, member_lock(ALICE), reward, reward)
    assert sorted(r.reason_code for r in results) == ["duplicate", "ok"]
    await assert_consistent(session, ALICE, 25)
    assert (await member(session, ALICE)).earned == 25


async def test_commit_false_combines_with_the_callers_write(session: AsyncSession) -> None:
    await add_users(session, ALICE, BOB)
    await give(session, 100)

    # Success: the caller's own write and the debit commit together.
    change = await give(session, -40, Reason.REDEEM, "drop:1", commit=False)
    assert change.applied and change.balance == 60
    await session.execute(
        insert(User).values(id=CAROL, first_name="Carol", first_seen=T0, last_seen=T0)
    )
    await session.rollback()  # the caller changes its mind: nothing of it stays
    await assert_consistent(session, ALICE, 100)

    change = await give(session, -40, Reason.REDEEM, "drop:1", commit=False)
    await session.commit()
    await assert_consistent(session, ALICE, 60)

    # Refused: the whole transaction is rolled back, the caller's pending write included.
    await session.execute(
        insert(User).values(id=CAROL, first_name="Carol", first_seen=T0, last_seen=T0)
    )
    refused = await give(session, -61, Reason.REDEEM, "drop:2", commit=False)
    assert refused.reason_code == "insufficient" and refused.balance == 60
    await session.commit()
    assert await count(session, User, User.id == CAROL) == 0
    await assert_consistent(session, ALICE, 60)


async def test_an_admin_adjustment_needs_a_reason(session: AsyncSession) -> None:
    await add_users(session, ALICE)

    async def adjust(delta: int, reason: str) -> Change:
        return await points.adjust(
            session,
            user_id=ALICE,
            delta=delta,
            reason_text=reason,
            admin_id=ADMIN,
            now=T0,
            tiers=DEFAULT_TIERS,
        )

    for empty in ("", "   "):
        with pytest.raises(ValueError, match="reason"):
            await adjust(10, empty)
    assert await count(session, PointsEntry) == 0

    plus = await adjust(600, " compensation for order 123 ")
    assert (plus.applied, plus.balance, plus.earned, plus.tier, plus.tier_up) == (
        True,
        600,
        600,
        1,
        True,
    )
    again = await adjust(600, "compensation for order 123")  # each call is its own change
    assert again.applied and again.balance == 1200
    minus = await adjust(-200, "mistaken grant")
    assert (minus.balance, minus.earned) == (1000, 1200)  # a deduction is not un-earning
    assert (await adjust(-1001, "too much")).reason_code == "insufficient"
    await assert_consistent(session, ALICE, 1000)

    entries = await rows(session, PointsEntry)
    assert [(e.delta, e.note, e.by_id, e.reason) for e in entries] == [
        (600, "compensation for order 123", ADMIN, "adjust"),
        (600, "compensation for order 123", ADMIN, "adjust"),
        (-200, "mistaken grant", ADMIN, "adjust"),
    ]
    assert len({e.ref for e in entries}) == 3


async def test_the_tier_follows_earned_points_and_flags_a_rise(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    below = await give(session, 499, ref="a")
    assert (below.tier, below.tier_up) == (0, False)
    up = await give(session, 1, ref="b")
    assert (up.tier, up.tier_up) == (1, True)
    assert (await member(session, ALICE)).tier == 1
    same = await give(session, 10, ref="c")
    assert (same.tier, same.tier_up) == (1, False)
    # Spending keeps the tier (it is judged on earned points).
    spent = await give(session, -510, Reason.REDEEM, ref="d")
    assert (spent.balance, spent.tier, spent.tier_up) == (0, 1, False)
    # Two tiers at once is one rise to the higher.
    jump = await give(session, 5000, ref="e")
    assert (jump.tier, jump.tier_up) == (3, True)


async def test_history_is_newest_first(session: AsyncSession) -> None:
    await add_users(session, ALICE, BOB)
    for i in range(5):
        await give(session, i + 1, ref=f"r{i}", at=timedelta(minutes=i))
    await give(session, 9, ref="bob", user_id=BOB)
    latest = await points.history(session, ALICE, limit=3)
    assert [e.delta for e in latest] == [5, 4, 3]
    await session.rollback()


async def test_leaderboard_weekly_and_all_time(session: AsyncSession) -> None:
    await add_users(session, ALICE, BOB, CAROL)
    since = week_start(T0, SHANGHAI)  # T0 is a Friday
    assert since == T0 - days(4) - timedelta(hours=10)  # Monday 00:00 in Shanghai

    await give(session, 1000, ref="old", at=-days(10))  # Alice, long ago
    await give(session, 10, Reason.CHECKIN, "checkin:w", at=-days(1))
    await give(session, 200, Reason.CHECKIN, "checkin:w", user_id=BOB, at=-days(2))
    await give(session, 500, ref="old", user_id=CAROL, at=-days(5))  # last week
    await give(session, -100, Reason.REDEEM, "drop:1", user_id=CAROL)  # spending: no place
    await give(session, 50, Reason.REDEEM, "refund:1", user_id=CAROL)  # a refund: no place

    weekly = await points.leaderboard(session, since=since)
    assert weekly == [(BOB, "Bob", 200), (ALICE, "Alice", 10)]
    all_time = await points.leaderboard(session, since=None)
    assert all_time == [(ALICE, "Alice", 1010), (CAROL, "Carol", 500), (BOB, "Bob", 200)]
    assert await points.leaderboard(session, since=None, limit=1) == [(ALICE, "Alice", 1010)]
    assert await points.leaderboard(session, since=T0 + days(1)) == []


# --- bounds: no balance near what a 64-bit column holds ----------------------------------


async def test_a_credit_past_the_points_ceiling_is_refused(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    await give(session, points.MAX_ADJUSTMENT, ref="big")
    await session.execute(
        Member.__table__.update()  # type: ignore[attr-defined]
        .where(Member.user_id == ALICE)
        .values(balance=points.MAX_POINTS - 5, earned=points.MAX_POINTS - 5)
    )
    await session.commit()
    refused = await give(session, 10, ref="over")
    assert (refused.applied, refused.reason_code) == (False, ChangeCode.TOO_LARGE)
    stored = await member(session, ALICE)
    assert (stored.balance, stored.earned) == (points.MAX_POINTS - 5, points.MAX_POINTS - 5)
    assert isinstance(stored.balance, int)
    assert (await give(session, 5, ref="fits")).applied


async def test_an_adjustment_beyond_the_bound_is_refused(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    for delta in (points.MAX_ADJUSTMENT + 1, -points.MAX_ADJUSTMENT - 1, 2**63 - 1):
        with pytest.raises(ValueError, match="within"):
            await points.adjust(
                session,
                user_id=ALICE,
                delta=delta,
                reason_text="prize",
                admin_id=ADMIN,
                now=T0,
                tiers=DEFAULT_TIERS,
            )
    assert await count(session, PointsEntry) == 0
