"""Small portable queries shared by the middlewares and the domain packages."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate, User


def insert_for(session: AsyncSession, table: Any) -> Any:
    """`INSERT` that knows `ON CONFLICT` on both SQLite and PostgreSQL."""
    return _insert(_dialect(session), table)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


# The two statements below run on every update. They are built once per dialect, on the
# Table (a params dict on an ORM entity would switch SQLAlchemy to bulk mode), and take
# bound parameters: rebuilding them per call cost about a third of the update's time.
@functools.cache
def _mark_update_stmt(dialect: str) -> Any:
    table = ProcessedUpdate.__table__
    return _insert(dialect, table).on_conflict_do_nothing(index_elements=[table.c.update_id])


async def mark_update_processed(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record an update id; False when it was recorded before (a repeat delivery)."""
    result = await session.execute(
        _mark_update_stmt(_dialect(session)), {"update_id": update_id, "received_at": now}
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SeenUser:
    id: int
    language: str | None
    first_seen: datetime


@functools.cache
def _upsert_user_stmt(dialect: str) -> Any:
    return _upsert_users_stmt(dialect).returning(
        User.__table__.c.id, User.__table__.c.language, User.__table__.c.first_seen
    )


@functools.cache
def _upsert_users_stmt(dialect: str) -> Any:
    table = User.__table__
    stmt = _insert(dialect, table)
    refreshed = ("username", "first_name", "language_code", "last_seen", "blocked", "blocked_at")
    changes: dict[str, Any] = {name: stmt.excluded[name] for name in refreshed}
    # The first private contact is kept: it makes the user a possible broadcast recipient.
    changes["started_at"] = func.coalesce(table.c.started_at, stmt.excluded.started_at)
    return stmt.on_conflict_do_update(index_elements=[table.c.id], set_=changes)


async def upsert_user(
    session: AsyncSession,
    *,
    user_id: int,
    username: str | None,
    first_name: str,
    language_code: str | None,
    now: datetime,
    private: bool = False,
) -> SeenUser:
    """Insert or refresh a user (last seen, names, Telegram language); they are reachable.

    `private`: the update came from the user's private chat with the bot (they started it).
    """
    params = {
        "id": user_id,
        "username": username,
        "first_name": first_name[:128],
        "language_code": language_code,
        "first_seen": now,
        "last_seen": now,
        "blocked": False,
        "blocked_at": None,
        "consecutive_misses": 0,
        "started_at": now if private else None,
    }
    row = (await session.execute(_upsert_user_stmt(_dialect(session)), params)).one()
    return SeenUser(id=row.id, language=row.language, first_seen=row.first_seen)


@dataclass(frozen=True, slots=True)
class TgUser:
    """What an update says about its sender, for a refresh written later (`upsert_users`)."""

    id: int
    username: str | None
    first_name: str
    language_code: str | None


async def upsert_users(session: AsyncSession, users: Sequence[TgUser], *, now: datetime) -> None:
    """`upsert_user` for many users seen in groups (not their private chat), in one
    statement execution; the transaction is the caller's."""
    if not users:
        return
    await session.execute(
        _upsert_users_stmt(_dialect(session)),
        [
            {
                "id": u.id,
                "username": u.username,
                "first_name": u.first_name[:128],
                "language_code": u.language_code,
                "first_seen": now,
                "last_seen": now,
                "blocked": False,
                "blocked_at": None,
                "consecutive_misses": 0,
                "started_at": None,
            }
            for u in sorted(users, key=lambda u: u.id)  # one lock order on PostgreSQL
        ],
    )


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
