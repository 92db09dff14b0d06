"""community.stats.summary on SQLite and PostgreSQL: the managers' /stats numbers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from community import checkins, drops, points, stats
from community.checkins import CheckinRules
from community.tiers import DEFAULT_TIERS
from storage.models import CouponCode
from tests.community import ADMIN, ALICE, BOB, CAROL, SHANGHAI, add_users, days
from tests.conftest import T0

RULES = CheckinRules(bonuses={})  # 10 points a check-in, nothing else


async def check_in(session: AsyncSession, user_id: int, ago: int) -> None:
    await checkins.check_in(
        session, user_id=user_id, now=T0 - days(ago), tz=SHANGHAI, rules=RULES,
        tiers=DEFAULT_TIERS,
    )  # fmt: skip


async def test_today_the_week_and_the_month(session: AsyncSession) -> None:
    await add_users(session, ALICE, BOB, CAROL)
    for ago in range(9, -1, -1):  # ten days in a row, ending today
        await check_in(session, ALICE, ago)
    await check_in(session, BOB, 20)
    await check_in(session, BOB, 0)
    await check_in(session, CAROL, 40)  # outside every window
    await points.adjust(
        session, user_id=BOB, delta=600, reason_text="prize", admin_id=ADMIN,
        now=T0 + timedelta(hours=1), tiers=DEFAULT_TIERS,
    )  # fmt: skip
    bought = await checkins.buy_card(
        session, user_id=BOB, now=T0 + timedelta(hours=2), rules=RULES, tiers=DEFAULT_TIERS
    )
    assert bought.applied
    drop = await drops.create_drop(
        session, title="Gift", discount="10 off", quantity=5, starts_at=T0 - days(5),
        created_by=ADMIN, now=T0 - days(5),
    )  # fmt: skip
    await drops.claim(session, drop_id=drop.id, user_id=ALICE, now=T0 - days(2))
    await drops.claim(session, drop_id=drop.id, user_id=BOB, now=T0 + timedelta(hours=1))
    code = await session.scalar(select(CouponCode.code).where(CouponCode.user_id == ALICE))
    await session.commit()
    assert code is not None
    await drops.mark_used(session, codes=[code], now=T0 + timedelta(hours=2))

    summary = await stats.summary(
        session, now=T0 + timedelta(hours=3), tz=SHANGHAI, tiers=DEFAULT_TIERS
    )
    got = [
        (
            w.days,
            w.checkins,
            w.members_checked_in,
            w.codes_claimed,
            w.codes_redeemed,
            w.points_issued,
            w.points_spent,
        )
        for w in summary.windows
    ]
    assert got == [
        (1, 2, 2, 1, 1, 620, 100),
        (7, 8, 2, 2, 1, 680, 100),
        (30, 12, 2, 2, 1, 720, 100),
    ]
    assert summary.windows[0].since == T0 - timedelta(hours=10)  # midnight in Shanghai
    assert (summary.members, summary.tiers) == (3, (2, 1, 0, 0))
    assert (summary.on_streak, summary.long_streaks, summary.longest_streak) == (2, 1, 10)


async def test_an_empty_community(session: AsyncSession) -> None:
    summary = await stats.summary(session, now=T0, tz=SHANGHAI, tiers=DEFAULT_TIERS)
    assert [(w.checkins, w.points_issued, w.codes_claimed) for w in summary.windows] == [
        (0, 0, 0)
    ] * 3
    assert (summary.members, summary.tiers, summary.longest_streak) == (0, (0, 0, 0, 0), 0)
