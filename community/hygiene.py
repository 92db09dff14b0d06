"""Welcoming new members of the community group, and the light anti-spam rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from community import announce
from community.points import ensure_member
from storage.models import Member


async def joined(session: AsyncSession, *, user_id: int, now: datetime) -> bool:
    """Record that a member joined the group now; False when they joined in the last minute
    already (Telegram reports a join twice: the service message and chat_member). Commits."""
    done = await _record_join(session, user_id=user_id, now=now)
    await session.commit()
    return done


async def _record_join(session: AsyncSession, *, user_id: int, now: datetime) -> bool:
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
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def is_new(session: AsyncSession, *, user_id: int, now: datetime, hours: int) -> bool:
    """Joined the group less than `hours` ago (their links and forwards are held)."""
    if hours <= 0:
        return False
    at = await session.scalar(select(Member.joined_group_at).where(Member.user_id == user_id))
    return at is not None and at > now - timedelta(hours=hours)


async def members_joined(
    session: AsyncSession,
    *,
    chat_id: int,
    notice_id: int,
    welcomes: Sequence[tuple[int, str]],
    button: tuple[str, str] | None,
    lifetime: timedelta,
    now: datetime,
) -> int:
    """A join (or leave) notice in the group: each `(user id, welcome text)` joining is
    recorded and welcomed once (a reply removed after `lifetime`), and the notice itself is
    deleted at once. Returns how many were welcomed. Commits once."""
    welcomed = 0
    for user_id, text in welcomes:
        if await _record_join(session, user_id=user_id, now=now):
            await announce.queue_group_reply(
                session,
                chat_id=chat_id,
                reply_to=None,
                text=text,
                delete_after=lifetime,
                button=button,
                now=now,
            )
            welcomed += 1
    await announce.queue_delete(
        session, chat_id=chat_id, message_ids=[notice_id], after=timedelta(0), now=now
    )
    await session.commit()
    return welcomed


async def hold_link(
    session: AsyncSession,
    *,
    user_id: int,
    chat_id: int,
    message_id: int,
    hours: int,
    admin_ids: Sequence[int],
    report: str,
    now: datetime,
) -> bool:
    """A link or forward in the group: from a member who joined less than `hours` ago it is
    deleted and `report` goes to each admin; True when held. Commits (or, when the member
    is not new, ends the read)."""
    if not await is_new(session, user_id=user_id, now=now, hours=hours):
        await session.rollback()
        return False
    await announce.queue_delete(
        session, chat_id=chat_id, message_ids=[message_id], after=timedelta(0), now=now
    )
    for admin_id in admin_ids:
        await announce.queue_notice(session, chat_id=admin_id, text=report, now=now)
    await session.commit()
    return True
