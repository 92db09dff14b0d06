"""Whether a customer can be reached: a block is stored so no one keeps writing into a void."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.queries import set_blocked


async def note_reachability(
    session: AsyncSession, *, user_id: int, blocked: bool, now: datetime
) -> None:
    """Record a block (or unblock) reported by Telegram."""
    await set_blocked(session, user_id=user_id, blocked=blocked, now=now)
    await session.commit()
