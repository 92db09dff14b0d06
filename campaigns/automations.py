"""Lifecycle automations: a welcome coupon for new users, a win-back coupon for dormant ones.

Both run daily (AUTOMATION_TIME) and go out as broadcasts of their own kind, so they share
the sender, the opt-out, the quiet hours and the daily cap with every other marketing message.

- Welcome: users who started the bot in the last `new_days` days, once per user.
- Win-back: users who started the bot and have not been seen for `dormant_days` days, once
  per dormancy: the reference is the day of their last interaction, so a user who comes back
  and goes quiet again is reached again, and a user who stays quiet is not reached twice.

"Once" is guarded by the database: `automation_sends` (UNIQUE kind, user, ref) is claimed
with ON CONFLICT DO NOTHING before anything is sent, so two runs (two processes, or a run
repeated after a crash) reach each user once. A user left out by the daily cap loses the
claim again and is tried on the next run. The steps commit one by one; a run that died
after claiming and before starting its broadcast is finished by the next run.

The coupon is a drop with audience ``invited``: one code per recipient, claimed with the
message's button by users the broadcast reached.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import broadcasts
from campaigns.policy import CampaignPolicy
from community import drops
from storage.models import (
    AutomationSend,
    Broadcast,
    BroadcastRecipient,
    CouponCode,
    CouponDrop,
    User,
)
from storage.queries import insert_for

WELCOME, WINBACK = "welcome", "winback"
KINDS = (WELCOME, WINBACK)
COME_BACK = timedelta(days=7)


@dataclass(frozen=True)
class AutomationRun:
    kind: str
    broadcast_id: int | None
    recipients: int  # the broadcast's recipients (after the daily cap)
    capped: int


def enabled(policy: CampaignPolicy) -> tuple[str, ...]:
    rules = policy.automations
    return tuple(k for k, on in ((WELCOME, rules.welcome), (WINBACK, rules.winback)) if on)


def coupon_of(policy: CampaignPolicy, kind: str) -> str:
    rules = policy.automations
    return rules.welcome_coupon if kind == WELCOME else rules.winback_coupon


def _reachable() -> Any:
    u = User.__table__.c
    return and_(u.started_at.is_not(None), u.marketing_opt_out.is_(False), u.blocked.is_(False))


def _candidates(kind: str, policy: CampaignPolicy, now: datetime) -> Any:
    """(user id, last seen) of the users `kind` should reach now."""
    u = User.__table__.c
    a = AutomationSend.__table__.c
    rules = policy.automations
    if kind == WELCOME:
        where = u.started_at >= now - timedelta(days=rules.new_days)
        done = exists().where(a.kind == kind, a.user_id == u.id)
    else:
        where = u.last_seen <= now - timedelta(days=rules.dormant_days)
        # Reached since the last interaction: this dormancy has had its message.
        done = exists().where(a.kind == kind, a.user_id == u.id, a.created_at > u.last_seen)
    return select(u.id, u.last_seen).where(_reachable(), where, ~done).order_by(u.id)


def _ref(kind: str, last_seen: datetime) -> str:
    return "once" if kind == WELCOME else last_seen.isoformat()[:32]


async def run(
    session: AsyncSession, policy: CampaignPolicy, *, now: datetime, kinds: Collection[str]
) -> list[AutomationRun]:
    """Run the automations named in `kinds` (those on, whose texts passed the copy guard)."""
    runs: list[AutomationRun] = []
    for kind in kinds:
        await _resume(session, policy, kind=kind, now=now)
        runs.append(await _run_one(session, policy, kind=kind, now=now))
    return runs


async def _run_one(
    session: AsyncSession, policy: CampaignPolicy, *, kind: str, now: datetime
) -> AutomationRun:
    users = (await session.execute(_candidates(kind, policy, now))).all()
    await session.rollback()
    if not users:
        return AutomationRun(kind, None, 0, 0)
    broadcast_id = await broadcasts.create(session, text="", created_by=None, now=now, kind=kind)
    a = AutomationSend.__table__
    claimed: list[int] = []
    for row in users:
        stmt = (
            insert_for(session, a)
            .values(
                kind=kind,
                user_id=row.id,
                ref=_ref(kind, row.last_seen),
                broadcast_id=broadcast_id,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[a.c.kind, a.c.user_id, a.c.ref])
            .returning(a.c.user_id)
        )
        if (await session.execute(stmt)).scalar_one_or_none() is not None:
            claimed.append(int(row.id))
    await session.commit()
    if not claimed:  # another run reached them first
        await session.execute(delete(Broadcast).where(Broadcast.id == broadcast_id))
        await session.commit()
        return AutomationRun(kind, None, 0, 0)
    return await _start(session, policy, kind=kind, broadcast_id=broadcast_id, now=now)


async def _resume(
    session: AsyncSession, policy: CampaignPolicy, *, kind: str, now: datetime
) -> None:
    """Start broadcasts an earlier run claimed users for but did not start (it died, or it
    is another process's run just now: starting is a conditional UPDATE, so one of the two
    starts it, with the same committed claims)."""
    a = AutomationSend.__table__.c
    drafts = list(
        await session.scalars(
            select(Broadcast.id).where(
                Broadcast.kind == kind,
                Broadcast.status == "draft",
                exists().where(a.broadcast_id == Broadcast.id),
            )
        )
    )
    await session.rollback()
    for broadcast_id in drafts:
        await _start(session, policy, kind=kind, broadcast_id=broadcast_id, now=now)


async def _start(
    session: AsyncSession, policy: CampaignPolicy, *, kind: str, broadcast_id: int, now: datetime
) -> AutomationRun:
    a = AutomationSend.__table__.c
    users = [
        int(u)
        for u in await session.scalars(
            select(a.user_id).where(a.broadcast_id == broadcast_id).order_by(a.user_id)
        )
    ]
    broadcast = await session.get(Broadcast, broadcast_id)
    assert broadcast is not None
    if broadcast.drop_id is None and users:
        drop = await drops.create_drop(
            session,
            title=kind,
            discount=coupon_of(policy, kind),
            quantity=len(users),
            valid_days=policy.automations.coupon_days,
            audience="invited",
            starts_at=now,
            created_by=None,
            now=now,
        )
        attached = await session.execute(
            update(Broadcast)
            .where(Broadcast.id == broadcast_id, Broadcast.drop_id.is_(None))
            .values(drop_id=drop.id)
        )
        if not getattr(attached, "rowcount", 0):  # another run attached its coupon first
            await session.execute(delete(CouponDrop).where(CouponDrop.id == drop.id))
        await session.commit()
    started = await broadcasts.start(
        session, broadcast_id, rules=policy.marketing, now=now, user_ids=users
    )
    if started is None:
        return AutomationRun(kind, broadcast_id, 0, 0)
    # Users the daily cap left out give their claim back: the next run tries them again.
    r = BroadcastRecipient.__table__.c
    await session.execute(
        delete(AutomationSend).where(
            a.broadcast_id == broadcast_id,
            ~exists().where(r.broadcast_id == broadcast_id, r.user_id == a.user_id),
        )
    )
    await session.commit()
    return AutomationRun(kind, broadcast_id, started.total, started.capped)


@dataclass(frozen=True)
class CampaignStats:
    """What marketing messages of one kind did since a time."""

    kind: str  # manual | welcome | winback
    broadcasts: int
    sent: int
    blocked: int
    claimed: int  # coupons claimed from the messages' buttons
    came_back: int  # recipients who used the bot within 7 days of the message


async def stats(session: AsyncSession, *, since: datetime) -> list[CampaignStats]:
    """Per kind, for broadcasts started since `since`; read-only (leaves the transaction)."""
    b = Broadcast.__table__.c
    r = BroadcastRecipient.__table__.c
    c = CouponCode.__table__.c
    recipients = (
        select(
            b.kind,
            func.count(func.distinct(b.id)).label("broadcasts"),
            func.count().filter(r.status == "sent").label("sent"),
            func.count().filter(r.status == "blocked").label("blocked"),
            # returned_at is only set within COME_BACK of the message (mark_returned).
            func.count().filter(r.status == "sent", r.returned_at.is_not(None)).label("came_back"),
        )
        .select_from(Broadcast.__table__.join(BroadcastRecipient.__table__))
        .where(b.started_at >= since)
        .group_by(b.kind)
    )
    claimed = (
        select(b.kind, func.count().label("claimed"))
        .select_from(Broadcast.__table__.join(CouponCode.__table__, c.drop_id == b.drop_id))
        .where(b.started_at >= since, c.user_id.is_not(None))
        .group_by(b.kind)
    )
    by_kind = {row.kind: int(row.claimed) for row in await session.execute(claimed)}
    out = [
        CampaignStats(
            kind=row.kind,
            broadcasts=int(row.broadcasts),
            sent=int(row.sent),
            blocked=int(row.blocked),
            claimed=by_kind.get(row.kind, 0),
            came_back=int(row.came_back),
        )
        for row in await session.execute(recipients)
    ]
    await session.rollback()  # a read: end it before the caller talks to Telegram
    order = ("manual", *KINDS)
    return sorted(out, key=lambda s: order.index(s.kind) if s.kind in order else len(order))
