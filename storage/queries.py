"""Small portable queries shared by the middlewares and the domain packages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate, User


def insert_for(session: AsyncSession, table: Any) -> Any:
    """`INSERT` that knows `ON CONFLICT` on both SQLite and PostgreSQL."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def mark_update_processed(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record an update id; False when it was recorded before (a repeat delivery)."""
    stmt = (
        insert_for(session, ProcessedUpdate)
        .values(update_id=update_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SeenUser:
    id: int
    language: str | None
    first_seen: datetime


async def upsert_user(
    session: AsyncSession,
    *,
    user_id: int,
    username: str | None,
    first_name: str,
    language_code: str | None,
    now: datetime,
) -> SeenUser:
    """Insert or refresh a user (last seen, names, Telegram language); they are reachable."""
    stmt = insert_for(session, User).values(
        id=user_id,
        username=username,
        first_name=first_name[:128],
        language_code=language_code,
        first_seen=now,
        last_seen=now,
        blocked=False,
        consecutive_misses=0,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={
            "username": stmt.excluded.username,
            "first_name": stmt.excluded.first_name,
            "language_code": stmt.excluded.language_code,
            "last_seen": stmt.excluded.last_seen,
            "blocked": False,
            "blocked_at": None,
        },
    ).returning(User.id, User.language, User.first_seen)
    row = (await session.execute(stmt)).one()
    return SeenUser(id=row.id, language=row.language, first_seen=row.first_seen)


async def set_blocked(
    session: AsyncSession, *, user_id: int, blocked: bool, now: datetime
) -> None:
    """Mark whether the user has blocked the bot (from my_chat_member or a failed send)."""
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(blocked=blocked, blocked_at=now if blocked else None)
    )


async def prune_processed_updates(session: AsyncSession, *, before: datetime) -> int:
    """Forget update ids older than `before` (Telegram keeps undelivered updates for 24 h)."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.received_at < before)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
