"""购物得积分: a delivered order earns its customer points, once.

An order earns when it is delivered (not when paid: most returns come before delivery),
``points_per_unit`` points per whole unit of its currency, rounded down. The points go to
one customer: the order's ``telegram_id``, else whoever shared its phone number, else
whoever opened its signed link. The ledger's ``UNIQUE (user, reason, ref)`` with the shop's
order id as ``ref`` makes it once per order, whatever the number of runs or replicas.

Only orders delivered within ``window`` earn, so that importing a year of history, or a
customer linking an old phone number, does not pour old purchases into the ledger. A later
refund or return does not take the points back (left to an admin's ``/points``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from community import points
from community.tiers import Tier
from orders.money import to_major
from storage.models import CustomerPhone, Order, OrderLink, PointsEntry, User

BATCH = 200  # orders read per query


@dataclass(frozen=True, slots=True)
class PurchasePoints:
    points_per_unit: float  # 0: purchases earn nothing
    window: timedelta = timedelta(days=30)

    @property
    def enabled(self) -> bool:
        return self.points_per_unit > 0

    def points_for(self, order: Order) -> int:
        return math.floor(
            float(to_major(order.amount_minor, order.currency)) * self.points_per_unit
        )


async def _earner(session: AsyncSession, order: Order) -> int | None:
    if order.telegram_id is not None:
        known = await session.scalar(select(User.id).where(User.id == order.telegram_id))
        if known is not None:
            return order.telegram_id
    if order.phone:
        phone_owner = await session.scalar(
            select(CustomerPhone.user_id).where(CustomerPhone.phone == order.phone)
        )
        if phone_owner is not None:
            return int(phone_owner)
    linked = await session.scalar(
        select(OrderLink.user_id)
        .where(OrderLink.order_id == order.order_id)
        .order_by(OrderLink.linked_at)
        .limit(1)
    )
    return int(linked) if linked is not None else None


def _due(rule: PurchasePoints, now: datetime, after: tuple[datetime, str] | None) -> Select[Order]:
    """Delivered orders in the window that have a customer to earn and have not earned."""
    credited = exists().where(
        PointsEntry.reason == points.Reason.PURCHASE.value, PointsEntry.ref == Order.order_id
    )
    has_earner = or_(
        Order.telegram_id.in_(select(User.id)),
        Order.phone.in_(select(CustomerPhone.phone)),
        Order.order_id.in_(select(OrderLink.order_id)),
    )
    query = select(Order).where(
        Order.status == "delivered",
        Order.delivered_at >= now - rule.window,
        Order.amount_minor > 0,
        has_earner,
        ~credited,
    )
    if after is not None:  # keyset: the orders after the last one looked at
        query = query.where(tuple_(Order.delivered_at, Order.order_id) > tuple_(*after))
    return query.order_by(Order.delivered_at, Order.order_id).limit(BATCH)


async def credit_delivered(
    session_factory: async_sessionmaker[AsyncSession],
    rule: PurchasePoints,
    *,
    now: datetime,
    tiers: Sequence[Tier],
) -> int:
    """Credit the recently delivered orders that have not earned yet; how many were credited.
    Each credit is its own transaction (points.apply commits)."""
    if not rule.enabled:
        return 0
    done = 0
    after: tuple[datetime, str] | None = None
    while True:
        async with session_factory() as session:
            batch = list(await session.scalars(_due(rule, now, after)))
            earners = [(order, await _earner(session, order)) for order in batch]
            await session.commit()
        for order, user_id in earners:
            amount = rule.points_for(order)
            if user_id is None or amount <= 0:
                continue
            async with session_factory() as session:
                change = await points.apply(
                    session,
                    user_id=user_id,
                    delta=amount,
                    reason=points.Reason.PURCHASE,
                    ref=order.order_id,
                    note=f"order {order.order_id}",
                    now=now,
                    tiers=tiers,
                )
            done += change.applied
        if len(batch) < BATCH:
            return done
        last = batch[-1]
        assert last.delivered_at is not None
        after = (last.delivered_at, last.order_id)
