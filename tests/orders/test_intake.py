"""Orders coming in: idempotent upserts keyed by the shop's order id, and the customers'
proactive updates queued once per event, only for recent events, to every owner."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orders.intake import IntakeResult, upsert_orders
from orders.notices import dedupe_key
from orders.records import Event, OrderRecord, as_mapping, parse_object
from storage.models import CustomerPhone, Order, OrderLink, OutboxMessage, User
from tests.conftest import T0
from tests.db_helpers import count, rows, until_waiting

SHANGHAI = ZoneInfo("Asia/Shanghai")


def rec(order_id: str = "A1", **fields: object) -> OrderRecord:
    values: dict[str, object] = {
        "status": "paid",
        "amount_minor": 19900,
        "currency": "CNY",
        "telegram_id": 7,
        "items": "T-shirt x1",
    }
    values.update(fields)
    return OrderRecord(order_id=order_id, **values)  # type: ignore[arg-type]


async def notices(session: AsyncSession) -> list[tuple[int | None, str, dict[str, object], str]]:
    found = await rows(session, OutboxMessage, OutboxMessage.kind == "order_update")
    return [(m.chat_id, m.lane, m.payload or {}, m.dedupe_key or "") for m in found]


async def test_a_new_order_is_created_and_an_identical_resend_changes_nothing(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = await upsert_orders(session_factory, [rec(), rec("A2")], now=T0)
    assert first == IntakeResult(created=2)
    again = await upsert_orders(session_factory, [rec(), rec("A2")], now=T0 + timedelta(hours=1))
    assert again == IntakeResult(unchanged=2)
    (a1, _a2) = await rows(session, Order)
    assert a1.order_id == "A1" and a1.amount_minor == 19900 and a1.telegram_id == 7
    assert a1.created_at == T0 and a1.updated_at == T0  # the unchanged resend left it alone


async def test_a_resent_order_updates_its_row(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await upsert_orders(session_factory, [rec(items="old")], now=T0, notify=False)
    later = T0 + timedelta(hours=2)
    result = await upsert_orders(
        session_factory,
        [rec(items="new", carrier="SF", tracking_number="SF123", eta=T0 + timedelta(days=2))],
        now=later,
        notify=False,
    )
    assert result == IntakeResult(updated=1)
    (order,) = await rows(session, Order)
    assert (order.items, order.carrier, order.tracking_number) == ("new", "SF", "SF123")
    assert order.eta == T0 + timedelta(days=2)
    assert order.created_at == T0 and order.updated_at == later
    assert await count(session, Order) == 1


async def test_the_later_of_two_records_in_one_batch_wins(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    result = await upsert_orders(
        session_factory, [rec(status="paid"), rec(status="cancelled"), rec(status="cancelled")],
        now=T0,
    )  # fmt: skip
    assert result == IntakeResult(created=1, updated=1, unchanged=1)
    (order,) = await rows(session, Order)
    assert order.status == "cancelled"


async def test_chunks_commit_and_read_stored_rows(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    batch = [rec(f"C{i:03}", amount_minor=i) for i in range(25)]
    assert await upsert_orders(session_factory, batch, now=T0, chunk_size=7) == IntakeResult(
        created=25
    )
    changed = [rec(f"C{i:03}", amount_minor=i + (i % 2)) for i in range(25)]
    assert await upsert_orders(session_factory, changed, now=T0, chunk_size=4) == IntakeResult(
        updated=12, unchanged=13
    )
    stored = {o.order_id: o.amount_minor for o in await rows(session, Order)}
    assert stored == {f"C{i:03}": i + (i % 2) for i in range(25)}


async def test_events_are_kept_when_a_resend_has_none(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    events = (Event(T0, "picked up"), Event(T0 + timedelta(hours=3), "in Shanghai hub"))
    await upsert_orders(session_factory, [rec(events=events)], now=T0)
    assert await upsert_orders(session_factory, [rec()], now=T0) == IntakeResult(unchanged=1)
    (order,) = await rows(session, Order)
    assert order.events == [
        {"at": "2026-11-20T02:00:00+00:00", "text": "picked up"},
        {"at": "2026-11-20T05:00:00+00:00", "text": "in Shanghai hub"},
    ]
    assert await upsert_orders(session_factory, [rec(events=())], now=T0) == IntakeResult(
        updated=1
    )
    (order,) = await rows(session, Order)
    assert order.events == []


async def test_shipping_then_delivery_notify_the_owner_once_each(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await upsert_orders(session_factory, [rec()], now=T0)
    assert await notices(session) == []  # paid: nothing to say

    shipped = rec(status="shipped", shipped_at=T0 + timedelta(hours=1), tracking_number="SF1")
    now = T0 + timedelta(hours=2)
    assert await upsert_orders(session_factory, [shipped], now=now) == IntakeResult(
        updated=1, notices=1
    )
    # The same event again, and in transit (still "shipped" for the customer): nothing new.
    await upsert_orders(session_factory, [shipped], now=now)
    await upsert_orders(
        session_factory, [rec(status="in_transit", tracking_number="SF1")], now=now
    )
    delivered = rec(status="delivered", delivered_at=T0 + timedelta(days=1))
    result = await upsert_orders(session_factory, [delivered], now=T0 + timedelta(days=1, hours=1))
    assert result == IntakeResult(updated=1, notices=1)
    await upsert_orders(session_factory, [delivered], now=T0 + timedelta(days=1, hours=1))
    assert await notices(session) == [
        (7, "u:7", {"order_id": "A1", "event": "shipped"}, "order:A1:shipped:7"),
        (7, "u:7", {"order_id": "A1", "event": "delivered"}, "order:A1:delivered:7"),
    ]


async def test_the_same_event_after_a_status_flap_is_one_message(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await upsert_orders(session_factory, [rec(status="shipped")], now=T0)
    await upsert_orders(session_factory, [rec(status="paid")], now=T0)  # the shop's correction
    result = await upsert_orders(session_factory, [rec(status="shipped")], now=T0)
    assert result == IntakeResult(updated=1, notices=0)  # the database's dedupe key said no
    assert [n[3] for n in await notices(session)] == ["order:A1:shipped:7"]


async def test_history_messages_nobody(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    year_ago = T0 - timedelta(days=365)
    history = [
        rec("H1", status="delivered", shipped_at=year_ago, delivered_at=year_ago),
        rec("H2", status="shipped", shipped_at=T0 - timedelta(hours=25)),
        rec("F1", status="shipped", shipped_at=T0 - timedelta(hours=23)),
        rec("F2", status="delivered", delivered_at=None),  # no time given: it is news now
    ]
    result = await upsert_orders(session_factory, history, now=T0)
    assert result == IntakeResult(created=4, notices=2)
    assert sorted(n[3] for n in await notices(session)) == [
        "order:F1:shipped:7",
        "order:F2:delivered:7",
    ]
    # An old order re-sent with an old change of status: still nobody.
    stale = rec("H2", status="delivered", delivered_at=T0 - timedelta(days=3))
    assert await upsert_orders(session_factory, [stale], now=T0) == IntakeResult(updated=1)
    assert len(await notices(session)) == 2


async def test_no_notify_loads_without_messages(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    result = await upsert_orders(
        session_factory, [rec(status="shipped", shipped_at=T0)], now=T0, notify=False
    )
    assert result == IntakeResult(created=1)
    assert await notices(session) == []


async def test_a_new_delivered_order_says_delivered_only(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await upsert_orders(
        session_factory,
        [rec(status="shipped", shipped_at=T0), rec(status="delivered", delivered_at=T0)],
        now=T0,
    )
    assert [n[2]["event"] for n in await notices(session)] == ["delivered"]


async def test_phone_and_link_owners_are_told_too(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    for uid in (7, 8, 9):
        session.add(User(id=uid, first_name=f"u{uid}", first_seen=T0, last_seen=T0))
    await session.flush()
    session.add(CustomerPhone(phone="8613800138000", user_id=8, shared_at=T0))
    session.add(OrderLink(order_id="P2", user_id=9, linked_at=T0))
    await session.commit()

    phone_only = rec("P1", telegram_id=None, phone="8613800138000", status="shipped")
    both = rec("P2", telegram_id=7, status="shipped")
    nobody = rec("P3", telegram_id=None, phone="8613900000000", status="shipped")
    result = await upsert_orders(session_factory, [phone_only, both, nobody], now=T0)
    assert result == IntakeResult(created=3, notices=3)
    assert sorted((n[0], n[1], n[3]) for n in await notices(session)) == [
        (7, "u:7", "order:P2:shipped:7"),  # each owner has a key of their own
        (8, "u:8", "order:P1:shipped:8"),
        (9, "u:9", "order:P2:shipped:9"),
    ]
    await upsert_orders(session_factory, [rec("P2", status="paid")], now=T0)
    await upsert_orders(session_factory, [both], now=T0)
    assert len(await notices(session)) == 3


def test_dedupe_keys_fit_the_column() -> None:
    long_id = "X" * 64
    assert dedupe_key("A1", "delivered", 7) == "order:A1:delivered:7"
    key = dedupe_key(long_id, "delivered", 2**62)
    assert len(key) <= 96 and key.endswith(f":delivered:{2**62}")
    assert key == dedupe_key(long_id, "delivered", 2**62)  # the same every time
    assert key != dedupe_key("Y" * 64, "delivered", 2**62)


async def test_two_requests_inserting_the_same_new_order_both_succeed(
    engine: AsyncEngine, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    shipped = rec("R1", status="shipped")

    async def post() -> IntakeResult:
        return await upsert_orders(session_factory, [shipped], now=T0)

    if engine.dialect.name != "postgresql":  # one writer: the second comes after the first
        results = list(await asyncio.gather(post(), post()))
    else:
        # The test inserts R1 itself, uncommitted: both requests read "no such order", then
        # both wait at their INSERT. The test rolls back; the first inserts, the second
        # finds the conflict and must apply its record to the row the first wrote.
        async with engine.connect() as conn:
            row = {**as_mapping(shipped), "created_at": T0, "updated_at": T0}
            await conn.execute(insert(Order).values(row))
            tasks: list[asyncio.Task[IntakeResult]] = []
            try:
                for _ in range(2):
                    tasks.append(asyncio.ensure_future(post()))
                    await until_waiting(conn, len(tasks), tasks)
            finally:
                await conn.rollback()
            results = list(await asyncio.gather(*tasks))
    assert sorted(results, key=lambda r: r.created) == [
        IntakeResult(unchanged=1),
        IntakeResult(created=1, notices=1),
    ]
    assert await count(session, Order) == 1
    assert len(await notices(session)) == 1


async def test_records_from_json_round_trip_through_the_table(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    parsed = parse_object(
        {
            "order_id": "J1",
            "telegram_id": 7,
            "phone": "+86 138 0013 8000",
            "status": "in_transit",
            "amount": 1299,
            "currency": "jpy",
            "shipped_at": "2026-11-20",
            "eta": "2026-11-23T18:00:00+09:00",
            "events": [{"at": "2026-11-20T12:00:00", "text": "left the warehouse"}],
        },
        SHANGHAI,
    )
    assert isinstance(parsed, OrderRecord)
    await upsert_orders(session_factory, [parsed], now=T0)
    (order,) = await rows(session, Order)
    assert (order.amount_minor, order.currency, order.phone) == (1299, "JPY", "8613800138000")
    assert order.shipped_at == T0 - timedelta(hours=10)  # midnight in Shanghai
    assert order.eta is not None and order.eta.astimezone(UTC).hour == 9
    assert order.events == [{"at": "2026-11-20T04:00:00+00:00", "text": "left the warehouse"}]


async def test_two_requests_with_the_same_new_orders_in_opposite_order_do_not_deadlock(
    engine: AsyncEngine, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    batch = [rec(f"D{i:04}") for i in range(1000)]

    async def post(records: list[OrderRecord]) -> IntakeResult:
        return await upsert_orders(session_factory, records, now=T0)

    if engine.dialect.name != "postgresql":
        results = list(await asyncio.gather(post(batch), post(batch[::-1])))
    else:
        # The test holds an uncommitted D0500. Writing rows in the order given, the first
        # request would hold D0000-D0499 and the second D0999-D0501 while both wait for
        # D0500; once it is free, each would wait for the other's rows: a deadlock.
        async with engine.connect() as conn:
            middle = {**as_mapping(batch[500]), "created_at": T0, "updated_at": T0}
            await conn.execute(insert(Order).values(middle))
            tasks: list[asyncio.Task[IntakeResult]] = []
            try:
                for records in (batch, batch[::-1]):
                    tasks.append(asyncio.ensure_future(post(records)))
                    await until_waiting(conn, len(tasks), tasks)
            finally:
                await conn.rollback()
            results = list(await asyncio.gather(*tasks))
    assert sorted(results, key=lambda r: r.created) == [
        IntakeResult(unchanged=1000),
        IntakeResult(created=1000),
    ]
    assert await count(session, Order) == 1000


async def test_an_order_without_events_stores_sql_null(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # Not the JSON text 'null': "has no events" is `events IS NULL` in SQL, as for any column.
    await upsert_orders(session_factory, [rec("A1"), rec("A2", events=())], now=T0)
    session.add(
        Order(
            order_id="A3",
            status="paid",
            amount_minor=1,
            currency="CNY",
            items="",
            created_at=T0,
            updated_at=T0,
            events=None,
        )
    )
    await session.commit()
    missing = await session.scalars(
        select(Order.order_id).where(Order.events.is_(None)).order_by(Order.order_id)
    )
    assert list(missing) == ["A1", "A3"]
    (a2,) = await rows(session, Order, Order.order_id == "A2")
    assert a2.events == []  # an empty list sent is kept as an empty list
