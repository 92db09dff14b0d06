"""Welcoming new members of the community group, and the light anti-spam rule."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from community.points import ensure_member
from storage.models import Member


async def joined(session: AsyncSession, *, user_id: int, now: datetime) -> bool:
    """Record that a member joined the group now; False when they joined in the last minute
    already (Telegram reports a join twice: the service message and chat_member). Commits."""
    await ensure_member(session, user_id, now)
    done = await session.execute(
        update(Member)
        .where(
            Member.user_id == user_id,
            (Member.joined_group_at.is_(None))
            | (Member.joined_group_at < now - timedelta(minutes=1)),
        )
        .values(joined_group_at=now, updated_at=now)
    )
    await session.commit()
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def is_new(session: AsyncSession, *, user_id: int, now: datetime, hours: int) -> bool:
    """Joined the group less than `hours` ago (their links and forwards are held)."""
    if hours <= 0:
        return False
    at = await session.scalar(select(Member.joined_group_at).where(Member.user_id == user_id))
    return at is not None and at > now - timedelta(hours=hours)
