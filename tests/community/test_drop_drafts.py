"""Drops held by the copy guard, on SQLite and PostgreSQL: a draft is never started or
claimed; releasing it is logged once; discarding it frees its codes; and the two buttons
racing each other decide once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from community import drops
from community.drops import ClaimStatus
from storage.models import AuditEntry, CouponCode, CouponDrop, User
from tests.conftest import T0
from tests.db_helpers import count, race, rows

MANAGER = 900
MEMBER = 5_000_000_001


async def held(session: AsyncSession, **overrides: object) -> CouponDrop:
    kwargs: dict[str, object] = {
        "title": "最好的茶",
        "discount": "10% off",
        "quantity": 3,
        "starts_at": T0,
        "created_by": MANAGER,
        "now": T0,
        "hold": True,
    }
    kwargs.update(overrides)
    return await drops.create_drop(session, **kwargs)  # type: ignore[arg-type]


async def test_a_held_drop_is_a_draft_nobody_starts_or_claims(session: AsyncSession) -> None:
    session.add(User(id=MEMBER, first_name="m", first_seen=T0, last_seen=T0))
    await session.commit()
    drop = await held(session)
    assert drop.status == drops.DRAFT
    assert await drops.start_due(session, now=T0 + timedelta(hours=1)) == []
    result = await drops.claim(session, drop_id=drop.id, user_id=MEMBER, now=T0)
    assert result.status is ClaimStatus.NOT_STARTED
    assert await count(session, CouponCode, CouponCode.user_id.is_not(None)) == 0


async def test_release_schedules_the_drop_and_logs_the_override_once(
    session: AsyncSession,
) -> None:
    drop_id = (await held(session)).id
    words = ["最好", "the best", "最好"]
    assert await drops.release_draft(session, drop_id, actor_id=MANAGER, now=T0, words=words)
    assert not await drops.release_draft(session, drop_id, actor_id=MANAGER, now=T0)
    (row,) = await rows(session, CouponDrop, CouponDrop.id == drop_id)
    assert row.status == drops.SCHEDULED
    (entry,) = await rows(session, AuditEntry)
    assert (entry.actor_id, entry.action, entry.subject) == (
        MANAGER,
        "copy_override",
        f"drop:{drop_id}",
    )
    assert entry.detail == {"words": ["最好", "the best"]}
    assert entry.created_at.replace(tzinfo=None) == T0.replace(tzinfo=None)
    # now the scheduler starts it like any scheduled drop whose time has come
    assert await drops.start_due(session, now=T0 + timedelta(seconds=5)) == [drop_id]


async def test_only_drafts_can_be_released_or_discarded(session: AsyncSession) -> None:
    live = await held(session, hold=False)
    assert live.status == drops.LIVE
    live_id = live.id
    assert not await drops.release_draft(session, live_id, actor_id=MANAGER, now=T0)
    assert not await drops.discard_draft(session, live_id)
    assert not await drops.release_draft(session, 999, actor_id=MANAGER, now=T0)
    assert not await drops.discard_draft(session, 999)
    assert await count(session, AuditEntry) == 0
    assert await count(session, CouponCode, CouponCode.drop_id == live_id) == 3


async def test_discard_deletes_the_draft_and_frees_imported_codes(
    session: AsyncSession,
) -> None:
    codes = ["SHOP-A1", "SHOP-A2"]
    drop_id = (await held(session, quantity=2, codes=codes)).id
    assert await drops.discard_draft(session, drop_id)
    assert not await drops.discard_draft(session, drop_id)
    assert not await drops.release_draft(session, drop_id, actor_id=MANAGER, now=T0)
    assert await count(session, CouponDrop) == 0
    assert await count(session, CouponCode) == 0
    again = await held(session, quantity=2, codes=codes, title="好茶", hold=False)
    assert sorted(await session.scalars(select(CouponCode.code))) == codes
    assert again.status == drops.LIVE


async def test_publish_and_discard_tapped_at_once_decide_once(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as s:
        drop_id = (await held(s)).id

    async def release() -> bool:
        async with session_factory() as s:
            return await drops.release_draft(s, drop_id, actor_id=MANAGER, now=T0, words=["最好"])

    async def discard() -> bool:
        async with session_factory() as s:
            return await drops.discard_draft(s, drop_id)

    lock = select(CouponDrop).where(CouponDrop.id == drop_id).with_for_update()
    results = await race(engine, lock, release, discard, release)
    assert sorted(results) == [False, False, True]
    async with session_factory() as s:
        left = await rows(s, CouponDrop)
        entries = await count(s, AuditEntry)
        codes = await count(s, CouponCode)
    if results[1]:  # the discard won
        assert (left, entries, codes) == ([], 0, 0)
    else:
        assert [d.status for d in left] == [drops.SCHEDULED]
        assert (entries, codes) == (1, 3)
