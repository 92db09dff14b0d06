"""Daily check-ins, streaks and make-up cards (补签).

Rules owned here, each guarded by the database:
- one check-in per member per shop day (the day in `TIMEZONE`): the `checkins` primary
  key (user, day); the member row is locked (`SELECT ... FOR UPDATE` on PostgreSQL) so a
  member's check-in, make-up and purchase never interleave;
- the streak is the day's position in a run of consecutive days: the previous day's
  streak + 1, or 1 after a missed day. Each `checkins` row keeps the streak it had, and
  `members.streak` / `last_checkin_day` cache the latest;
- points: the base times the member's tier multiplier (rounded half up), plus a bonus
  when the streak reaches a bonus day (e.g. 7 and 30; exact days, not repeating). The base
  is a `checkin` ledger row (ref `checkin:<day>`), the bonus a `bonus` row
  (ref `streak<n>:<day>`), so each counts once;
- a make-up card repairs exactly one missed day, and only yesterday: allowed when
  yesterday has no check-in and the day before has one (whether or not today is checked
  in yet). The card is spent by a conditional UPDATE (`makeup_cards >= 1`); the missed day
  gets a `made_up` row with no base points and the streak it would have had; a check-in
  today is renumbered after it. A streak day the repair reaches earns its bonus (and card
  reward) as a check-in would have, so a repair on day 7 does not lose the 7-day bonus;
- a card is rewarded every `card_every` streak days (0: never), or bought with points.

Functions take a session and commit (or roll back) before they return.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from community import announce, points
from community.points import Change, Reason
from community.tiers import Tier, multiplier_for, next_tier, points_to_next, tier_for
from storage.models import Checkin, Member


def _default_bonuses() -> Mapping[int, int]:
    return {7: 50, 30: 200}


@dataclass(frozen=True)
class CheckinRules:
    base: int = 10  # points per check-in before the tier multiplier
    bonuses: Mapping[int, int] = field(default_factory=_default_bonuses)  # streak day: points
    card_price: int = 100  # points for one make-up card
    card_every: int = 0  # reward a card every N streak days; 0: never

    def __post_init__(self) -> None:
        if self.base < 0:
            raise ValueError(f"check-in base points must not be negative: {self.base}")
        if self.card_price < 1:
            raise ValueError(f"make-up card price must be at least 1: {self.card_price}")
        if self.card_every < 0:
            raise ValueError(f"card_every must not be negative: {self.card_every}")
        for day, bonus in self.bonuses.items():
            if day < 1 or bonus < 0:
                raise ValueError(f"bad streak bonus {day}:{bonus}")
        object.__setattr__(self, "bonuses", MappingProxyType(dict(self.bonuses)))


def parse_bonuses(spec: str) -> dict[int, int]:
    """Parse `"7:50,30:200"` (streak day: bonus points); an empty spec means no bonuses.

    Errors raise ValueError naming the bad part.
    """
    bonuses: dict[int, int] = {}
    for raw in spec.replace("，", ",").split(","):
        part = raw.strip()
        if not part:
            continue
        fields = [f.strip() for f in part.replace("：", ":").split(":")]
        if len(fields) != 2:
            raise ValueError(f"streak bonus {part!r}: expected day:points, e.g. 7:50")
        try:
            day, bonus = int(fields[0]), int(fields[1])
        except ValueError:
            raise ValueError(
                f"streak bonus {part!r}: day and points must be whole numbers"
            ) from None
        if day < 1:
            raise ValueError(f"streak bonus {part!r}: the day must be 1 or more")
        if bonus < 1:
            raise ValueError(f"streak bonus {part!r}: the points must be 1 or more")
        if day in bonuses:
            raise ValueError(f"streak bonus {part!r}: day {day} is given twice")
        bonuses[day] = bonus
    return bonuses


def shop_day(now: datetime, tz: ZoneInfo) -> date:
    """The shop's calendar day at `now` (an aware time)."""
    if now.tzinfo is None:
        raise ValueError("naive datetime; pass an aware time")
    return now.astimezone(tz).date()


