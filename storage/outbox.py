"""The durable outbox: Telegram calls stored with the change that needs them, sent later.

- `enqueue` adds a row inside the caller's business transaction (it does not commit).
- `claim` hands due rows to one sender: a conditional UPDATE ... RETURNING, so two senders
  never get the same row (PostgreSQL: the candidates are picked once, in a MATERIALIZED CTE,
  locked FOR UPDATE SKIP LOCKED, and the UPDATE re-checks `status = 'pending'`; SQLite: the
  single writer serialises).
- Rows of one `lane` go out in (`lane_order`, `id`) order: only the head of a lane (no
  pending or sending row of the lane before it) can be claimed, due or not, so a row that
  waits for a retry holds back the rows behind it.
- Everything but `enqueue` and `has_pending` commits before it returns: the sender talks to
  Telegram with no database connection held.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from typing import cast as typing_cast

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, RatePause
from storage.queries import insert_for

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
DROPPED = "dropped"
STATUSES = (PENDING, SENDING, SENT, FAILED, DROPPED)

OUTBOX = typing_cast(Table, OutboxMessage.__table__)
PAUSES = typing_cast(Table, RatePause.__table__)


def _status(name: str) -> ColumnElement[str]:
    # Statuses are written as SQL literals, not bound parameters, so that both planners can
    # match the partial index `ix_outbox_lane_pending` (WHERE status IN ('pending', 'sending')).
    assert name in STATUSES
    return literal_column(f"'{name}'", String)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed row, detached from the session."""

    id: int
    kind: str
    lane: str
    lane_order: int
    chat_id: int | None
    priority: int
    ticket_id: int | None
    ticket_message_id: int | None
    payload: dict[str, Any]  # {} when NULL
    dedupe_key: str | None
    attempts: int
    created_at: datetime


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    lane: str,
    now: datetime,
    chat_id: int | None = None,
    payload: dict[str, Any] | None = None,
    ticket_id: int | None = None,
    ticket_message_id: int | None = None,
    dedupe_key: str | None = None,
    lane_order: int = 1,
    priority: int = 0,
    delay: timedelta | None = None,
) -> int | None:
    """Add a row; its id, or None when `dedupe_key` was used before. Does not commit."""
    t = OUTBOX
    stmt = (
        insert_for(session, t)
        .values(
            kind=kind,
            lane=lane,
            lane_order=lane_order,
            chat_id=chat_id,
            priority=priority,
            ticket_id=ticket_id,
            ticket_message_id=ticket_message_id,
            payload=null() if payload is None else payload,
            dedupe_key=dedupe_key,
            status=PENDING,
            attempts=0,
            next_attempt_at=now + delay if delay is not None else now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[t.c.dedupe_key])
        .returning(t.c.id)
    )
    new_id = (await session.execute(stmt)).scalar_one_or_none()
    return None if new_id is None else int(new_id)


