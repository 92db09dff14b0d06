"""Community rules (points, tiers, check-ins) on SQLite and PostgreSQL, without Telegram.

Shared helpers: users and member reads; fresh reads, counts and `race` come from
tests/db_helpers.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Member, User
from tests.conftest import T0
from tests.db_helpers import count as count
from tests.db_helpers import race as race
from tests.db_helpers import rows as rows

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALICE, BOB, CAROL = 5_000_000_001, 5_000_000_002, 5_000_000_003  # ids exceed 32 bits
ADMIN = 900


def days(n: float) -> timedelta:
    return timedelta(days=n)


def at_shanghai(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


async def add_users(session: AsyncSession, *ids: int) -> None:
    names = {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}
    for user_id in ids:
        session.add(
            User(
                id=user_id,
                first_name=names.get(user_id, str(user_id)),
                first_seen=T0,
                last_seen=T0,
            )
        )
    await session.commit()


async def member(session: AsyncSession, user_id: int) -> Member:
    (found,) = await rows(session, Member, Member.user_id == user_id)
    return found


def member_lock(user_id: int) -> Select[Any]:
    return select(Member.user_id).where(Member.user_id == user_id).with_for_update()
