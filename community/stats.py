"""Community figures for managers (/stats community): members, tiers, streaks, and what
happened in a window of shop days.

A window is the last `days` shop days, today included (`days=1` is today), in the shop's
time zone `tz`. What each figure counts:

- `members`: rows of `members` (anyone who checked in, joined the group or got points);
  `tier_counts`: members per tier index (`members.tier`; only tiers someone holds).
- streaks: a streak is alive while the member's last check-in is today or yesterday (one
  missed day ends it). `active_streaks` counts them; `longest_streak` and `median_streak`
  are over them (0 and None when there are none).
- `checkins`: check-ins whose shop day is in the window (a make-up counts on the day it
  repaired); `distinct_checkers`: the members who made them.
- `drops_claimed`: coupon codes claimed in the window (drops and points-shop items);
  `codes_redeemed`: codes marked used at the shop in the window.
- `points_issued`: credits that count as earning (check-ins, streak bonuses, rewards,
  positive adjustments); `points_spent`: points paid for coupons and make-up cards (a
  refund is not subtracted). Both by the ledger rows' time, from the window's first
  local midnight up to `now`.

A read: the transaction is rolled back before returning, so no connection is held.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from community.checkins import shop_day
from community.points import EARNING, Reason
from storage.models import Checkin, CouponCode, Member, PointsEntry

SPENDING = (Reason.REDEEM, Reason.MAKEUP)


@dataclass(frozen=True, slots=True)
class CommunityFigures:
    label: str  # "today" for one day, else "<days>d"
    since: datetime  # the window's first local midnight, aware UTC
    members: int
    tier_counts: dict[int, int]  # tier index -> members
    active_streaks: int
    longest_streak: int
    median_streak: float | None
    checkins: int
    distinct_checkers: int
    drops_claimed: int
    codes_redeemed: int
    points_issued: int
    points_spent: int


async def community_stats(
    session: AsyncSession, *, now: datetime, tz: ZoneInfo, days: int
) -> CommunityFigures:
    """The figures for the last `days` shop days (see the module docstring)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    today = shop_day(now, tz)
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time(0), tzinfo=tz).astimezone(UTC)

    tiers = await session.execute(select(Member.tier, func.count()).group_by(Member.tier))
    tier_counts = {int(tier): int(n) for tier, n in tiers}
    streaks = sorted(
        int(s)
        for s in await session.scalars(
            select(Member.streak).where(
                Member.last_checkin_day >= today - timedelta(days=1), Member.streak > 0
            )
        )
    )
    checkins, checkers = (
        await session.execute(
            select(func.count(), func.count(distinct(Checkin.user_id))).where(
                Checkin.day >= first_day, Checkin.day <= today
            )
        )
    ).one()
    claimed, redeemed = (
        await session.execute(
            select(
                func.count(CouponCode.id).filter(
                    CouponCode.claimed_at >= since, CouponCode.claimed_at <= now
                ),
                func.count(CouponCode.id).filter(
                    CouponCode.used_at >= since, CouponCode.used_at <= now
                ),
            )
        )
    ).one()
    delta = PointsEntry.delta
    issued, spent = (
        await session.execute(
            select(
                func.sum(case((and_(delta > 0, PointsEntry.reason.in_(EARNING)), delta))),
                func.sum(case((and_(delta < 0, PointsEntry.reason.in_(SPENDING)), -delta))),
            ).where(PointsEntry.created_at >= since, PointsEntry.created_at <= now)
        )
    ).one()
    await session.rollback()  # a read: end it before the caller talks to Telegram

    return CommunityFigures(
        label="today" if days == 1 else f"{days}d",
        since=since,
        members=sum(tier_counts.values()),
        tier_counts=tier_counts,
        active_streaks=len(streaks),
        longest_streak=streaks[-1] if streaks else 0,
        median_streak=statistics.median(streaks) if streaks else None,
        checkins=int(checkins),
        distinct_checkers=int(checkers),
        drops_claimed=int(claimed),
        codes_redeemed=int(redeemed),
        points_issued=int(issued or 0),
        points_spent=int(spent or 0),
    )