async def enqueue_many(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, now: datetime
) -> None:
    """`enqueue` for many rows in one statement execution (rows with a `dedupe_key` used
    before are skipped). Each row gives `kind`, `lane` and optionally `chat_id`,
    `payload`, `dedupe_key`, `priority`. Does not commit."""
    if not rows:
        return
    t = OUTBOX
    stmt = insert_for(session, t).on_conflict_do_nothing(index_elements=[t.c.dedupe_key])
    await session.execute(
        stmt,
        [
            {
                "kind": r["kind"],
                "lane": r["lane"],
                "lane_order": 1,
                "chat_id": r.get("chat_id"),
                "priority": r.get("priority", 0),
                "ticket_id": None,
                "ticket_message_id": None,
                "payload": r.get("payload"),
                "dedupe_key": r.get("dedupe_key"),
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for r in rows
        ],
    )


async def has_pending(session: AsyncSession, *, ticket_id: int, kind: str) -> bool:
    """Whether a row of `kind` for the ticket still waits (not yet claimed): coalesce edits.

    A row being sent does not count: it may carry an older state. Leaves the transaction to
    the caller.
    """
    t = OUTBOX
    query = select(
        exists().where(t.c.ticket_id == ticket_id, t.c.kind == kind, t.c.status == PENDING)
    )
    return bool(await session.scalar(query))


async def bring_forward(
    session: AsyncSession, *, lane: str, kind: str, due: datetime, priority: int | None = None
) -> bool:
    """Make the lane's pending `kind` rows due by `due` at the latest (and of `priority`);
    whether there was one. Leaves the transaction to the caller."""
    t = OUTBOX
    values: dict[str, Any] = {
        "next_attempt_at": case((t.c.next_attempt_at > due, due), else_=t.c.next_attempt_at)
    }
    if priority is not None:
        values["priority"] = priority
    done = await session.execute(
        update(t)
        .where(t.c.lane == lane, t.c.kind == kind, t.c.status == _status(PENDING))
        .values(**values)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _lane_head(o: FromClause) -> ColumnElement[bool]:
    """`o` heads its lane: no pending or sending row of the lane comes before it."""
    # Written as "o is the lane's first row" rather than NOT EXISTS (an earlier row): the
    # ORDER BY ... LIMIT 1 probe walks `ix_outbox_lane_pending` and stops at the first entry
    # on both databases, where PostgreSQL planned NOT EXISTS as a hash anti-join that is
    # quadratic in the length of a lane (1.8 s a claim with 8,000 rows in one lane).
    e = OUTBOX.alias("e")
    first = (
        select(e.c.id)
        .where(e.c.lane == o.c.lane, e.c.status.in_([_status(PENDING), _status(SENDING)]))
        .order_by(e.c.lane_order, e.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return o.c.id == first


def _chat_scope(o: FromClause) -> ColumnElement[str]:
    return literal_column("'chat:'", String) + cast(o.c.chat_id, String)


def _picked(ids: Select[tuple[int]], table: FromClause, name: str, pg: bool) -> Select[Any]:
    """`SELECT id FROM <name>`: the ids chosen by `ids`, chosen exactly once.

    On PostgreSQL they are locked FOR UPDATE SKIP LOCKED, so a second sender passes them by
    instead of waiting. A plain `IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)` may be run
    again for every outer row, each run skipping what other senders locked meanwhile, and so
    claim far more than `n` rows (seen: 389 rows for limit 7). A MATERIALIZED CTE runs once.
    """
    if pg:
        ids = ids.with_for_update(skip_locked=True, of=table)
    chosen = ids.cte(name).prefix_with("MATERIALIZED")
    return select(chosen.c.id)


async def claim(
    session: AsyncSession, *, worker: str, now: datetime, lease: timedelta, limit: int = 50
) -> list[Claimed]:
    """Take up to `limit` due lane heads for `worker` until `now + lease`; commits.

    Rows whose lease ran out (their sender died) are put back first. The rows come from
    distinct lanes, sorted by (priority, id).
    """
    t = OUTBOX
    pg = _is_postgres(session)

    stale = OUTBOX.alias("s")
    expired = select(stale.c.id).where(
        stale.c.status == _status(SENDING), stale.c.lease_until < now
    )
    await session.execute(
        update(t)
        .where(t.c.id.in_(_picked(expired, stale, "expired", pg)), t.c.status == _status(SENDING))
        .values(status=PENDING, claimed_by=None, lease_until=None)
    )

    o = OUTBOX.alias("o")
    r = PAUSES.alias("r")
    paused = exists().where(
        r.c.until > now, or_(r.c.scope == "global", r.c.scope == _chat_scope(o))
    )
    candidates = (
        select(o.c.id)
        .where(o.c.status == _status(PENDING), o.c.next_attempt_at <= now, _lane_head(o), ~paused)
        .order_by(o.c.priority, o.c.id)
        .limit(limit)
    )
    stmt = (
        update(t)
        .where(t.c.id.in_(_picked(candidates, o, "picked", pg)), t.c.status == _status(PENDING))
        .values(
            status=SENDING,
            claimed_by=worker,
            lease_until=now + lease,
            attempts=t.c.attempts + 1,
        )
        .returning(
            t.c.id,
            t.c.kind,
            t.c.lane,
            t.c.lane_order,
            t.c.chat_id,
            t.c.priority,
            t.c.ticket_id,
            t.c.ticket_message_id,
            t.c.payload,
            t.c.dedupe_key,
            t.c.attempts,
            t.c.created_at,
        )
    )
    rows = (await session.execute(stmt)).all()
    await session.commit()
    claimed = [
        Claimed(
            id=row.id,
            kind=row.kind,
            lane=row.lane,
            lane_order=row.lane_order,
            chat_id=row.chat_id,
            priority=row.priority,
            ticket_id=row.ticket_id,
            ticket_message_id=row.ticket_message_id,
            payload=dict(row.payload) if row.payload else {},
            dedupe_key=row.dedupe_key,
            attempts=row.attempts,
            created_at=row.created_at,
        )
        for row in rows
    ]
    claimed.sort(key=lambda c: (c.priority, c.id))  # RETURNING order is unspecified
    return claimed


async def _set(session: AsyncSession, row_id: int, **values: Any) -> None:
    t = OUTBOX
    await session.execute(update(t).where(t.c.id == row_id).values(**values))
    await session.commit()


async def mark_sent(session: AsyncSession, row_id: int, *, now: datetime) -> None:
    """Telegram took it. Commits."""
    await _set(session, row_id, status=SENT, sent_at=now, lease_until=None, last_error=None)


async def mark_dropped(session: AsyncSession, row_id: int, *, reason: str, now: datetime) -> None:
    """The row became pointless (e.g. the customer blocked the bot); not an error. Commits."""
    await _set(session, row_id, status=DROPPED, lease_until=None, last_error=reason)


async def mark_failed(session: AsyncSession, row_id: int, *, error: str, now: datetime) -> None:
    """The row failed for good. Commits."""
    await _set(session, row_id, status=FAILED, lease_until=None, last_error=error)


async def retry_later(
    session: AsyncSession,
    row_id: int,
    *,
    at: datetime,
    error: str | None,
    count_attempt: bool = True,
) -> None:
    """Put a claimed row back, due at `at`; commits.

    `count_attempt=False` gives back the attempt the claim counted (a 429, a pacing wait or a
    topic re-creation is not the row's fault). `error=None` keeps the last error. A row that
    another sender already finished (sent, failed, dropped) is left alone.
    """
    t = OUTBOX
    values: dict[str, Any] = {
        "status": PENDING,
        "next_attempt_at": at,
        "claimed_by": None,
        "lease_until": None,
    }
    if error is not None:
        values["last_error"] = error
    if not count_attempt:
        values["attempts"] = case((t.c.attempts > 0, t.c.attempts - 1), else_=0)
    await session.execute(
        update(t)
        .where(t.c.id == row_id, t.c.status.in_([_status(PENDING), _status(SENDING)]))
        .values(**values)
    )
    await session.commit()


async def drop_lane(
    session: AsyncSession,
    lane: str,
    *,
    reason: str,
    now: datetime,
    kinds: Collection[str] | None = None,
) -> int:
    """Drop the lane's waiting rows (optionally only `kinds`); rows in flight finish. Commits."""
    t = OUTBOX
    stmt = update(t).where(t.c.lane == lane, t.c.status == _status(PENDING))
    if kinds is not None:
        stmt = stmt.where(t.c.kind.in_(list(kinds)))
    result = await session.execute(stmt.values(status=DROPPED, last_error=reason))
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def pause(session: AsyncSession, scope: str, *, until: datetime) -> None:
    """No sender sends in `scope` (`global` or `chat:<id>`) before `until`; a later pause
    already recorded is kept. Commits."""
    t = PAUSES
    stmt = insert_for(session, t).values(scope=scope, until=until)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.scope],
        set_={
            "until": case((stmt.excluded.until > t.c.until, stmt.excluded.until), else_=t.c.until)
        },
    )
    await session.execute(stmt)
    await session.commit()


async def next_due(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the next claim can find something (for the sender's sleep); None when idle.

    The earliest of: a lane head's `next_attempt_at`, pushed back by an active pause of its
    chat; a lease that runs out. No earlier than an active global pause. A value <= `now`
    means something is due already. Commits (it only reads).
    """
    o = OUTBOX.alias("o")
    r = PAUSES.alias("r")
    due = case((r.c.until > o.c.next_attempt_at, r.c.until), else_=o.c.next_attempt_at)
    heads = (
        select(func.min(due))
        .select_from(o.outerjoin(r, and_(r.c.scope == _chat_scope(o), r.c.until > now)))
        .where(o.c.status == _status(PENDING), _lane_head(o))
    )
    leases = select(func.min(OUTBOX.c.lease_until)).where(OUTBOX.c.status == _status(SENDING))
    global_pause = select(PAUSES.c.until).where(PAUSES.c.scope == "global", PAUSES.c.until > now)
    head: datetime | None = await session.scalar(heads)
    lease: datetime | None = await session.scalar(leases)
    held: datetime | None = await session.scalar(global_pause)
    await session.commit()
    times = [x for x in (head, lease) if x is not None]
    if not times:
        return None
    earliest = min(times)
    return max(earliest, held) if held is not None else earliest


async def backlog(session: AsyncSession) -> dict[str, int]:
    """Rows per status, every status present (0 when none). Commits (it only reads)."""
    t = OUTBOX
    rows = (await session.execute(select(t.c.status, func.count()).group_by(t.c.status))).all()
    await session.commit()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: int(n) for status, n in rows})
    return counts


def backoff(
    attempts: int,
    *,
    base: float = 1.0,
    cap: float = 300.0,
    jitter: float = 0.2,
    rand: Callable[[], float] = random.random,
) -> timedelta:
    """`base * 2**(attempts - 1)` seconds, at most `cap`, then +- `jitter` (a fraction)."""
    exponent = min(max(attempts - 1, 0), 62)  # 2**62 s is past any cap; avoids float overflow
    delay = min(cap, base * 2.0**exponent)
    delay *= 1 + jitter * (2 * rand() - 1)
    return timedelta(seconds=max(delay, 0.0))


async def prune(session: AsyncSession, *, before: datetime) -> int:
    """Delete rows sent or dropped before `before` (failed rows stay for a person to see)."""
    t = OUTBOX
    done = await session.execute(
        delete(t).where(t.c.status.in_((SENT, DROPPED)), t.c.created_at < before)
    )
    await session.commit()
    return int(done.rowcount)  # type: ignore[attr-defined]
