"""The inbox of updates (polled or posted to the webhook): stored before they are confirmed,
replayed after a crash.

A row is pending (stored, not handled), handling (claimed by a process, `handled_at` is the
claim's time), done or failed. Polling has one process, so it handles without claiming. Webhook
replicas share the table: each update is claimed before it is handled (`claim`, a conditional
UPDATE, so of two replicas replaying the same row only one gets it), and a claim older than the
lease is taken as its owner's death and may be claimed again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
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


async def pending(
    session: AsyncSession,
    *,
    limit: int = 1000,
    received_before: datetime | None = None,
    claimed_before: datetime | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """Updates stored but not handled (a crash interrupted them), oldest first: pending ones
    (only those received before `received_before`, when given) and, with `claimed_before`,
    those claimed before it whose handling never finished."""
    waiting = InboxUpdate.status == "pending"
    if received_before is not None:
        waiting = and_(waiting, InboxUpdate.received_at < received_before)
    if claimed_before is not None:
        stale = and_(InboxUpdate.status == "handling", InboxUpdate.handled_at < claimed_before)
        waiting = or_(waiting, stale)
    rows = (
        await session.execute(
            select(InboxUpdate.update_id, InboxUpdate.payload)
            .where(waiting)
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
    ).all()
    await session.commit()
    return [(int(r.update_id), dict(r.payload or {})) for r in rows]


async def claim(
    session: AsyncSession, update_id: int, *, now: datetime, claimed_before: datetime
) -> bool:
    """Take an update for handling: True for the one caller that moved it from pending (or
    from a claim older than `claimed_before`) to handling; False when another process has it
    or it is finished."""
    done = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.update_id == update_id,
            or_(
                InboxUpdate.status == "pending",
                and_(InboxUpdate.status == "handling", InboxUpdate.handled_at < claimed_before),
            ),
        )
        .values(status="handling", handled_at=now)
    )
    await session.commit()
    return int(done.rowcount) == 1  # type: ignore[attr-defined]


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
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(status=status, handled_at=now if status == "failed" else None)
    )
    await session.commit()
    return status


async def prune(session: AsyncSession, *, before: datetime) -> int:
    done = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.received_at < before, InboxUpdate.status.in_(("done", "failed"))
        )
    )
    await session.commit()
    return int(done.rowcount)  # type: ignore[attr-defined]
