"""Community figures for /stats on SQLite and PostgreSQL: windows of shop days, streaks,
tiers, claims and points, built with the real check-in, points and drop rules."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from community import checkins, drops, points
from community.checkins import CheckinRules
from community.points import Reason
from community.stats import community_stats
from community.tiers import DEFAULT_TIERS
from storage.models import CouponCode
from tests.community import ALICE, BOB, CAROL, SHANGHAI, add_users, at_shanghai, days
from tests.conftest import T0

RULES = CheckinRules()  # 10 points a day, no bonus before day 7, a card costs 100


async def check_in(session: AsyncSession, user_id: int, day: int) -> None:
    await checkins.check_in(
        session, user_id=user_id, now=T0 + days(day), tz=SHANGHAI, rules=RULES, tiers=DEFAULT_TIERS
    )


async def community(session: AsyncSession) -> None:
    """Alice checks in 4 days running up to today, Bob 10 days ago and today, Carol 20 days
    ago; Alice gets a 200-point reward today and buys a make-up card (100); of a drop's
    codes Alice claims one 2 days ago (used today) and Bob one today."""
    await add_users(session, ALICE, BOB, CAROL)
    for day in (-3, -2, -1, 0):
        await check_in(session, ALICE, day)
    await check_in(session, BOB, -10)
    await check_in(session, BOB, 0)
    await check_in(session, CAROL, -20)
    await points.apply(
        session, user_id=ALICE, delta=200, reason=Reason.REWARD, ref="launch", now=T0,
        tiers=DEFAULT_TIERS,
    )  # fmt: skip
    await checkins.buy_card(session, user_id=ALICE, now=T0, rules=RULES, tiers=DEFAULT_TIERS)
    drop = await drops.create_drop(
        session, title="Welcome", discount="10% off", quantity=3, starts_at=T0 - days(3),
        created_by=None, now=T0 - days(3),
    )  # fmt: skip
    await drops.claim(session, drop_id=drop.id, user_id=ALICE, now=T0 - days(2))
    await drops.claim(session, drop_id=drop.id, user_id=BOB, now=T0)
    code = await session.scalar(select(CouponCode.code).where(CouponCode.user_id == ALICE))
    await session.commit()
    assert code is not None
    await drops.mark_used(session, codes=[code], now=T0)


async def test_today_seven_and_thirty_days(session: AsyncSession) -> None:
    await community(session)
    today = await community_stats(session, now=T0, tz=SHANGHAI, days=1)
    week = await community_stats(session, now=T0, tz=SHANGHAI, days=7)
    month = await community_stats(session, now=T0, tz=SHANGHAI, days=30)

    assert (today.label, week.label, month.label) == ("today", "7d", "30d")
    assert today.since == at_shanghai(2026, 11, 20, 0)
    assert week.since == at_shanghai(2026, 11, 14, 0)
    for figures in (today, week, month):  # the standing, whatever the window
        assert figures.members == 3 and figures.tier_counts == {0: 3}
        # Alice's 4 days and Bob's 1 are alive; Carol's ended 19 days ago.
        assert figures.active_streaks == 2
        assert figures.longest_streak == 4 and figures.median_streak == 2.5
        assert figures.codes_redeemed == 1
        assert figures.points_spent == 100
    assert (today.checkins, today.distinct_checkers) == (2, 2)
    assert (week.checkins, week.distinct_checkers) == (5, 2)
    assert (month.checkins, month.distinct_checkers) == (7, 3)
    assert (today.drops_claimed, week.drops_claimed, month.drops_claimed) == (1, 2, 2)
    assert today.points_issued == 10 + 10 + 200
    assert week.points_issued == 40 + 10 + 200
    assert month.points_issued == 40 + 20 + 10 + 200


async def test_an_empty_community(session: AsyncSession) -> None:
    figures = await community_stats(session, now=T0, tz=SHANGHAI, days=7)
    assert figures.members == 0 and figures.tier_counts == {}
    assert figures.active_streaks == 0 and figures.longest_streak == 0
    assert figures.median_streak is None
    assert (figures.checkins, figures.points_issued, figures.points_spent) == (0, 0, 0)


async def test_the_window_follows_the_shop_day(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    late = at_shanghai(2026, 11, 19, 23, 30)  # yesterday evening, local time
    await checkins.check_in(
        session, user_id=ALICE, now=late, tz=SHANGHAI, rules=RULES, tiers=DEFAULT_TIERS
    )
    today = await community_stats(session, now=T0, tz=SHANGHAI, days=1)
    two_days = await community_stats(session, now=T0, tz=SHANGHAI, days=2)
    assert (today.checkins, today.points_issued) == (0, 0)
    assert (two_days.checkins, two_days.points_issued) == (1, 10)
    assert today.active_streaks == 1  # yesterday's check-in keeps the streak alive


async def test_days_must_be_positive(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await community_stats(session, now=T0, tz=SHANGHAI, days=0)
