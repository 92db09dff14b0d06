"""The welcome and win-back automations on SQLite and PostgreSQL: who they reach, once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns import automations, broadcasts
from campaigns.policy import AutomationRules, CampaignPolicy
from campaigns.schedule import MarketingRules
from community import drops
from storage.models import (
    AutomationSend,
    Broadcast,
    BroadcastRecipient,
    CouponDrop,
    OutboxMessage,
    User,
)
from tests.conftest import T0
from tests.db_helpers import count, race, rows

UTC = ZoneInfo("UTC")
POLICY = CampaignPolicy(
    tz=UTC,
    marketing=MarketingRules(tz=UTC, daily_cap=0),
    automations=AutomationRules(
        welcome=True, welcome_coupon="¥20 off", winback=True, winback_coupon="¥30 off"
    ),
)
BOTH = automations.KINDS


async def add_user(
    session: AsyncSession,
    uid: int,
    *,
    first_seen: datetime,
    last_seen: datetime | None = None,
    started: bool = True,
    opted_out: bool = False,
    blocked: bool = False,
) -> None:
    await session.execute(
        insert(User).values(
            id=uid,
            first_name=f"u{uid}",
            first_seen=first_seen,
            last_seen=last_seen or first_seen,
            started_at=first_seen if started else None,
            marketing_opt_out=opted_out,
            blocked=blocked,
        )
    )
    await session.commit()


async def reached(session: AsyncSession, kind: str) -> list[int]:
    found = await rows(session, AutomationSend, AutomationSend.kind == kind)
    return sorted(a.user_id for a in found)


async def recipients(session: AsyncSession, kind: str) -> Sequence[int]:
    b = await rows(session, Broadcast, Broadcast.kind == kind)
    ids = [x.id for x in b]
    got = await rows(session, BroadcastRecipient, BroadcastRecipient.broadcast_id.in_(ids))
    return sorted(r.user_id for r in got)


async def test_welcome_reaches_new_starters_once_and_winback_the_dormant(
    session: AsyncSession,
) -> None:
    await add_user(session, 1, first_seen=T0 - timedelta(days=2))  # new
    await add_user(session, 2, first_seen=T0 - timedelta(days=9))  # old, active
    await add_user(
        session, 3, first_seen=T0 - timedelta(days=90), last_seen=T0 - timedelta(days=31)
    )
    await add_user(session, 4, first_seen=T0 - timedelta(days=1), started=False)  # group only
    await add_user(session, 5, first_seen=T0 - timedelta(days=1), opted_out=True)
    await add_user(session, 6, first_seen=T0 - timedelta(days=1), blocked=True)
    await add_user(
        session, 7, first_seen=T0 - timedelta(days=90), last_seen=T0 - timedelta(days=20)
    )

    runs = await automations.run(session, POLICY, now=T0, kinds=BOTH)

    assert [(r.kind, r.recipients) for r in runs] == [("welcome", 1), ("winback", 1)]
    assert await recipients(session, "welcome") == [1]
    assert await recipients(session, "winback") == [3]
    # Each broadcast carries an invited-only coupon with one code per recipient.
    for r in runs:
        b = (await rows(session, Broadcast, Broadcast.id == r.broadcast_id))[0]
        assert b.status == "sending" and b.drop_id is not None
        d = (await rows(session, CouponDrop, CouponDrop.id == b.drop_id))[0]
        assert (d.audience, d.quantity, d.status, d.chat_id) == ("invited", 1, "live", None)
    assert await count(session, OutboxMessage, OutboxMessage.kind == "broadcast") == 2

    # The next day nobody new qualifies: nothing is sent again.
    again = await automations.run(session, POLICY, now=T0 + timedelta(days=1), kinds=BOTH)
    assert [(r.kind, r.recipients) for r in again] == [("welcome", 0), ("winback", 0)]
    assert await count(session, OutboxMessage, OutboxMessage.kind == "broadcast") == 2


async def test_winback_once_per_dormancy(session: AsyncSession) -> None:
    await add_user(
        session, 1, first_seen=T0 - timedelta(days=90), last_seen=T0 - timedelta(days=30)
    )
    await automations.run(session, POLICY, now=T0, kinds=[automations.WINBACK])
    await automations.run(session, POLICY, now=T0 + timedelta(days=5), kinds=[automations.WINBACK])
    assert await reached(session, "winback") == [1]

    # They come back, then go quiet again: a new dormancy, a new message.
    back = T0 + timedelta(days=6)
    await session.execute(update(User).where(User.id == 1).values(last_seen=back))
    await session.commit()
    await automations.run(session, POLICY, now=back + timedelta(days=29), kinds=["winback"])
    assert await reached(session, "winback") == [1]
    await automations.run(session, POLICY, now=back + timedelta(days=31), kinds=["winback"])
    assert await reached(session, "winback") == [1, 1]


async def test_the_daily_cap_leaves_users_for_the_next_run(session: AsyncSession) -> None:
    capped = replace(POLICY, marketing=MarketingRules(tz=UTC, daily_cap=1))
    await add_user(session, 1, first_seen=T0 - timedelta(days=1))
    await add_user(session, 2, first_seen=T0 - timedelta(days=1))
    earlier = await broadcasts.create(
        session, text="Sale!", created_by=9, now=T0 - timedelta(hours=2)
    )
    await broadcasts.start(
        session, earlier, rules=capped.marketing, now=T0 - timedelta(hours=2), user_ids=[1]
    )

    [run] = await automations.run(session, capped, now=T0, kinds=["welcome"])
    assert (run.recipients, run.capped) == (1, 1)
    assert await reached(session, "welcome") == [2]  # user 1 gave the claim back

    [run] = await automations.run(session, capped, now=T0 + timedelta(days=1), kinds=["welcome"])
    assert (run.recipients, run.capped) == (1, 0)
    assert await reached(session, "welcome") == [1, 2]


async def test_a_run_that_died_before_starting_is_finished_by_the_next(
    session: AsyncSession,
) -> None:
    await add_user(session, 1, first_seen=T0 - timedelta(days=1))
    # A run claimed the user and made its draft, then the process died.
    bid = await broadcasts.create(session, text="", created_by=None, now=T0, kind="welcome")
    session.add(
        AutomationSend(kind="welcome", user_id=1, ref="once", broadcast_id=bid, created_at=T0)
    )
    await session.commit()

    await automations.run(session, POLICY, now=T0 + timedelta(minutes=5), kinds=["welcome"])
    b = (await rows(session, Broadcast, Broadcast.id == bid))[0]
    assert b.status == "sending"
    assert await recipients(session, "welcome") == [1]
    assert await count(session, Broadcast, Broadcast.kind == "welcome") == 1


async def test_two_runs_at_once_reach_each_user_once(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    for uid in range(1, 21):
        await add_user(session, uid, first_seen=T0 - timedelta(days=1))

    async def one() -> list[automations.AutomationRun]:
        async with session_factory() as s:
            return await automations.run(s, POLICY, now=T0, kinds=["welcome"])

    from sqlalchemy import select

    await race(engine, select(User).where(User.id == 1).with_for_update(), one, one)
    assert await recipients(session, "welcome") == list(range(1, 21))
    assert await reached(session, "welcome") == list(range(1, 21))


async def test_stats_count_sent_claimed_and_came_back(session: AsyncSession) -> None:
    await add_user(session, 1, first_seen=T0 - timedelta(days=1))
    await add_user(session, 2, first_seen=T0 - timedelta(days=1))
    [run] = await automations.run(session, POLICY, now=T0, kinds=["welcome"])
    assert run.broadcast_id is not None
    for uid in (1, 2):
        assert await broadcasts.begin_send(session, run.broadcast_id, uid, now=T0) == "go"
        await broadcasts.finish_send(session, run.broadcast_id, uid, status="sent", now=T0)
    b = (await rows(session, Broadcast, Broadcast.id == run.broadcast_id))[0]
    assert b.drop_id is not None
    claim = await drops.claim(session, drop_id=b.drop_id, user_id=1, now=T0 + timedelta(hours=1))
    assert claim.status is drops.ClaimStatus.CLAIMED, claim
    await broadcasts.mark_returned(session, user_id=1, now=T0 + timedelta(hours=1))
    await session.commit()
    # A stranger (not a recipient) cannot claim the invited coupon.
    await add_user(session, 3, first_seen=T0)
    stranger = await drops.claim(
        session, drop_id=b.drop_id, user_id=3, now=T0 + timedelta(hours=1)
    )
    assert stranger.status is drops.ClaimStatus.NOT_ELIGIBLE

    [welcome] = await automations.stats(session, since=T0 - timedelta(days=1))
    assert (welcome.kind, welcome.sent, welcome.claimed, welcome.came_back) == ("welcome", 2, 1, 1)
