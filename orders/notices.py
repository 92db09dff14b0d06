"""Updates the customer gets about an order, through the outbox (never a direct send).

An update is a row of kind KIND with payload ``{"order_id", "event"}``, its customer as the
chat, lane ``u:<customer>``. The shop's intake queues ``shipped`` and ``delivered``; the
scheduler's `flag_late` queues ``late`` for orders past their ETA. The dedupe key is
``order:<order_id>:<event>`` followed, for a row per owner, by ``:<customer>``: the
database's unique key, not Python state, makes it one message per event and customer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.ownership import owners
from storage import outbox
from storage.models import Order, OutboxMessage

KIND = "order_update"
SHIPPED = "shipped"
DELIVERED = "delivered"
LATE = "late"
EVENTS = (SHIPPED, DELIVERED, LATE)
# An order in one of these is not late whatever its ETA said.
SETTLED = ("delivered", "cancelled", "returned", "refunded")
# Only orders that became late within this window are flagged: the outbox keeps a sent row
# (and so its dedupe key) for a week, and an order flagged once must not be flagged again
# after its row is pruned. An order that went late while the bot was down longer than this
# gets no late notice.
LATE_WINDOW = timedelta(days=3)


_DEDUPE_MAX = cast(Any, OutboxMessage.__table__).c.dedupe_key.type.length


def dedupe_key(order_id: str, event: str, user_id: int) -> str:
    """`order:<order_id>:<event>:<customer>`: one message per event and customer, ever (the
    order id hashed when the key would not fit the column)."""
    key = f"order:{order_id}:{event}:{user_id}"
    if len(key) <= _DEDUPE_MAX:
        return key
    digest = hashlib.sha256(order_id.encode()).hexdigest()[:32]
    return f"order:#{digest}:{event}:{user_id}"


async def queue_update(
    session: AsyncSession, order: Order, event: str, *, now: datetime
) -> list[int]:
    """One row per owner of the order (none twice, ever); the customers queued now. Does
    not commit."""
    assert event in EVENTS
    queued: list[int] = []
    for user_id in await owners(session, order):
        row = await outbox.enqueue(
            session,
            kind=KIND,
            lane=f"u:{user_id}",
            chat_id=user_id,
            payload={"order_id": order.order_id, "event": event},
            dedupe_key=dedupe_key(order.order_id, event, user_id),
            now=now,
        )
        if row is not None:
            queued.append(user_id)
    return queued


async def late_orders(session: AsyncSession, *, now: datetime) -> Sequence[Order]:
    stmt = (
        select(Order)
        .where(
            Order.eta < now,
            Order.eta >= now - LATE_WINDOW,
            Order.status.not_in(SETTLED),
        )
        .order_by(Order.eta, Order.order_id)
    )
    return (await session.scalars(stmt)).all()


async def flag_late(session: AsyncSession, *, now: datetime) -> int:
    """Orders past their ETA (within LATE_WINDOW) and not settled: one ``late`` update per
    owner, once; an owner who links the order later gets theirs at the next run. Commits
    once; returns how many rows it queued (0 on every later run for the same orders)."""
    queued = 0
    for order in await late_orders(session, now=now):
        queued += len(await queue_update(session, order, LATE, now=now))
    await session.commit()
    return queued
