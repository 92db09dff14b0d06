"""Portable queries on SQLite and PostgreSQL: update de-duplication and the user upsert."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User
from storage.queries import mark_update_processed, set_blocked, upsert_user
from tests.conftest import T0


async def test_an_update_id_is_processed_once(session: AsyncSession) -> None:
    assert await mark_update_processed(session, 77, T0) is True
    await session.commit()
    assert await mark_update_processed(session, 77, T0) is False
    assert await mark_update_processed(session, 2**40, T0) is True  # ids beyond 32 bits


async def test_upsert_keeps_first_seen_and_override_refreshes_the_rest(
    session: AsyncSession,
) -> None:
    uid = 5_000_000_000  # Telegram ids exceed 32 bits
    first = await upsert_user(
        session, user_id=uid, username="ann", first_name="Ann", language_code="en", now=T0
    )
    await session.commit()
    assert first.first_seen == T0 and first.language is None
    user = await session.get(User, uid)
    assert user is not None
    user.language = "zh"
    await set_blocked(session, user_id=uid, blocked=True, now=T0)
    await session.commit()

    later = T0 + timedelta(days=3)
    again = await upsert_user(
        session, user_id=uid, username="ann2", first_name="安", language_code="zh-hans", now=later
    )
    await session.commit()
    assert again.first_seen == T0
    assert again.language == "zh"
    session.expire_all()
    row = await session.get(User, uid)
    assert row is not None
    assert (row.username, row.first_name, row.last_seen) == ("ann2", "安", later)
    assert row.blocked is False  # writing to us again means they unblocked


async def test_old_update_ids_are_pruned(session: AsyncSession) -> None:
    from storage.queries import prune_processed_updates

    for i, age in enumerate((0, 1, 3, 10)):
        assert await mark_update_processed(session, 100 + i, T0 - timedelta(days=age))
    await session.commit()
    removed = await prune_processed_updates(session, before=T0 - timedelta(days=2))
    assert removed == 2
    assert await mark_update_processed(session, 100, T0) is False  # recent ones still guard
    assert await mark_update_processed(session, 103, T0) is True  # pruned ones are forgotten


async def test_started_at_is_the_first_private_contact_and_is_kept(
    session: AsyncSession,
) -> None:
    uid = 5_000_000_001

    async def seen(hours: int, *, private: bool) -> None:
        await upsert_user(
            session,
            user_id=uid,
            username=None,
            first_name="Bo",
            language_code="zh",
            now=T0 + timedelta(hours=hours),
            private=private,
        )

    await seen(0, private=False)  # a tap in the group: not started
    await session.commit()
    assert (await session.get(User, uid)).started_at is None  # type: ignore[union-attr]

    await seen(1, private=True)
    await seen(2, private=True)
    await seen(3, private=False)
    await session.commit()
    session.expire_all()
    row = await session.get(User, uid)
    assert row is not None
    assert row.started_at == T0 + timedelta(hours=1)
    assert row.last_seen == T0 + timedelta(hours=3)
