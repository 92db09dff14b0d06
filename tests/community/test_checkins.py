"""Check-ins on SQLite and PostgreSQL: once per shop day, streaks and their bonuses, the tier
multiplier, make-up cards (补签) and /me."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from community import checkins, points
from community.checkins import (
    CheckinResult,
    CheckinRules,
    MakeupResult,
    Status,
    parse_bonuses,
    shop_day,
    week_start,
)
from community.points import Reason
from community.tiers import DEFAULT_TIERS
from storage.models import Checkin, Member, PointsEntry
from tests.community import (
    ALICE,
    BOB,
    SHANGHAI,
    add_users,
    at_shanghai,
    count,
    days,
    member,
    member_lock,
    race,
    rows,
)
from tests.conftest import T0

RULES = CheckinRules()  # 10 a day, +50 on day 7, +200 on day 30, a card costs 100
DAY0 = date(2026, 11, 20)  # the shop day of T0 (10:00 in Shanghai)


async def check_in(
    session: AsyncSession,
    day: int = 0,
    *,
    user_id: int = ALICE,
    rules: CheckinRules = RULES,
    now: datetime | None = None,
) -> CheckinResult:
    return await checkins.check_in(
        session,
        user_id=user_id,
        now=T0 + days(day) if now is None else now,
        tz=SHANGHAI,
        rules=rules,
        tiers=DEFAULT_TIERS,
    )


async def make_up(session: AsyncSession, day: int, *, rules: CheckinRules = RULES) -> MakeupResult:
    return await checkins.make_up(
        session, user_id=ALICE, now=T0 + days(day), tz=SHANGHAI, rules=rules, tiers=DEFAULT_TIERS
    )


async def give_cards(session: AsyncSession, n: int, user_id: int = ALICE) -> None:
    await points.ensure_member(session, user_id, T0)
    await session.execute(update(Member).where(Member.user_id == user_id).values(makeup_cards=n))
    await session.commit()


async def streaks(session: AsyncSession) -> list[tuple[date, int, int, bool]]:
    return [(c.day, c.streak, c.points, c.made_up) for c in await rows(session, Checkin)]


async def assert_ledger_matches(session: AsyncSession, user_id: int = ALICE) -> None:
    cached = (await member(session, user_id)).balance
    assert cached == await points.balance_from_ledger(session, user_id)
    await session.rollback()


# --- days -----------------------------------------------------------------------------------


def test_the_shop_day_turns_at_midnight_in_the_shop_timezone() -> None:
    assert shop_day(datetime(2026, 11, 20, 15, 59, tzinfo=UTC), SHANGHAI) == date(2026, 11, 20)
    assert shop_day(datetime(2026, 11, 20, 16, 0, tzinfo=UTC), SHANGHAI) == date(2026, 11, 21)
    with pytest.raises(ValueError, match="naive"):
        shop_day(datetime(2026, 11, 20, 16, 0), SHANGHAI)  # noqa: DTZ001


def test_the_week_starts_on_monday_midnight_in_the_shop_timezone() -> None:
    monday = at_shanghai(2026, 11, 16, 0)
    assert week_start(T0, SHANGHAI) == monday
    assert week_start(monday, SHANGHAI) == monday
    assert week_start(monday - timedelta(seconds=1), SHANGHAI) == monday - days(7)


# --- rules ----------------------------------------------------------------------------------


def test_parse_bonuses() -> None:
    assert parse_bonuses("7:50,30:200") == {7: 50, 30: 200}
    assert parse_bonuses(" 3 : 5 ，14:80, ") == {3: 5, 14: 80}
    assert parse_bonuses("") == {}


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("7", "'7': expected day:points"),
        ("7:50:1", "'7:50:1': expected day:points"),
        ("7:x", "'7:x': day and points must be whole numbers"),
        ("0:50", "'0:50': the day must be 1 or more"),
        ("7:0", "'7:0': the points must be 1 or more"),
        ("7:50, 7:60", "'7:60': day 7 is given twice"),
    ],
)
def test_parse_bonuses_names_the_bad_part(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match="streak bonus") as raised:
        parse_bonuses(spec)
    assert problem in str(raised.value)


def test_checkin_rules_are_checked() -> None:
    assert dict(RULES.bonuses) == {7: 50, 30: 200}
    for bad in (
        {"base": -1},
        {"card_price": 0},
        {"card_every": -1},
        {"bonuses": {0: 5}},
        {"bonuses": {3: -5}},
    ):
        with pytest.raises(ValueError, match="must|bad"):
            CheckinRules(**bad)


# --- checking in ----------------------------------------------------------------------------


async def test_a_first_check_in(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    result = await check_in(session)
    assert result == CheckinResult(
        status=Status.DONE,
        day=DAY0,
        points=10,
        streak=1,
        bonus=0,
        balance=10,
        tier=0,
        tier_up=False,
        card_rewarded=False,
        missed_yesterday=False,
    )
    alice = await member(session, ALICE)
    assert (alice.balance, alice.earned, alice.streak, alice.last_checkin_day) == (
        10,
        10,
        1,
        DAY0,
    )
    (entry,) = await rows(session, PointsEntry)
    assert (entry.reason, entry.ref, entry.delta) == ("checkin", "checkin:2026-11-20", 10)
    assert await streaks(session) == [(DAY0, 1, 10, False)]


async def test_twice_the_same_day_changes_nothing(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    await check_in(session)
    again = await check_in(session, now=at_shanghai(2026, 11, 20, 23, 59))
    assert (again.status, again.points, again.streak, again.balance) == (
        Status.ALREADY,
        0,
        1,
        10,
    )
    assert await count(session, Checkin) == 1
    assert await count(session, PointsEntry) == 1
    await assert_ledger_matches(session)


async def test_the_day_turns_at_16_utc_in_shanghai(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    late = await check_in(session, now=datetime(2026, 11, 20, 15, 59, tzinfo=UTC))
    assert (late.status, late.day) == (Status.DONE, DAY0)
    next_day = await check_in(session, now=datetime(2026, 11, 20, 16, 0, tzinfo=UTC))
    assert (next_day.status, next_day.day, next_day.streak) == (
        Status.DONE,
        DAY0 + timedelta(days=1),
        2,
    )
    same_day = await check_in(session, now=datetime(2026, 11, 21, 15, 59, tzinfo=UTC))
    assert same_day.status is Status.ALREADY


async def test_a_week_in_a_row_earns_the_day_7_bonus(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    results = [await check_in(session, d) for d in range(8)]
    assert [r.streak for r in results] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [r.points for r in results] == [10] * 6 + [60, 10]
    assert [r.bonus for r in results] == [0] * 6 + [50, 0]
    assert results[-1].balance == 130
    bonuses = await rows(session, PointsEntry, PointsEntry.reason == "bonus")
    assert [(b.ref, b.delta) for b in bonuses] == [("streak7:2026-11-26", 50)]
    await assert_ledger_matches(session)


async def test_a_missed_day_breaks_the_streak(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    await check_in(session, 0)
    await check_in(session, 1)
    broken = await check_in(session, 3)  # day 2 missed
    assert (broken.streak, broken.missed_yesterday) == (1, True)
    assert (await check_in(session, 4)).missed_yesterday is False
    gap = await check_in(session, 7)  # two days missed: a card could not repair it
    assert (gap.streak, gap.missed_yesterday) == (1, False)


async def test_the_tier_multiplies_check_in_points_and_a_rise_is_flagged(
    session: AsyncSession,
) -> None:
    await add_users(session, ALICE)
    await points.apply(
        session,
        user_id=ALICE,
        delta=495,
        reason=Reason.REWARD,
        ref="welcome",
        now=T0,
        tiers=DEFAULT_TIERS,
    )
    rising = await check_in(session, 0)
    assert (rising.points, rising.tier, rising.tier_up) == (10, 1, True)  # 505: Silver
    silver = await check_in(session, 1)
    assert (silver.points, silver.tier, silver.tier_up) == (12, 1, False)  # 10 × 1.2

    rules = CheckinRules(base=7)
    await points.apply(
        session,
        user_id=ALICE,
        delta=1500,
        reason=Reason.REWARD,
        ref="gold",
        now=T0,
        tiers=DEFAULT_TIERS,
    )
    gold = await check_in(session, 2, rules=rules)
    assert (gold.points, gold.tier) == (11, 2)  # 7 × 1.5 = 10.5, rounded half up


async def test_a_card_is_rewarded_every_n_streak_days(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    rules = CheckinRules(card_every=3)
    results = [await check_in(session, d, rules=rules) for d in range(7)]
    assert [r.card_rewarded for r in results] == [False, False, True, False, False, True, False]
    assert (await member(session, ALICE)).makeup_cards == 2


async def test_racing_check_ins_of_one_day_count_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    """A double tap: both calls start before either writes; one checks in."""
    await add_users(session, ALICE)
    await points.ensure_member(session, ALICE, T0)
    await session.commit()

    async def tap() -> CheckinResult:
        async with session_factory() as s:
            return await check_in(s)

    results = await race(engine, member_lock(ALICE), tap, tap)
    assert sorted(r.status for r in results) == [Status.ALREADY, Status.DONE]
    assert await count(session, Checkin) == 1
    assert await count(session, PointsEntry) == 1
    await assert_ledger_matches(session)


# --- make-up cards --------------------------------------------------------------------------


async def test_a_make_up_card_repairs_yesterday_before_todays_check_in(
    session: AsyncSession,
) -> None:
    await add_users(session, ALICE)
    for d in range(4):
        await check_in(session, d)
    # Day 4 missed; on day 5 the member notices and has no card.
    refused = await make_up(session, 5)
    assert (refused.status, refused.cards, refused.streak) == (Status.NO_CARD, 0, 0)
    assert await count(session, Checkin) == 4

    await give_cards(session, 2)
    repaired = await make_up(session, 5)
    assert (repaired.status, repaired.day, repaired.streak, repaired.cards) == (
        Status.DONE,
        DAY0 + timedelta(days=4),
        5,
        1,
    )
    today = await check_in(session, 5)
    assert (today.streak, today.missed_yesterday) == (6, False)
    day7 = await check_in(session, 6)
    assert (day7.streak, day7.bonus) == (7, 50)

    made_up = (await streaks(session))[4]
    assert made_up == (DAY0 + timedelta(days=4), 5, 0, True)  # no points for the missed day
    alice = await member(session, ALICE)
    assert (alice.makeup_cards, alice.streak, alice.balance) == (1, 7, 60 + 50)
    await assert_ledger_matches(session)


async def test_a_make_up_card_after_todays_check_in_renumbers_today(
    session: AsyncSession,
) -> None:
    await add_users(session, ALICE)
    for d in range(5):
        await check_in(session, d)
    broken = await check_in(session, 6)  # day 5 missed
    assert (broken.streak, broken.missed_yesterday) == (1, True)

    await give_cards(session, 1)
    repaired = await make_up(session, 6)
    # Day 5 becomes streak 6, today streak 7: the day-7 bonus is earned after all.
    assert (repaired.status, repaired.streak, repaired.bonus, repaired.cards) == (
        Status.DONE,
        7,
        50,
        0,
    )
    assert repaired.balance == 60 + 50
    days_now = await streaks(session)
    assert days_now[-2:] == [
        (DAY0 + timedelta(days=5), 6, 0, True),
        (DAY0 + timedelta(days=6), 7, 60, False),
    ]
    assert (await member(session, ALICE)).streak == 7
    assert (await check_in(session, 7)).streak == 8
    await assert_ledger_matches(session)


async def test_a_repaired_day_earns_the_bonus_its_streak_reaches(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    rules = CheckinRules(card_every=7)
    for d in range(6):
        await check_in(session, d, rules=rules)
    await give_cards(session, 1)
    repaired = await make_up(session, 7, rules=rules)  # day 6 would have been streak 7
    assert (repaired.streak, repaired.bonus, repaired.card_rewarded, repaired.cards) == (
        7,
        50,
        True,
        1,  # spent one, rewarded one
    )
    assert (await streaks(session))[-1] == (DAY0 + timedelta(days=6), 7, 50, True)
    assert (await check_in(session, 7, rules=rules)).streak == 8
    await assert_ledger_matches(session)


async def test_nothing_to_repair(session: AsyncSession) -> None:
    await add_users(session, ALICE)
    await give_cards(session, 3)
    never = await make_up(session, 0)  # never checked in
    assert never.status is Status.NOTHING_TO_REPAIR
    await check_in(session, 0)
    await check_in(session, 1)
    assert (await make_up(session, 2)).status is Status.NOTHING_TO_REPAIR  # yesterday done
    assert (await make_up(session, 1)).status is Status.NOTHING_TO_REPAIR
    gap = await make_up(session, 4)  # days 2 and 3 missed: one card repairs one day only
    assert (gap.status, gap.cards) == (Status.NOTHING_TO_REPAIR, 3)
    assert (await make_up(session, 3)).status is Status.DONE  # day 2, the day after day 1
    assert (await make_up(session, 3)).status is Status.NOTHING_TO_REPAIR  # repaired once
    assert (await member(session, ALICE)).makeup_cards == 2


async def test_buying_a_card_with_points(session: AsyncSession) -> None:
    await add_users(session, ALICE, BOB)
    short = await checkins.buy_card(
        session, user_id=ALICE, now=T0, rules=RULES, tiers=DEFAULT_TIERS
    )
    assert (short.applied, short.reason_code, short.balance) == (False, "insufficient", 0)

    await points.apply(
        session,
        user_id=ALICE,
        delta=250,
        reason=Reason.REWARD,
        ref="r",
        now=T0,
        tiers=DEFAULT_TIERS,
    )
    first = await checkins.buy_card(
        session, user_id=ALICE, now=T0, rules=RULES, tiers=DEFAULT_TIERS
    )
    second = await checkins.buy_card(
        session, user_id=ALICE, now=T0, rules=RULES, tiers=DEFAULT_TIERS
    )
    third = await checkins.buy_card(
        session, user_id=ALICE, now=T0, rules=RULES, tiers=DEFAULT_TIERS
    )
    assert [(c.applied, c.balance) for c in (first, second, third)] == [
        (True, 150),
        (True, 50),
        (False, 50),
    ]
    alice = await member(session, ALICE)
    assert (alice.makeup_cards, alice.balance, alice.earned) == (2, 50, 250)
    purchases = await rows(session, PointsEntry, PointsEntry.reason == "makeup")
    assert [p.delta for p in purchases] == [-100, -100]
    await assert_ledger_matches(session)


# --- /me ------------------------------------------------------------------------------------


async def test_profile(session: AsyncSession) -> None:
    await add_users(session, ALICE)

    async def me(day: int) -> checkins.Profile:
        return await checkins.profile(
            session, user_id=ALICE, now=T0 + days(day), tz=SHANGHAI, tiers=DEFAULT_TIERS
        )

    nobody = await me(0)
    assert (nobody.balance, nobody.streak, nobody.tier, nobody.points_to_next) == (0, 0, 0, 500)
    assert nobody.next_tier == DEFAULT_TIERS[1]
    assert await count(session, Member) == 0  # reading creates no member

    await check_in(session, 0)
    await check_in(session, 1)
    today = await me(1)
    assert (today.streak, today.checked_in_today, today.balance, today.earned) == (
        2,
        True,
        20,
        20,
    )
    assert (today.points_to_next, today.can_make_up, today.makeup_cards) == (480, False, 0)
    tomorrow = await me(2)
    assert (tomorrow.streak, tomorrow.checked_in_today, tomorrow.can_make_up) == (2, False, False)
    missed = await me(3)  # day 2 missed: the streak is gone, a card could bring it back
    assert (missed.streak, missed.can_make_up) == (0, True)
    assert (await me(4)).can_make_up is False
