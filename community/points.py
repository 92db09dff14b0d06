"""The points ledger: every change of a member's points is a row; the balance derives from it.

Rules owned here, each guarded by the database:
- the balance never goes negative: a debit is a conditional UPDATE
  (`... SET balance = balance - :cost WHERE balance >= :cost`), so of two racing debits
  only those that fit succeed; `CHECK (balance >= 0)` backs it up;
- `members.balance` is a cache of `SUM(points_ledger.delta)`, written in the same
  transaction as the ledger row, so the two never disagree;
- a reference earns or costs once: a repeated `(user, reason, ref)` is a no-op. It is
  checked first and `UNIQUE (user_id, reason, ref)` is the final guard against a race;
- `members.earned` (lifetime, for tiers) grows with earning credits only (check-ins,
  bonuses, rewards, positive admin adjustments); the tier is recomputed after each change.

Writers commit (or, when a change is refused, roll back) before they return, so the caller
talks to Telegram with no database connection held. `apply(commit=False)` leaves a
successful change uncommitted for the caller to combine with another write (a coupon
redemption); a refused change always rolls the whole transaction back, the caller's own
pending writes included, so the caller never has to guess what survived.

The readers `balance_from_ledger` and `history` leave the (read) transaction to the caller,
as `tickets.latest_ticket` does; `leaderboard` returns plain values and ends it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from community import announce
from community.tiers import Tier, tier_for
from storage.models import Member, PointsEntry, User
from storage.numbers import NumberError, read_id, read_int
from storage.queries import insert_for

REF_MAX = 64  # points_ledger.ref is VARCHAR(64)
MAX_ADJUSTMENT = 1_000_000
"""The largest change an admin can make in one /points (either way)."""
MAX_POINTS = 10**12
"""No balance or lifetime total goes past this (a credit that would is refused), so the
ledger's sums stay far inside a 64-bit integer: SQLite would otherwise turn an overflowing
sum into a float."""


class Reason(StrEnum):
    CHECKIN = "checkin"
    BONUS = "bonus"  # a streak bonus
    REDEEM = "redeem"  # points spent on a coupon
    EXPIRY = "expiry"
    ADJUST = "adjust"  # by an admin, with a reason
    MAKEUP = "makeup"  # a make-up card bought with points
    REWARD = "reward"  # granted for an activity or a campaign
    PURCHASE = "purchase"  # 购物得积分: a delivered order (ref: the shop's order id)


# Credits for these count towards `earned` (tiers, leaderboards); a positive REDEEM (a
# refund) or EXPIRY correction gives points back but does not count as earning.
EARNING = frozenset({Reason.CHECKIN, Reason.BONUS, Reason.REWARD, Reason.ADJUST, Reason.PURCHASE})


class ChangeCode(StrEnum):
    OK = "ok"
    DUPLICATE = "duplicate"  # this (user, reason, ref) was applied before
    INSUFFICIENT = "insufficient"  # a debit larger than the balance
    TOO_LARGE = "too_large"  # a credit would take the balance or earned past MAX_POINTS
    UNKNOWN_USER = "unknown_user"  # the bot never saw this user: no member to change


@dataclass(frozen=True, slots=True)
class Change:
    applied: bool
    balance: int  # after the change (the current balance when refused)
    earned: int
    tier: int  # index into the tier ladder
    tier_up: bool  # the change raised the tier: congratulate
    reason_code: ChangeCode
    member_name: str | None = None  # the member's first name (set by `adjust`)


async def _insert_member(session: AsyncSession, user_id: int, now: datetime) -> None:
    stmt = (
        insert_for(session, Member)
        .values(
            user_id=user_id,
            balance=0,
            earned=0,
            spend=0,
            tier=0,
            makeup_cards=0,
            streak=0,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    await session.execute(stmt)


async def ensure_member(
    session: AsyncSession, user_id: int, now: datetime, *, lock: bool = False
) -> Member:
    """The user's member row, created (all zeros) if missing; does not commit.

    The user must exist in `users`. The returned object is freshly read from the database;
    `lock` holds the row until the transaction ends (`FOR UPDATE`, PostgreSQL; SQLite has
    one writer anyway), so that a member's multi-step changes never interleave.
    """
    await _insert_member(session, user_id, now)
    query = select(Member).where(Member.user_id == user_id)
    if lock:
        query = query.with_for_update()
    member = await session.scalar(query.execution_options(populate_existing=True))
    assert member is not None
    return member


async def _has_entry(session: AsyncSession, user_id: int, reason: Reason, ref: str) -> bool:
    found = await session.scalar(
        select(PointsEntry.id)
        .where(
            PointsEntry.user_id == user_id,
            PointsEntry.reason == reason.value,
            PointsEntry.ref == ref,
        )
        .limit(1)
    )
    return found is not None


async def _refused(session: AsyncSession, user_id: int, code: ChangeCode) -> Change:
    """Roll back, then report the member's standing unchanged."""
    await session.rollback()
    row = (
        await session.execute(
            select(Member.balance, Member.earned, Member.tier).where(Member.user_id == user_id)
        )
    ).first()
    await session.rollback()
    if row is None:
        return Change(False, 0, 0, 0, False, code)
    return Change(False, row.balance, row.earned, row.tier, False, code)


