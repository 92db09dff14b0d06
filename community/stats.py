"""The community in numbers, for the managers' /stats: check-ins, streaks, tiers, coupon
codes claimed and redeemed, points issued and spent, today and over the last 7 and 30 days.

Windows are whole shop days in the shop's time zone: "today" starts at local midnight, "7
days" at midnight six days before, and so on. Reads only; ends its read transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from community.checkins import shop_day
from community.points import EARNING, Reason
from community.tiers import Tier
from storage.models import Checkin, CouponCode, Member, PointsEntry

WINDOWS = (1, 7, 30)  # shop days: today, the last week, the last month
SPENDING = frozenset({Reason.REDEEM, Reason.MAKEUP})  # points given for something
LONG_STREAK = 7


@dataclass(frozen=True, slots=True)
class Window:
    days: int  # 1: today
    since: datetime  # the window's start (local midnight, as an aware UTC datetime)
    checkins: int  # check-ins of these shop days (make-ups included)
    members_checked_in: int  # distinct members who checked in
    codes_claimed: int  # coupon codes claimed (Claim taps and /shop)
    codes_redeemed: int  # codes marked used at the shop (/used)
    points_issued: int  # earned: check-ins, streak bonuses, rewards, positive adjustments
    points_spent: int  # on coupons (/shop, priced drops) and make-up cards


@dataclass(frozen=True, slots=True)
class CommunityStats:
    windows: tuple[Window, ...]  # one per WINDOWS entry, in that order
    members: int  # member rows (anyone who checked in, got points or joined the group)
    tiers: tuple[int, ...]  # members per tier of the ladder, by index
    on_streak: int  # members whose streak is alive (checked in today or yesterday)
    long_streaks: int  # of those, streaks of LONG_STREAK days or more
    longest_streak: int  # the longest alive streak


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _counts(column: Any, starts: Sequence[Any]) -> list[Any]:
    """`SUM(CASE WHEN column >= start THEN 1 ELSE 0 END)` for each start."""
    return [func.sum(case((column >= start, 1), else_=0)) for start in starts]


async def summary(
    session: AsyncSession, *, now: datetime, tz: ZoneInfo, tiers: Sequence[Tier]
) -> CommunityStats:
    """The numbers of the community at `now` (see the module). Ends the read."""
    today = shop_day(now, tz)
    first_days = [today - timedelta(days=n - 1) for n in WINDOWS]
    starts = [_midnight(d, tz) for d in first_days]
    earliest_day, earliest = first_days[-1], starts[-1]

    checkins = (
        await session.execute(
            select(
                *_counts(Checkin.day, first_days),
                *[
                    func.count(func.distinct(case((Checkin.day >= d, Checkin.user_id))))
                    for d in first_days
                ],
            ).where(Checkin.day >= earliest_day)
        )
    ).one()
    claimed = (
        await session.execute(
            select(*_counts(CouponCode.claimed_at, starts)).where(
                CouponCode.claimed_at >= earliest
            )
        )
    ).one()
    used = (
        await session.execute(
            select(*_counts(CouponCode.used_at, starts)).where(CouponCode.used_at >= earliest)
        )
    ).one()
    earning = [r.value for r in EARNING]
    spending = [r.value for r in SPENDING]
    ledger = (
        await session.execute(
            select(
                *[
                    func.sum(
                        case(
                            (
                                and_(
                                    PointsEntry.created_at >= start,
                                    PointsEntry.delta > 0,
                                    PointsEntry.reason.in_(earning),
                                ),
                                PointsEntry.delta,
                            ),
                            else_=0,
                        )
                    )
                    for start in starts
                ],
                *[
                    func.sum(
                        case(
                            (
                                and_(
                                    PointsEntry.created_at >= start,
                                    PointsEntry.delta < 0,
                                    PointsEntry.reason.in_(spending),
                                ),
                                -PointsEntry.delta,
                            ),
                            else_=0,
                        )
                    )
                    for start in starts
                ],
            ).where(PointsEntry.created_at >= earliest)
        )
    ).one()

    by_tier = dict(
        (await session.execute(select(Member.tier, func.count()).group_by(Member.tier))).all()
    )
    alive = Member.last_checkin_day >= today - timedelta(days=1)
    streaks = (
        await session.execute(
            select(
                func.count(),
                func.sum(case((Member.streak >= LONG_STREAK, 1), else_=0)),
                func.max(Member.streak),
            ).where(alive, Member.streak > 0)
        )
    ).one()
    await session.rollback()

    n = len(WINDOWS)
    windows = tuple(
        Window(
            days=days,
            since=starts[i],
            checkins=int(checkins[i] or 0),
            members_checked_in=int(checkins[n + i] or 0),
            codes_claimed=int(claimed[i] or 0),
            codes_redeemed=int(used[i] or 0),
            points_issued=int(ledger[i] or 0),
            points_spent=int(ledger[n + i] or 0),
        )
        for i, days in enumerate(WINDOWS)
    )
    tier_counts = [0] * max(len(tiers), 1)
    for index, count in by_tier.items():
        # A tier beyond a shortened ladder counts as its top tier.
        tier_counts[max(0, min(int(index), len(tier_counts) - 1))] += int(count)
    return CommunityStats(
        windows=windows,
        members=sum(tier_counts),
        tiers=tuple(tier_counts),
        on_streak=int(streaks[0] or 0),
        long_streaks=int(streaks[1] or 0),
        longest_streak=int(streaks[2] or 0),
    )
