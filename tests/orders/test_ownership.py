"""Whose order is it: by telegram_id, by a shared phone, by a signed link; nobody else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from orders.ownership import normalize_phone, order_for, orders_of, owners
from storage.models import CustomerPhone, Order, OrderLink, User
from tests.conftest import T0


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("+86 138-0013-8000", "8613800138000"),
        ("008613800138000", "8613800138000"),
        ("13800138000", "8613800138000"),
        ("8613800138000", "8613800138000"),
        ("+1 (415) 555-0100", "14155550100"),
        ("", None),
        ("12345", None),
        ("call me", None),
        (None, None),
    ],
)
def test_phones_are_digits_with_the_country_code_first(raw: str | None, phone: str | None) -> None:
    assert normalize_phone(raw) == phone


def order(order_id: str, *, minutes: int = 0, **fields: object) -> Order:
    at = T0 + timedelta(minutes=minutes)
    values: dict[str, object] = {
        "status": "paid",
        "amount_minor": 19900,
        "currency": "CNY",
        "created_at": at,
        "updated_at": at,
    }
    values.update(fields)
    return Order(order_id=order_id, **values)


async def test_an_order_is_shown_to_its_owners_only(session: AsyncSession) -> None:
    for uid in (1, 2, 3, 4):
        session.add(User(id=uid, first_name=f"u{uid}", first_seen=T0, last_seen=T0))
    await session.flush()
    session.add_all(
        [
            order("A1", telegram_id=1, minutes=1),
            order("A2", phone="8613800138000", minutes=2),
            order("A3", minutes=3),
            order("A4", telegram_id=4, minutes=4),
        ]
    )
    await session.flush()
    session.add(CustomerPhone(phone="8613800138000", user_id=1, shared_at=T0))
    session.add(OrderLink(order_id="A3", user_id=1, linked_at=T0))
    await session.commit()

    assert [o.order_id for o in await orders_of(session, 1)] == ["A3", "A2", "A1"]
    assert [o.order_id for o in await orders_of(session, 1, limit=2)] == ["A3", "A2"]
    assert await orders_of(session, 2) == []
    for mine in ("A1", "A2", "A3"):
        found = await order_for(session, 1, mine)
        assert found is not None and found.order_id == mine
    assert await order_for(session, 1, "A4") is None  # someone else's
    assert await order_for(session, 1, "NOPE") is None  # unknown: the same answer
    assert await order_for(session, 3, "A1") is None
    a2 = await order_for(session, 1, "A2")
    assert a2 is not None
    assert await owners(session, a2) == [1]
    a4 = await order_for(session, 4, "A4")
    assert a4 is not None and await owners(session, a4) == [4]
