"""Coupon drops on SQLite and PostgreSQL: creation rules, the claim's guards, and races.

The races run many sessions at once (on PostgreSQL, truly concurrent transactions); the
database must hand out exactly the quantity, never above a member's limit, and never spend
points a member does not have.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from community import drops
from community.codes import generate_codes
from community.drops import Audience, ClaimResult, ClaimStatus, DropError
from storage.engine import create_engine, create_session_factory
from storage.models import CouponCode, CouponDrop, Member, PointsEntry, User
from tests.conftest import T0

ALICE, BOB, CAROL = 5_000_000_001, 5_000_000_002, 5_000_000_003  # ids exceed 32 bits
MANAGER = 900
UNTIL = T0 + timedelta(days=30)
CODE = re.compile(r"[2-9A-HJ-NP-Z]{10}")


# --- helpers -----------------------------------------------------------------------------


async def add_users(
    session: AsyncSession, ids: Sequence[int], *, first_seen: datetime = T0
) -> None:
    rows = [
        {"id": i, "first_name": f"u{i}", "first_seen": first_seen, "last_seen": T0} for i in ids
    ]
    await session.execute(insert(User), rows)
    await session.commit()


async def add_member(session: AsyncSession, user_id: int, balance: int) -> None:
    session.add(Member(user_id=user_id, balance=balance, earned=balance, updated_at=T0))
    await session.commit()


async def new_drop(session: AsyncSession, **overrides: Any) -> CouponDrop:
    kwargs: dict[str, Any] = {
        "title": "Winter drop",
        "discount": "10% off",
        "quantity": 10,
        "valid_until": UNTIL,
        "starts_at": T0,
        "created_by": MANAGER,
        "now": T0,
    }
    kwargs.update(overrides)
    return await drops.create_drop(session, **kwargs)


async def codes_of(session: AsyncSession, drop_id: int) -> list[CouponCode]:
    query = (
        select(CouponCode)
        .where(CouponCode.drop_id == drop_id)
        .order_by(CouponCode.seq)
        .execution_options(populate_existing=True)
    )
    result = list(await session.scalars(query))
    await session.commit()
    return result


async def get_drop(session: AsyncSession, drop_id: int) -> CouponDrop:
    session.expire_all()
    drop = await session.get_one(CouponDrop, drop_id)
    await session.commit()
    return drop


async def claim(
    session: AsyncSession, drop_id: int, user_id: int, *, now: datetime = T0, tier: int = 0
) -> ClaimResult:
    return await drops.claim(session, drop_id=drop_id, user_id=user_id, now=now, tier=tier)


async def balance(session: AsyncSession, user_id: int) -> int:
    value = await session.scalar(select(Member.balance).where(Member.user_id == user_id))
    await session.commit()
    assert value is not None
    return value


# --- creating ----------------------------------------------------------------------------


async def test_validation_errors_explain_themselves(session: AsyncSession) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"title": "  "}, "needs a title"),
        ({"title": "x" * 129}, "at most 128"),
        ({"discount": ""}, "needs a discount text"),
        ({"quantity": 0}, "quantity must be from 1 to 100,000, not 0"),
        ({"quantity": 100_001}, "not 100,001"),
        ({"per_user_limit": 0}, "per-user limit must be from 1 to 100, not 0"),
        ({"valid_days": 7}, "not both"),
        ({"valid_until": None, "valid_days": 0}, "1 to 3650 days"),
        ({"valid_until": T0 - timedelta(days=1)}, "would expire .* before they can be claimed"),
        (
            {"valid_until": T0 + timedelta(hours=1), "starts_at": T0 + timedelta(hours=2)},
            "before they can be claimed",
        ),
        ({"audience": "vip"}, "unknown audience 'vip': use 'all', 'tier:N'"),
        ({"cost_points": 0}, "price in points must be from 1 to 1,000,000, not 0"),
        ({"codes": ["A1", "A2", "A1", "A3", "A2"], "quantity": 3}, "more than once.*A1, A2"),
        ({"codes": ["X" * 65], "quantity": 1}, "longer than 64"),
    ]
    for overrides, message in cases:
        with pytest.raises(DropError, match=message):
            await new_drop(session, **overrides)
    assert await session.scalar(select(func.count()).select_from(CouponDrop)) == 0


def test_audience_specs() -> None:
    assert Audience.parse("all") == ("all", None)
    assert Audience.parse(" Tier:2 ") == ("tier", 2)
    assert Audience.parse("tier>=3") == ("tier", 3)
    assert Audience.parse("new") == ("new", None)
    assert Audience.parse("tier>=3").spec == "tier:3"
    with pytest.raises(DropError, match="unknown audience"):
        Audience.parse("tier:x")


async def test_generated_codes_are_unique_and_unguessable(session: AsyncSession) -> None:
    drop = await new_drop(session, quantity=500)
    assert (drop.status, drop.codes_source, drop.claimed) == ("live", "generated", 0)
    codes = await codes_of(session, drop.id)
    assert [c.seq for c in codes] == list(range(1, 501))
    assert len({c.code for c in codes}) == 500
    assert all(CODE.fullmatch(c.code) for c in codes)
    assert all(c.user_id is None for c in codes)


async def test_scheduled_when_it_starts_later(session: AsyncSession) -> None:
    drop = await new_drop(session, starts_at=T0 + timedelta(hours=1))
    assert drop.status == "scheduled"


async def test_imported_codes_fewer_than_quantity_are_refused(session: AsyncSession) -> None:
    with pytest.raises(DropError, match="only 3 codes for a quantity of 5"):
        await new_drop(session, quantity=5, codes=["A1", "A2", "A3"])
    assert await session.scalar(select(func.count()).select_from(CouponCode)) == 0


async def test_imported_codes_are_handed_out_in_order(session: AsyncSession) -> None:
    drop = await new_drop(session, quantity=3, codes=[" S1 ", "S2", "", "S3", "S4"])
    assert drop.codes_source == "imported"
    assert [(c.seq, c.code) for c in await codes_of(session, drop.id)] == [
        (1, "S1"),
        (2, "S2"),
        (3, "S3"),
    ]  # extra codes are not stored
    await add_users(session, [ALICE])
    assert (await claim(session, drop.id, ALICE)).code == "S1"


async def test_codes_already_in_another_drop_are_refused(session: AsyncSession) -> None:
    await new_drop(session, quantity=3, codes=["S1", "S2", "S3"])
    with pytest.raises(DropError, match="2 of these codes already belong to another drop: S2, S3"):
        await new_drop(session, quantity=3, codes=["S2", "S3", "S9"])
    assert await session.scalar(select(func.count()).select_from(CouponDrop)) == 1


async def test_a_code_stored_meanwhile_by_another_drop_is_named(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pre-check passed, then another drop stored a code: the UNIQUE index refuses it."""
    await new_drop(session, quantity=2, codes=["S1", "S2"])
    real = drops._existing
    calls = 0

    async def late(session: AsyncSession, codes: Sequence[str]) -> list[str]:
        nonlocal calls
        calls += 1
        return [] if calls == 1 else await real(session, codes)

    monkeypatch.setattr(drops, "_existing", late)
    with pytest.raises(DropError, match="1 of these codes already belong to another drop: S2"):
        await new_drop(session, quantity=2, codes=["S9", "S2"])
    assert await session.scalar(select(func.count()).select_from(CouponDrop)) == 1
    assert await session.scalar(select(func.count()).select_from(CouponCode)) == 2