def week_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Monday 00:00 of the shop's current week, as an aware time (for the weekly board)."""
    day = shop_day(now, tz)
    monday = day - timedelta(days=day.weekday())
    return datetime.combine(monday, time(0), tzinfo=tz)


class Status(StrEnum):
    DONE = "done"
    ALREADY = "already"  # checked in today already: nothing changed
    NO_CARD = "no_card"  # a make-up needs a card
    NOTHING_TO_REPAIR = "nothing_to_repair"  # yesterday is not a repairable missed day


@dataclass(frozen=True, slots=True)
class CheckinResult:
    status: Status
    day: date  # the shop day checked in
    points: int  # granted by this call, bonus included (0 when ALREADY)
    streak: int  # today's streak
    bonus: int  # the streak bonus within `points`
    balance: int
    tier: int
    tier_up: bool  # congratulate
    card_rewarded: bool
    missed_yesterday: bool  # the streak broke yesterday, and a make-up card could repair it


@dataclass(frozen=True, slots=True)
class MakeupResult:
    status: Status
    day: date  # the day repaired (yesterday)
    streak: int  # the current streak after the repair (today's, when checked in today)
    bonus: int  # streak bonuses the repair reached
    cards: int  # cards left
    balance: int
    tier: int
    tier_up: bool
    card_rewarded: bool


@dataclass(frozen=True, slots=True)
class Profile:
    balance: int
    earned: int
    spend: int
    tier: int
    next_tier: Tier | None
    points_to_next: int | None
    streak: int  # 0 when the last check-in is older than yesterday
    checked_in_today: bool
    makeup_cards: int
    can_make_up: bool  # yesterday was missed after a check-in: a card would repair it


def _half_up(value: float) -> int:
    return math.floor(value + 0.5 + 1e-9)


async def _streaks(
    session: AsyncSession, user_id: int, first: date, last: date
) -> dict[date, int]:
    rows = await session.execute(
        select(Checkin.day, Checkin.streak).where(
            Checkin.user_id == user_id, Checkin.day >= first, Checkin.day <= last
        )
    )
    return {r.day: r.streak for r in rows}


async def _standing(session: AsyncSession, user_id: int) -> tuple[int, int, int]:
    row = (
        await session.execute(
            select(Member.balance, Member.tier, Member.makeup_cards).where(
                Member.user_id == user_id
            )
        )
    ).first()
    return (0, 0, 0) if row is None else (row.balance, row.tier, row.makeup_cards)


async def _already(session: AsyncSession, user_id: int, day: date) -> CheckinResult:
    """Roll back, then report today's check-in as it stands."""
    await session.rollback()
    balance, tier, _ = await _standing(session, user_id)
    streak = (await _streaks(session, user_id, day, day)).get(day, 0)
    await session.rollback()
    return CheckinResult(Status.ALREADY, day, 0, streak, 0, balance, tier, False, False, False)


@dataclass
class _Credits:
    """The points changes of one transaction (check-in or make-up), uncommitted."""

    session: AsyncSession
    user_id: int
    now: datetime
    tiers: Sequence[Tier]
    spend_per_point: float | None
    tier_up: bool = False
    refused: bool = False  # a change was refused: the transaction was rolled back

    async def add(self, delta: int, reason: Reason, ref: str) -> None:
        if delta <= 0 or self.refused:
            return
        change = await points.apply(
            self.session,
            user_id=self.user_id,
            delta=delta,
            reason=reason,
            ref=ref,
            now=self.now,
            tiers=self.tiers,
            commit=False,
            spend_per_point=self.spend_per_point,
        )
        self.tier_up = self.tier_up or change.tier_up
        self.refused = not change.applied


@dataclass(frozen=True, slots=True)
class GroupReply:
    """A check-in typed in the group is answered there, briefly: the reply (its text drawn
    from the result) is removed with the command after `lifetime`."""

    chat_id: int
    reply_to: int
    lifetime: timedelta
    text: Callable[[CheckinResult], str]