async def apply(
    session: AsyncSession,
    *,
    user_id: int,
    delta: int,
    reason: Reason,
    ref: str,
    now: datetime,
    tiers: Sequence[Tier],
    note: str | None = None,
    by_id: int | None = None,
    commit: bool = True,
    spend_per_point: float | None = None,
) -> Change:
    """Add `delta` points (negative: a debit) as one ledger row, with the member's balance.

    `ref` names what the change is for (a day, a coupon, a purchase): the same
    `(user, reason, ref)` applies once; a repeat returns `applied=False, "duplicate"`. A
    debit larger than the balance returns `applied=False, "insufficient"`; a credit that
    would take the balance or `earned` past MAX_POINTS, "too_large". Any refusal
    rolls back the whole transaction, including the caller's pending writes.

    `commit=False` leaves a successful change uncommitted for the caller to combine with
    other writes. `spend_per_point` makes imported spend count for tiers (see `tiers`).
    """
    if delta == 0:
        raise ValueError("a points change must not be 0")
    if abs(delta) > MAX_POINTS:
        raise ValueError(f"a points change must be within ±{MAX_POINTS}, not {delta}")
    if not ref or len(ref) > REF_MAX:
        raise ValueError(f"ref must be 1..{REF_MAX} characters: {ref!r}")
    reason = Reason(reason)
    earn = delta if delta > 0 and reason in EARNING else 0

    await _insert_member(session, user_id, now)
    if await _has_entry(session, user_id, reason, ref):
        return await _refused(session, user_id, ChangeCode.DUPLICATE)

    stmt: Any = update(Member).where(Member.user_id == user_id)
    if delta < 0:
        stmt = stmt.where(Member.balance >= -delta)  # the guard: never negative
    else:  # and never past the ceiling
        stmt = stmt.where(Member.balance <= MAX_POINTS - delta, Member.earned <= MAX_POINTS - earn)
    stmt = (
        stmt.values(balance=Member.balance + delta, earned=Member.earned + earn, updated_at=now)
        .returning(Member.balance, Member.earned, Member.spend, Member.tier)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        code = ChangeCode.INSUFFICIENT if delta < 0 else ChangeCode.TOO_LARGE
        return await _refused(session, user_id, code)

    session.add(
        PointsEntry(
            user_id=user_id,
            delta=delta,
            reason=reason.value,
            ref=ref,
            note=note,
            by_id=by_id,
            created_at=now,
        )
    )
    try:
        await session.flush()
    except IntegrityError:  # the same ref raced this one and won
        return await _refused(session, user_id, ChangeCode.DUPLICATE)

    tier = tier_for(tiers, row.earned, row.spend, spend_per_point=spend_per_point)
    if tier != row.tier:
        await session.execute(
            update(Member)
            .where(Member.user_id == user_id)
            .values(tier=tier)
            .execution_options(synchronize_session=False)
        )
    if commit:
        await session.commit()
    return Change(True, row.balance, row.earned, tier, tier > row.tier, ChangeCode.OK)


async def adjust(
    session: AsyncSession,
    *,
    user_id: int,
    delta: int,
    reason_text: str,
    admin_id: int,
    now: datetime,
    tiers: Sequence[Tier],
    spend_per_point: float | None = None,
    congratulate: Callable[[int], str] | None = None,
) -> Change:
    """A manual change by an admin; the reason is required and kept in the ledger's note.

    A positive adjustment counts as earned (tiers); a negative one larger than the balance
    is refused ("insufficient"); a user the bot never saw, "unknown_user". When the change
    raises the member's tier, the text `congratulate(tier)` is queued for them in the same
    transaction. Each call is its own change (a fresh ref); the result names the member
    (`member_name`). Commits.
    """
    text = reason_text.strip()
    if not text:
        raise ValueError("an adjustment needs a reason")
    if abs(delta) > MAX_ADJUSTMENT:
        raise ValueError(f"an adjustment must be within ±{MAX_ADJUSTMENT}, not {delta}")
    name = await session.scalar(select(User.first_name).where(User.id == user_id))
    if name is None:
        await session.rollback()
        return Change(False, 0, 0, 0, False, ChangeCode.UNKNOWN_USER)
    change = await apply(
        session,
        user_id=user_id,
        delta=delta,
        reason=Reason.ADJUST,
        ref=f"adjust:{uuid.uuid4().hex}",
        now=now,
        tiers=tiers,
        note=text,
        by_id=admin_id,
        spend_per_point=spend_per_point,
        commit=False,
    )
    if change.applied:
        if change.tier_up and congratulate is not None:
            await announce.queue_notice(
                session, chat_id=user_id, text=congratulate(change.tier), now=now
            )
        await session.commit()
    return replace(change, member_name=name)


@dataclass(frozen=True, slots=True)
class AdjustCommand:
    """`/points <user id> <+N|-N> <reason>` read."""

    user_id: int
    delta: int
    reason: str


class AdjustCommandError(ValueError):
    """The command cannot be read; `problem` is "usage" (its shape, or the user id) or
    "amount" (not a whole number within ±MAX_ADJUSTMENT, or 0)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def parse_adjust_command(args: str) -> AdjustCommand:
    """Read `<user id> <+N|-N> <reason>`; raises AdjustCommandError."""
    parts = args.split(maxsplit=2)
    if len(parts) < 3 or not parts[2].strip():
        raise AdjustCommandError("usage")
    try:
        user_id = read_id(parts[0])
    except NumberError:
        raise AdjustCommandError("usage") from None
    try:
        delta = read_int(parts[1], low=-MAX_ADJUSTMENT, high=MAX_ADJUSTMENT, signed=True)
    except NumberError:
        raise AdjustCommandError("amount") from None
    if delta == 0:
        raise AdjustCommandError("amount")
    return AdjustCommand(user_id, delta, parts[2].strip())


async def balance_from_ledger(session: AsyncSession, user_id: int) -> int:
    """The balance as the ledger has it, `SUM(delta)`: for audits and tests."""
    total = await session.scalar(
        select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(PointsEntry.user_id == user_id)
    )
    return int(total or 0)


async def history(session: AsyncSession, user_id: int, limit: int = 20) -> list[PointsEntry]:
    """The member's latest ledger rows, newest first."""
    rows = await session.scalars(
        select(PointsEntry)
        .where(PointsEntry.user_id == user_id)
        .order_by(PointsEntry.created_at.desc(), PointsEntry.id.desc())
        .limit(limit)
    )
    return list(rows)


async def leaderboard(
    session: AsyncSession, *, since: datetime | None, limit: int = 10
) -> list[tuple[int, str, int]]:
    """`(user_id, first_name, points)`, most first: points earned since `since` (the
    weekly board; see `checkins.week_start`), or all-time by `members.earned` when None.

    Spending does not lower a place; ties go to the lower user id. Ends the transaction.
    """
    query: Any
    if since is None:
        query = (
            select(Member.user_id, User.first_name, Member.earned)
            .join(User, User.id == Member.user_id)
            .where(Member.earned > 0)
            .order_by(Member.earned.desc(), Member.user_id)
            .limit(limit)
        )
    else:
        total = func.sum(PointsEntry.delta)
        query = (
            select(PointsEntry.user_id, User.first_name, total)
            .join(User, User.id == PointsEntry.user_id)
            .where(
                PointsEntry.created_at >= since,
                PointsEntry.delta > 0,
                PointsEntry.reason.in_([r.value for r in EARNING]),
            )
            .group_by(PointsEntry.user_id, User.first_name)
            .order_by(total.desc(), PointsEntry.user_id)
            .limit(limit)
        )
    rows = (await session.execute(query)).all()
    await session.rollback()
    return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]
