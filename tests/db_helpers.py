"""Database helpers shared by the domain tests: fresh reads, counts, and real races."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Select, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.base import Base

M = TypeVar("M", bound=Base)
T = TypeVar("T")


async def rows(session: AsyncSession, model: type[M], *where: Any) -> list[M]:
    """Fresh rows of `model` (by primary key), read in a transaction of their own."""
    stmt = (
        select(model)
        .where(*where)
        .order_by(*inspect(model).primary_key)
        .execution_options(populate_existing=True)
    )
    found = list((await session.scalars(stmt)).all())
    await session.commit()
    return found


async def count(session: AsyncSession, model: type[Base], *where: Any) -> int:
    n = await session.scalar(select(func.count()).select_from(model).where(*where))
    await session.commit()
    return int(n or 0)


async def race(
    engine: AsyncEngine, lock: Select[Any], *calls: Callable[[], Awaitable[T]]
) -> list[T]:
    """Run `calls` at once, each in its own session.

    On PostgreSQL the race is made real: the test holds `lock` (a SELECT ... FOR UPDATE),
    starts the calls in turn, lets each run until it waits for that lock, then releases it.
    So every call has read what it reads before any of them writes. SQLite's single pooled
    connection serialises them instead.
    """
    if engine.dialect.name != "postgresql":
        return list(await asyncio.gather(*(call() for call in calls)))
    async with engine.connect() as conn:
        await conn.execute(lock)
        tasks: list[asyncio.Task[T]] = []
        try:
            for call in calls:
                tasks.append(asyncio.ensure_future(call()))
                await until_waiting(conn, len(tasks), tasks)
        finally:
            await conn.rollback()
        return list(await asyncio.gather(*tasks))


async def until_waiting(conn: AsyncConnection, n: int, tasks: list[asyncio.Task[T]]) -> None:
    """Until `n` sessions wait for a lock; RuntimeError if a call finishes instead."""
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    for _ in range(1000):
        # The activity view is a snapshot taken once per transaction: drop it.
        await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        if (await conn.scalar(waiting) or 0) >= n:
            return
        if any(t.done() for t in tasks):
            break
        await asyncio.sleep(0.01)
    await conn.rollback()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    raise RuntimeError(f"call {n} never waited for the lock: {results}")
