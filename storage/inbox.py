"""The inbox of polled updates: stored before they are confirmed, replayed after a crash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate
from storage.queries import insert_for

MAX_ATTEMPTS = 3


async def store(
    session: AsyncSession, updates: Sequence[tuple[int, dict[str, Any]]], *, now: datetime
) -> list[int]:
    """Store a batch; returns the ids that were new (a repeat delivery stores nothing)."""
    if not updates:
        return []
    table = InboxUpdate.__table__
    stmt = (
        insert_for(session, table)
        .values(
            [
                {"update_id": uid, "payload": payload, "status": "pending", "received_at": now}
                for uid, payload in updates
            ]
        )
        .on_conflict_do_nothing(index_elements=[table.c.update_id])
        .returning(table.c.update_id)
    )
    new = sorted(int(r) for r in (await session.execute(stmt)).scalars())
    await session.commit()
    return new


async def pending(session: AsyncSession, *, limit: int = 1000) -> list[tuple[int, dict[str, Any]]]:
    """Updates stored but not handled (a crash interrupted them), oldest first."""
    rows = (
        await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.payload)
            .where(InboxUpdate.status == "pending")
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
    ).all()
    await session.commit()
    return [(int(r.update_id), dict(r.payload or {})) for r in rows]


async def finish(session: AsyncSession, update_id: int, *, now: datetime, ok: bool) -> str:
    """Record the outcome: done, or another attempt (failed after MAX_ATTEMPTS)."""
    if ok:
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id)
            .values(status="done", payload=None, handled_at=now)
        )
        await session.commit()
        return "done"
    attempts = await session.scalar(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(attempts=InboxUpdate.attempts + 1)
        .returning(InboxUpdate.attempts)
    )
    status = "failed" if (attempts or 0) >= MAX_ATTEMPTS else "pending"
    if status == "failed":
        await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id)
            .values(status="failed", handled_at=now)
        )
    await session.commit()
    return status


async def prune(session: AsyncSession, *, before: datetime) -> int:
    done = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.received_at < before, InboxUpdate.status != "pending"
        )
    )
    await session.commit()
    return int(done.rowcount)  # type: ignore[attr-defined]