async def test_a_generated_code_that_exists_is_drawn_again(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = await new_drop(session, quantity=2)
    taken = [c.code for c in await codes_of(session, old.id)]
    real = generate_codes
    draws: list[list[str]] = []

    def unlucky(n: int, *, prefix: str = "", length: int = 10) -> list[str]:
        codes = real(n, prefix=prefix, length=length)
        if not draws:
            codes[-1] = taken[0]  # one chance in ~10^15, forced
        draws.append(codes)
        return codes

    monkeypatch.setattr(drops, "generate_codes", unlucky)
    drop = await new_drop(session, quantity=3)
    assert len(draws) == 2
    assert [c.code for c in await codes_of(session, drop.id)] == draws[1]


async def test_a_large_drop_stores_every_code_once(session: AsyncSession) -> None:
    began = time.perf_counter()
    drop = await new_drop(session, quantity=100_000)
    elapsed = time.perf_counter() - began
    count = await session.scalar(
        select(func.count(func.distinct(CouponCode.code))).where(CouponCode.drop_id == drop.id)
    )
    assert count == 100_000
    print(f"100,000 codes stored in {elapsed:.2f} s")  # measured in bench/, not asserted


# --- claiming ----------------------------------------------------------------------------


async def test_claim_with_a_fixed_validity(session: AsyncSession) -> None:
    await add_users(session, [ALICE])
    drop = await new_drop(session, quantity=5)
    first = (await codes_of(session, drop.id))[0]
    result = await claim(session, drop.id, ALICE, now=T0 + timedelta(minutes=1))
    assert result == ClaimResult(
        ClaimStatus.CLAIMED,
        drop.id,
        code=first.code,
        expires_at=UNTIL,
        left=4,
        sold_out_now=False,
        code_id=first.id,
    )
    row = (await codes_of(session, drop.id))[0]
    assert (row.user_id, row.user_n) == (ALICE, 1)
    assert (row.claimed_at, row.expires_at) == (T0 + timedelta(minutes=1), UNTIL)
    assert (await get_drop(session, drop.id)).claimed == 1


async def test_claim_with_a_validity_after_the_claim(session: AsyncSession) -> None:
    await add_users(session, [ALICE])
    drop = await new_drop(session, valid_until=None, valid_days=3)
    at = T0 + timedelta(hours=5)
    result = await claim(session, drop.id, ALICE, now=at)
    assert result.status == ClaimStatus.CLAIMED
    assert result.expires_at == at + timedelta(days=3)
    assert (await codes_of(session, drop.id))[0].expires_at == at + timedelta(days=3)


async def test_claim_without_validity_never_expires(session: AsyncSession) -> None:
    await add_users(session, [ALICE])
    drop = await new_drop(session, valid_until=None)
    result = await claim(session, drop.id, ALICE)
    assert (result.status, result.expires_at) == (ClaimStatus.CLAIMED, None)


async def test_per_user_limit_of_one(session: AsyncSession) -> None:
    await add_users(session, [ALICE, BOB])
    drop = await new_drop(session)
    assert (await claim(session, drop.id, ALICE)).status == ClaimStatus.CLAIMED
    again = await claim(session, drop.id, ALICE)
    assert (again.status, again.code, again.left) == (ClaimStatus.LIMIT_REACHED, None, 9)
    assert (await claim(session, drop.id, BOB)).status == ClaimStatus.CLAIMED
    assert (await get_drop(session, drop.id)).claimed == 2


async def test_per_user_limit_of_three(session: AsyncSession) -> None:
    await add_users(session, [ALICE])
    drop = await new_drop(session, per_user_limit=3)
    results = [await claim(session, drop.id, ALICE) for _ in range(4)]
    assert [r.status for r in results] == [ClaimStatus.CLAIMED] * 3 + [ClaimStatus.LIMIT_REACHED]
    assert len({r.code for r in results[:3]}) == 3
    mine = [c for c in await codes_of(session, drop.id) if c.user_id == ALICE]
    assert sorted(c.user_n for c in mine if c.user_n is not None) == [1, 2, 3]


async def test_audience_by_tier(session: AsyncSession) -> None:
    await add_users(session, [ALICE, BOB, CAROL])
    drop = await new_drop(session, audience="tier:2")
    assert drop.audience == "tier:2"
    assert (await claim(session, drop.id, ALICE, tier=1)).status == ClaimStatus.NOT_ELIGIBLE
    assert (await claim(session, drop.id, BOB, tier=2)).status == ClaimStatus.CLAIMED
    assert (await claim(session, drop.id, CAROL, tier=3)).status == ClaimStatus.CLAIMED
    assert (await get_drop(session, drop.id)).claimed == 2


async def joined_group(session: AsyncSession, user_id: int, at: datetime) -> None:
    session.add(Member(user_id=user_id, joined_group_at=at, updated_at=at))
    await session.commit()


async def test_audience_of_new_members(session: AsyncSession) -> None:
    now = T0 + timedelta(days=10)
    await add_users(session, [ALICE], first_seen=now - timedelta(days=8))  # old
    await add_users(session, [BOB], first_seen=now - timedelta(days=6, hours=23))  # new
    await joined_group(session, ALICE, now - timedelta(days=8))
    await joined_group(session, BOB, now - timedelta(days=6, hours=23))
    drop = await new_drop(session, audience="new", valid_until=None, starts_at=now, now=now)
    assert (await claim(session, drop.id, ALICE, now=now)).status == ClaimStatus.NOT_ELIGIBLE
    assert (await claim(session, drop.id, BOB, now=now)).status == ClaimStatus.CLAIMED
    # A user the bot never saw (no users row) is not eligible for any drop.
    unknown = await claim(session, drop.id, CAROL, now=now)
    assert unknown.status == ClaimStatus.NOT_ELIGIBLE


async def test_new_means_joined_the_group_lately_not_first_seen_by_the_bot(
    session: AsyncSession,
) -> None:
    """A long-time member who never spoke to the bot is first seen by their tap: not new.
    Nor is one who left and came back: their first sighting is old."""
    now = T0 + timedelta(days=10)
    lurker, returner, newcomer = 7_001, 7_002, 7_003
    await add_users(session, [lurker], first_seen=now)  # the tap made their users row
    await add_users(session, [returner], first_seen=now - timedelta(days=90))
    await add_users(session, [newcomer], first_seen=now - timedelta(days=2))
    await joined_group(session, returner, now - timedelta(days=1))
    await joined_group(session, newcomer, now - timedelta(days=2))
    drop = await new_drop(session, audience="new", valid_until=None, starts_at=now, now=now)
    for user_id, expected in (
        (lurker, ClaimStatus.NOT_ELIGIBLE),
        (returner, ClaimStatus.NOT_ELIGIBLE),
        (newcomer, ClaimStatus.CLAIMED),
    ):
        assert (await claim(session, drop.id, user_id, now=now)).status == expected, user_id


async def test_not_started_then_open_at_its_time(session: AsyncSession) -> None:
    await add_users(session, [ALICE, BOB])
    starts = T0 + timedelta(hours=1)
    drop = await new_drop(session, starts_at=starts, quantity=1)
    early = await claim(session, drop.id, ALICE, now=starts - timedelta(seconds=1))
    assert (early.status, early.starts_at, early.left) == (ClaimStatus.NOT_STARTED, starts, 1)
    assert await drops.start_due(session, now=starts - timedelta(seconds=1)) == []
    # Claims open at starts_at even if the scheduler has not flipped the drop yet...
    on_time = await claim(session, drop.id, ALICE, now=starts)
    assert (on_time.status, on_time.sold_out_now) == (ClaimStatus.CLAIMED, True)
    assert (await get_drop(session, drop.id)).status == "sold_out"
    # ...and a drop sold out before the scheduler came is not announced as started.
    assert await drops.start_due(session, now=starts) == []
    assert (await claim(session, drop.id, BOB, now=starts)).status == ClaimStatus.SOLD_OUT


async def test_start_due_starts_each_drop_once(session: AsyncSession) -> None:
    a = await new_drop(session, starts_at=T0 + timedelta(minutes=5))
    b = await new_drop(session, starts_at=T0 + timedelta(minutes=10))
    assert await drops.start_due(session, now=T0 + timedelta(minutes=5)) == [a.id]
    assert await drops.start_due(session, now=T0 + timedelta(minutes=20)) == [b.id]
    assert await drops.start_due(session, now=T0 + timedelta(minutes=30)) == []
    assert (await get_drop(session, a.id)).status == "live"


async def test_ended_drop_and_expired_coupons(session: AsyncSession) -> None:
    await add_users(session, [ALICE, BOB])
    drop = await new_drop(session)
    assert await drops.end_drop(session, drop_id=drop.id, now=T0) is True
    assert await drops.end_drop(session, drop_id=drop.id, now=T0) is False
    assert (await claim(session, drop.id, ALICE)).status == ClaimStatus.ENDED
    other = await new_drop(session, valid_until=T0 + timedelta(days=1))
    late = await claim(session, other.id, BOB, now=T0 + timedelta(days=1))
    assert late.status == ClaimStatus.ENDED


async def test_sold_out(session: AsyncSession) -> None:
    await add_users(session, [ALICE, BOB, CAROL])
    drop = await new_drop(session, quantity=2)
    first, second, third = [await claim(session, drop.id, u) for u in (ALICE, BOB, CAROL)]
    assert (first.status, first.left, first.sold_out_now) == (ClaimStatus.CLAIMED, 1, False)
    assert (second.status, second.left, second.sold_out_now) == (ClaimStatus.CLAIMED, 0, True)
    assert (third.status, third.left) == (ClaimStatus.SOLD_OUT, 0)
    stored = await get_drop(session, drop.id)
    assert (stored.status, stored.claimed) == ("sold_out", 2)
    assert await drops.end_drop(session, drop_id=drop.id, now=T0) is False
    # Someone who got one hears that first, rather than "sold out".
    assert (await claim(session, drop.id, ALICE)).status == ClaimStatus.LIMIT_REACHED


async def test_unknown_drop(session: AsyncSession) -> None:
    await add_users(session, [ALICE])
    assert (await claim(session, 12345, ALICE)).status == ClaimStatus.NOT_FOUND


async def test_shop_redemption_debits_points_in_the_claim(session: AsyncSession) -> None:
    await add_users(session, [ALICE, BOB])
    await add_member(session, ALICE, 250)
    drop = await new_drop(session, cost_points=100, per_user_limit=5)
    assert (await claim(session, drop.id, ALICE)).status == ClaimStatus.CLAIMED
    assert await balance(session, ALICE) == 150
    assert (await claim(session, drop.id, ALICE)).status == ClaimStatus.CLAIMED
    poor = await claim(session, drop.id, ALICE)
    assert poor.status == ClaimStatus.INSUFFICIENT_POINTS
    assert await balance(session, ALICE) == 50
    assert (await get_drop(session, drop.id)).claimed == 2
    ledger = (
        await session.execute(
            select(PointsEntry.delta, PointsEntry.reason, PointsEntry.ref).order_by(PointsEntry.id)
        )
    ).all()
    assert [tuple(r) for r in ledger] == [
        (-100, "redeem", f"drop:{drop.id}:1"),
        (-100, "redeem", f"drop:{drop.id}:2"),
    ]
    # No member row: no points.
    no_member = await claim(session, drop.id, BOB)
    assert no_member.status == ClaimStatus.INSUFFICIENT_POINTS


async def test_my_coupons_delivery_and_use(session: AsyncSession) -> None:
    await add_users(session, [ALICE, BOB])
    short = await new_drop(session, title="Flash", valid_until=T0 + timedelta(days=1))
    long = await new_drop(session, title="Winter", valid_until=None, valid_days=30)
    a = await claim(session, short.id, ALICE)
    b = await claim(session, long.id, ALICE, now=T0 + timedelta(hours=1))
    await claim(session, long.id, BOB)
    later = T0 + timedelta(days=2)

    mine = await drops.my_coupons(session, user_id=ALICE, now=later)
    assert [(c.code, c.title, c.expired, c.used) for c in mine] == [
        (b.code, "Winter", False, False),
        (a.code, "Flash", True, False),
    ]
    assert mine[0].expires_at == T0 + timedelta(days=30, hours=1)
    assert mine[0].discount == "10% off"

    pending = await drops.undelivered(session, user_id=ALICE)
    assert [c.code for c in pending] == [a.code, b.code]  # oldest first
    await drops.mark_delivered(session, code_id=pending[0].code_id, now=T0)
    assert [c.code for c in await drops.undelivered(session, user_id=ALICE)] == [b.code]

    assert b.code is not None
    report = await drops.mark_used(session, codes=[b.code], now=later)
    assert (report.marked, report.already_used) == (1, 0)
    mine = await drops.my_coupons(session, user_id=ALICE, now=later)
    assert [(c.used, c.expired) for c in mine] == [(True, False), (False, True)]


async def test_mark_used_in_bulk_and_stats(session: AsyncSession) -> None:
    users = list(range(1000, 1010))
    await add_users(session, users)
    drop = await new_drop(session, quantity=20, codes=[f"SHOP{i:03}" for i in range(20)])
    results = [await claim(session, drop.id, u) for u in users]
    for r in results[:4]:
        assert r.code_id is not None
        await drops.mark_delivered(session, code_id=r.code_id, now=T0)

    redeemed = [f"SHOP{i:03}" for i in range(6)] + ["SHOP000", "  ", "NOPE1", "SHOP015"]
    report = await drops.mark_used(session, codes=redeemed, now=T0 + timedelta(days=1))
    assert (report.marked, report.already_used) == (6, 0)
    assert report.unknown == ["NOPE1"]
    assert report.not_claimed == ["SHOP015"]  # redeemed but never claimed: not marked
    again = await drops.mark_used(session, codes=["SHOP001", "SHOP009"], now=T0)
    assert (again.marked, again.already_used, again.total) == (1, 1, 2)

    stats = await drops.stats(session, drop_id=drop.id)
    assert (stats.quantity, stats.claimed, stats.delivered, stats.used, stats.left) == (
        20,
        10,
        4,
        7,
        10,
    )
    with pytest.raises(DropError, match="no drop #999"):
        await drops.stats(session, drop_id=999)


# --- races -------------------------------------------------------------------------------

SESSIONS = 20


async def tap_all(
    session_factory: async_sessionmaker[AsyncSession],
    drop_id: int,
    users: Sequence[int],
    *,
    now: datetime = T0,
) -> tuple[list[ClaimResult], float]:
    """Every user taps once, up to SESSIONS at a time, each tap in its own session."""
    gate = asyncio.Semaphore(SESSIONS)

    async def tap(user_id: int) -> ClaimResult:
        async with gate, session_factory() as s:
            return await drops.claim(s, drop_id=drop_id, user_id=user_id, now=now)

    began = time.perf_counter()
    results = await asyncio.gather(*(tap(u) for u in users))
    return list(results), time.perf_counter() - began


async def test_race_many_users_never_over_issued(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    users = list(range(10_000, 12_000))
    await add_users(session, users)
    drop = await new_drop(session, quantity=300)

    results, elapsed = await tap_all(session_factory, drop.id, users)
    print(f"2,000 taps on 300 codes: {elapsed:.2f} s")

    statuses = Counter(r.status for r in results)
    assert statuses == {ClaimStatus.CLAIMED: 300, ClaimStatus.SOLD_OUT: 1700}
    assert sum(r.sold_out_now for r in results) == 1
    won = [r for r in results if r.status == ClaimStatus.CLAIMED]
    assert len({r.code for r in won}) == 300
    assert sorted(r.left for r in won if r.left is not None) == list(range(300))
    stored = await get_drop(session, drop.id)
    assert (stored.claimed, stored.status) == (300, "sold_out")
    codes = await codes_of(session, drop.id)
    holders = [c.user_id for c in codes]
    assert None not in holders and len(set(holders)) == 300
    assert all(c.user_n == 1 for c in codes)


async def test_race_one_user_tapping_fifty_times(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_users(session, [ALICE])
    drop = await new_drop(session, quantity=100, per_user_limit=2)

    results, elapsed = await tap_all(session_factory, drop.id, [ALICE] * 50)
    print(f"50 taps of one user: {elapsed:.2f} s")

    statuses = Counter(r.status for r in results)
    assert statuses == {ClaimStatus.CLAIMED: 2, ClaimStatus.LIMIT_REACHED: 48}
    assert (await get_drop(session, drop.id)).claimed == 2
    mine = [c for c in await codes_of(session, drop.id) if c.user_id == ALICE]
    assert sorted(c.user_n for c in mine if c.user_n is not None) == [1, 2]
    assert [c.seq for c in mine] == [1, 2]  # lost taps gave their slot back
    # how long it took is measured in bench/coupon_claims.py, not asserted here


async def test_race_shop_redemption_never_overspends(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await add_users(session, [ALICE])
    await add_member(session, ALICE, 200)
    drop = await new_drop(session, quantity=50, per_user_limit=10, cost_points=100)

    results, elapsed = await tap_all(session_factory, drop.id, [ALICE] * 40)
    print(f"40 shop taps of one user: {elapsed:.2f} s")

    statuses = Counter(r.status for r in results)
    assert statuses == {ClaimStatus.CLAIMED: 2, ClaimStatus.INSUFFICIENT_POINTS: 38}
    assert await balance(session, ALICE) == 0
    total = await session.scalar(
        select(func.sum(PointsEntry.delta)).where(PointsEntry.user_id == ALICE)
    )
    assert total == -200
    assert (await get_drop(session, drop.id)).claimed == 2
    # how long it took is measured in bench/coupon_claims.py, not asserted here


async def test_race_across_processes(
    session: AsyncSession, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Four engines (four bot processes, four pools) on one database; everyone taps twice."""
    users = list(range(30_000, 30_500))
    await add_users(session, users)
    drop = await new_drop(session, quantity=150)
    url = engine.url.render_as_string(hide_password=False)
    engines = [create_engine(url) for _ in range(4)]
    factories = [create_session_factory(e) for e in engines]
    gate = asyncio.Semaphore(SESSIONS)

    async def tap(i: int, user_id: int) -> ClaimResult:
        async with gate, factories[i % 4]() as s:
            return await drops.claim(s, drop_id=drop.id, user_id=user_id, now=T0)

    try:
        began = time.perf_counter()
        taps = [u for u in users for _ in range(2)]
        results = await asyncio.gather(*(tap(i, u) for i, u in enumerate(taps)))
        elapsed = time.perf_counter() - began
    finally:
        for e in engines:
            await e.dispose()
    print(f"1,000 taps from 4 engines: {elapsed:.2f} s")

    won = [r for r in results if r.status == ClaimStatus.CLAIMED]
    assert len(won) == 150
    assert {r.status for r in results} <= {
        ClaimStatus.CLAIMED,
        ClaimStatus.SOLD_OUT,
        ClaimStatus.LIMIT_REACHED,
    }
    codes = await codes_of(session, drop.id)
    holders = [c.user_id for c in codes]
    assert None not in holders and len(set(holders)) == 150
    assert (await get_drop(session, drop.id)).claimed == 150
    # how long it took is measured in bench/coupon_claims.py, not asserted here


async def test_race_several_drops_and_a_manager_ending_one(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Taps on two drops interleave with an end: each drop's numbers still add up."""
    users = list(range(20_000, 20_400))
    await add_users(session, users)
    a = await new_drop(session, quantity=50)
    b = await new_drop(session, quantity=1000)

    async def end_b() -> bool:
        await asyncio.sleep(0.01)
        async with session_factory() as s:
            return await drops.end_drop(s, drop_id=b.id, now=T0)

    (ra, _), (rb, _), ended = await asyncio.gather(
        tap_all(session_factory, a.id, users),
        tap_all(session_factory, b.id, users),
        end_b(),
    )
    assert ended is True
    assert Counter(r.status for r in ra)[ClaimStatus.CLAIMED] == 50
    won_b = sum(r.status == ClaimStatus.CLAIMED for r in rb)
    assert {r.status for r in rb} <= {ClaimStatus.CLAIMED, ClaimStatus.ENDED}
    stored = await get_drop(session, b.id)
    assert (stored.status, stored.claimed) == ("ended", won_b)
    holders = [c.user_id for c in await codes_of(session, b.id) if c.user_id is not None]
    assert len(holders) == len(set(holders)) == won_b


async def test_limits_and_prices_beyond_the_bounds_are_refused(session: AsyncSession) -> None:
    with pytest.raises(DropError, match="per-user limit"):
        await new_drop(session, per_user_limit=drops.MAX_PER_USER_LIMIT + 1)
    with pytest.raises(DropError, match="price in points"):
        await new_drop(session, cost_points=drops.MAX_COST_POINTS + 1)
    assert await session.scalar(select(func.count()).select_from(CouponDrop)) == 0
