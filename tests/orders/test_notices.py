"""Late orders: one notice per owner, never twice (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders import notices
from storage.models import CustomerPhone, OrderLink, OutboxMessage
from tests.conftest import T0
from tests.orders.factory import add_users, make_order

NOW = T0 + timedelta(days=10)


async def _rows(session: AsyncSession) -> list[tuple[Any, ...]]:
    found = await session.execute(
        select(
            OutboxMessage.chat_id, OutboxMessage.lane, OutboxMessage.dedupe_key,
            OutboxMessage.payload,
        ).where(OutboxMessage.kind == notices.KIND).order_by(OutboxMessage.id)
    )  # fmt: skip
    return [tuple(r) for r in found.all()]


async def test_a_late_order_is_flagged_once_per_owner(session: AsyncSession) -> None:
    await add_users(session, 1, 2, 3)
    late = NOW - timedelta(hours=2)
    session.add_all(
        [
            # two owners: its telegram id and a shared phone
            make_order("L1", telegram_id=1, phone="8613800138000", status="shipped", eta=late),
            make_order("L2", telegram_id=3, status="in_transit", eta=late),
            make_order("OK1", telegram_id=1, status="shipped", eta=NOW + timedelta(hours=1)),
            make_order("D1", telegram_id=1, status="delivered", eta=late),
            make_order("C1", telegram_id=1, status="cancelled", eta=late),
            make_order("R1", telegram_id=1, status="refunded", eta=late),
            make_order("X1", telegram_id=1, status="returned", eta=late),
            make_order("N1", telegram_id=1, status="shipped", eta=None),
            make_order("OLD", telegram_id=1, status="shipped", eta=NOW - timedelta(days=30)),
        ]
    )
    session.add(CustomerPhone(phone="8613800138000", user_id=2, shared_at=T0))
    await session.commit()

    assert await notices.flag_late(session, now=NOW) == 3
    rows = await _rows(session)
    assert sorted((r[0], r[1], r[2]) for r in rows) == [
        (1, "u:1", "order:L1:late:1"),
        (2, "u:2", "order:L1:late:2"),
        (3, "u:3", "order:L2:late:3"),
    ]
    assert {r[3]["event"] for r in rows} == {"late"}
    assert {r[3]["order_id"] for r in rows} == {"L1", "L2"}

    # Never twice, however often the job runs.
    assert await notices.flag_late(session, now=NOW) == 0
    assert await notices.flag_late(session, now=NOW + timedelta(minutes=5)) == 0
    assert len(await _rows(session)) == 3

    # An owner who links the order later gets theirs at the next run.
    session.add(OrderLink(order_id="L2", user_id=2, linked_at=NOW))
    await session.commit()
    assert await notices.flag_late(session, now=NOW + timedelta(minutes=10)) == 1
    assert len(await _rows(session)) == 4


async def test_an_order_nobody_owns_yet_queues_nothing(session: AsyncSession) -> None:
    session.add(make_order("L9", status="shipped", eta=NOW - timedelta(hours=1)))
    await session.commit()
    assert await notices.flag_late(session, now=NOW) == 0
    assert await _rows(session) == []
