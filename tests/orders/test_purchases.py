"""购物得积分: a delivered order earns its customer points once; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from community.tiers import DEFAULT_TIERS
from orders.purchases import BATCH, PurchasePoints, credit_delivered
from storage.models import CustomerPhone, Member, Order, OrderLink, PointsEntry, User
from tests.conftest import T0
from tests.db_helpers import rows

NOW = T0 + timedelta(days=40)
RULE = PurchasePoints(points_per_unit=1.0, window=timedelta(days=30))
LIN, MEI, JO = 101, 102, 103


def order(
    order_id: str, *, days_ago: float = 1, status: str = "delivered", **fields: object
) -> Order:
    delivered = NOW - timedelta(days=days_ago)
    values: dict[str, object] = {
        "status": status,
        "amount_minor": 19990,
        "currency": "CNY",
        "delivered_at": delivered if status == "delivered" else None,
        "created_at": delivered - timedelta(days=3),
        "updated_at": delivered,
    }
    values.update(fields)
    return Order(order_id=order_id, **values)


async def setup(session: AsyncSession) -> None:
    for uid in (LIN, MEI, JO):
        session.add(User(id=uid, first_name=f"u{uid}", first_seen=T0, last_seen=T0))
    await session.flush()
    session.add(CustomerPhone(phone="8613800138000", user_id=MEI, shared_at=T0))
    session.add(OrderLink(order_id="L1", user_id=JO, linked_at=T0))
    session.add_all(
        [
            order("A1", telegram_id=LIN),  # 199.90 CNY: 199 points
            order("A2", telegram_id=LIN, amount_minor=5000, currency="JPY"),  # 5000 points
            order("P1", phone="8613800138000"),  # Mei shared this phone
            order("L1"),  # Jo opened its signed link
            order("OLD", telegram_id=LIN, days_ago=31),  # outside the window
            order("SHIP", telegram_id=LIN, status="shipped"),  # not delivered yet
            order("GONE", telegram_id=LIN, status="refunded"),
            order("STRANGER", telegram_id=999),  # never talked to the bot
            order("NOBODY"),  # nobody to credit
        ]
    )
    await session.commit()


async def test_delivered_orders_earn_their_customers_points_once(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await setup(session)
    assert await credit_delivered(session_factory, RULE, now=NOW, tiers=DEFAULT_TIERS) == 4
    entries = {(e.user_id, e.ref): e.delta for e in await rows(session, PointsEntry)}
    assert entries == {(LIN, "A1"): 199, (LIN, "A2"): 5000, (MEI, "P1"): 199, (JO, "L1"): 199}
    assert all(e.reason == "purchase" for e in await rows(session, PointsEntry))
    # Runs again (a minute later, another replica): nothing more.
    assert await credit_delivered(session_factory, RULE, now=NOW, tiers=DEFAULT_TIERS) == 0
    members = {m.user_id: m for m in await rows(session, Member)}
    assert (members[LIN].balance, members[LIN].earned) == (5199, 5199)
    assert members[LIN].tier == 3  # purchases count for tiers: 5,199 reaches 钻石
    # The shipped one is delivered later: it earns then.
    (ship,) = await rows(session, Order, Order.order_id == "SHIP")
    ship.status, ship.delivered_at = "delivered", NOW
    await session.commit()
    assert await credit_delivered(session_factory, RULE, now=NOW, tiers=DEFAULT_TIERS) == 1


async def test_off_by_default_and_past_the_first_batch(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    session.add(User(id=LIN, first_name="Lin", first_seen=T0, last_seen=T0))
    await session.flush()
    # More orders than one batch that earn nothing (half a yuan), delivered before the one
    # that earns: the run goes past them.
    session.add_all(
        order(f"N{i:04d}", days_ago=2, telegram_id=LIN, amount_minor=50) for i in range(BATCH + 5)
    )
    session.add(order("MINE", telegram_id=LIN, days_ago=1))
    await session.commit()
    off = PurchasePoints(points_per_unit=0)
    assert await credit_delivered(session_factory, off, now=NOW, tiers=DEFAULT_TIERS) == 0
    assert await rows(session, PointsEntry) == []
    assert await credit_delivered(session_factory, RULE, now=NOW, tiers=DEFAULT_TIERS) == 1
    assert [e.ref for e in await rows(session, PointsEntry)] == ["MINE"]
