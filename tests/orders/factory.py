"""Orders for tests, written straight to the table (intake is tested on its own)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Order, User
from tests.conftest import T0


def make_order(order_id: str, *, at: datetime = T0, minutes: int = 0, **fields: Any) -> Order:
    created = at + timedelta(minutes=minutes)
    values: dict[str, Any] = {
        "status": "paid",
        "amount_minor": 19900,
        "currency": "CNY",
        "items": "",
        "created_at": created,
        "updated_at": created,
    }
    values.update(fields)
    return Order(order_id=order_id, **values)


async def add_orders(sf: async_sessionmaker[AsyncSession], *orders: Order) -> None:
    async with sf() as s:
        s.add_all(orders)
        await s.commit()


async def add_users(session: AsyncSession, *ids: int, language: str | None = None) -> None:
    for uid in ids:
        session.add(
            User(id=uid, first_name=f"u{uid}", first_seen=T0, last_seen=T0, language=language)
        )
    await session.flush()