async def check_in(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    tz: ZoneInfo,
    rules: CheckinRules,
    tiers: Sequence[Tier],
    spend_per_point: float | None = None,
    group_reply: GroupReply | None = None,
) -> CheckinResult:
    """Check the member in for today's shop day; a second call the same day changes
    nothing and returns ALREADY. Creates the member row if needed; the `group_reply` is
    queued in the same transaction. Commits."""
    result = await _check_in(
        session,
        user_id=user_id,
        now=now,
        tz=tz,
        rules=rules,
        tiers=tiers,
        spend_per_point=spend_per_point,
    )
    if group_reply is not None:
        await announce.queue_group_reply(
            session,
            chat_id=group_reply.chat_id,
            reply_to=group_reply.reply_to,
            text=group_reply.text(result),
            delete_after=group_reply.lifetime,
            now=now,
        )
    await session.commit()
    return result


async def _check_in(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    tz: ZoneInfo,
    rules: CheckinRules,
    tiers: Sequence[Tier],
    spend_per_point: float | None,
) -> CheckinResult:
    """`check_in`, without the commit (ALREADY has rolled back: nothing is pending)."""
    day = shop_day(now, tz)
    member = await points.ensure_member(session, user_id, now, lock=True)
    days = await _streaks(session, user_id, day - timedelta(days=2), day)
    if day in days:
        return await _already(session, user_id, day)

    previous = days.get(day - timedelta(days=1))
    streak = 1 if previous is None else previous + 1
    missed = previous is None and (day - timedelta(days=2)) in days
    current_tier = tier_for(tiers, member.earned, member.spend, spend_per_point=spend_per_point)
    base = _half_up(rules.base * multiplier_for(tiers, current_tier))
    bonus = rules.bonuses.get(streak, 0)
    card = rules.card_every > 0 and streak % rules.card_every == 0

    session.add(
        Checkin(
            user_id=user_id,
            day=day,
            points=base + bonus,
            streak=streak,
            made_up=False,
            created_at=now,
        )
    )
    try:
        await session.flush()
    except IntegrityError:  # a check-in of the same day raced this one and won
        return await _already(session, user_id, day)

    gains = _Credits(session, user_id, now, tiers, spend_per_point)
    await gains.add(base, Reason.CHECKIN, f"checkin:{day}")
    await gains.add(bonus, Reason.BONUS, f"streak{streak}:{day}")
    if gains.refused:  # the ledger had this day already: everything was rolled back
        return await _already(session, user_id, day)

    await session.execute(
        update(Member)
        .where(Member.user_id == user_id)
        .values(
            streak=streak,
            last_checkin_day=day,
            makeup_cards=Member.makeup_cards + (1 if card else 0),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    balance, tier, _ = await _standing(session, user_id)
    return CheckinResult(
        Status.DONE,
        day,
        base + bonus,
        streak,
        bonus,
        balance,
        tier,
        gains.tier_up,
        card,
        missed,
    )


async def make_up(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    tz: ZoneInfo,
    rules: CheckinRules,
    tiers: Sequence[Tier],
    spend_per_point: float | None = None,
) -> MakeupResult:
    """Spend one card to repair yesterday, a missed day after a check-in; commits.

    NOTHING_TO_REPAIR: yesterday has a check-in, or the day before has none (a card
    repairs one missed day only). NO_CARD: no card left. Otherwise DONE.
    """
    today = shop_day(now, tz)
    yesterday = today - timedelta(days=1)
    before = today - timedelta(days=2)
    await points.ensure_member(session, user_id, now, lock=True)
    days = await _streaks(session, user_id, before, today)

    async def refuse(status: Status) -> MakeupResult:
        await session.rollback()
        balance, tier, cards = await _standing(session, user_id)
        current = await _streaks(session, user_id, yesterday, today)
        streak = current.get(today, current.get(yesterday, 0))
        await session.rollback()
        return MakeupResult(status, yesterday, streak, 0, cards, balance, tier, False, False)

    if yesterday in days or before not in days:
        return await refuse(Status.NOTHING_TO_REPAIR)
    spent = await session.execute(
        update(Member)
        .where(Member.user_id == user_id, Member.makeup_cards >= 1)
        .values(makeup_cards=Member.makeup_cards - 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not spent.rowcount:  # type: ignore[attr-defined]
        return await refuse(Status.NO_CARD)

    repaired = days[before] + 1
    session.add(
        Checkin(
            user_id=user_id,
            day=yesterday,
            points=rules.bonuses.get(repaired, 0),  # no base points: only a bonus it reaches
            streak=repaired,
            made_up=True,
            created_at=now,
        )
    )
    try:
        await session.flush()
    except IntegrityError:  # a make-up of the same day raced this one and won
        return await refuse(Status.NOTHING_TO_REPAIR)

    gains = _Credits(session, user_id, now, tiers, spend_per_point)
    # The repaired day, and today renumbered after it, earn what their streak reaches.
    renumbered: list[tuple[date, int, int]] = [(yesterday, 0, repaired)]  # day, old, new
    if today in days:
        renumbered.append((today, days[today], repaired + 1))
        await session.execute(
            update(Checkin)
            .where(Checkin.user_id == user_id, Checkin.day == today)
            .values(
                streak=repaired + 1,
                points=Checkin.points + rules.bonuses.get(repaired + 1, 0),
            )
            .execution_options(synchronize_session=False)
        )
    bonus = 0
    cards_rewarded = 0
    for day, old, new in renumbered:
        reached = rules.bonuses.get(new, 0)
        bonus += reached
        await gains.add(reached, Reason.BONUS, f"streak{new}:{day}")
        every = rules.card_every
        if every > 0 and new % every == 0 and (old == 0 or old % every != 0):
            cards_rewarded += 1
    if gains.refused:  # the ledger had this bonus already: everything was rolled back
        return await refuse(Status.NOTHING_TO_REPAIR)

    streak = renumbered[-1][2]
    await session.execute(
        update(Member)
        .where(Member.user_id == user_id)
        .values(
            streak=streak,
            last_checkin_day=renumbered[-1][0],
            makeup_cards=Member.makeup_cards + cards_rewarded,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    balance, tier, cards = await _standing(session, user_id)
    await session.commit()
    return MakeupResult(
        Status.DONE,
        yesterday,
        streak,
        bonus,
        cards,
        balance,
        tier,
        gains.tier_up,
        cards_rewarded > 0,
    )


async def buy_card(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    rules: CheckinRules,
    tiers: Sequence[Tier],
    spend_per_point: float | None = None,
) -> Change:
    """Buy one make-up card for `rules.card_price` points (a `makeup` ledger row) in one
    transaction; "insufficient" when the balance is short (nothing changes). Commits."""
    change = await points.apply(
        session,
        user_id=user_id,
        delta=-rules.card_price,
        reason=Reason.MAKEUP,
        ref=f"card:{uuid.uuid4().hex}",
        now=now,
        tiers=tiers,
        note="make-up card",
        commit=False,
        spend_per_point=spend_per_point,
    )
    if not change.applied:
        return change
    await session.execute(
        update(Member)
        .where(Member.user_id == user_id)
        .values(makeup_cards=Member.makeup_cards + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return change


async def profile(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    tz: ZoneInfo,
    tiers: Sequence[Tier],
    spend_per_point: float | None = None,
) -> Profile:
    """What /me shows; zeros for a user who never took part. Reads only, and ends the
    transaction (the values returned are plain)."""
    today = shop_day(now, tz)
    yesterday = today - timedelta(days=1)
    row = (
        await session.execute(
            select(Member.balance, Member.earned, Member.spend, Member.makeup_cards).where(
                Member.user_id == user_id
            )
        )
    ).first()
    days = await _streaks(session, user_id, today - timedelta(days=2), today)
    await session.rollback()
    balance, earned, spend, cards = (0, 0, 0, 0) if row is None else tuple(row)
    tier = tier_for(tiers, earned, spend, spend_per_point=spend_per_point)
    return Profile(
        balance=balance,
        earned=earned,
        spend=spend,
        tier=tier,
        next_tier=next_tier(tiers, tier),
        points_to_next=points_to_next(tiers, earned, spend, spend_per_point=spend_per_point),
        streak=days.get(today, days.get(yesterday, 0)),
        checked_in_today=today in days,
        makeup_cards=cards,
        can_make_up=yesterday not in days and (today - timedelta(days=2)) in days,
    )
