"""Orders coming in: the one writer of the `orders` table (CSV import and the HTTP API).

`upsert_orders` writes checked records (orders.records) idempotently, the shop's `order_id`
being the key: a re-sent order updates its row, an identical one changes nothing. It owns its
transactions and commits in chunks, and it queues the customers' proactive updates (an
`order_update` outbox row per owner, see orders/__init__.py) in the transaction of the change
that calls for them:

* `shipped` when an order becomes shipped or in transit, `delivered` when it becomes
  delivered (an order first seen in that state counts as becoming it);
* only when that happened recently: the event's time (`shipped_at` / `delivered_at`, or now
  when the shop gave none) within `fresh_within` of now, so that loading a year of history
  messages nobody;
* once per customer: `orders.notices.queue_update` writes them, and the outbox's dedupe key
  makes a second row for the same event and customer a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.notices import DELIVERED, SHIPPED, queue_update
from orders.records import OrderRecord, as_mapping
from storage.models import Order
from storage.queries import insert_for

ORDERS = cast(Table, Order.__table__)
FRESH_WITHIN = timedelta(hours=24)
CHUNK = 1000
_SHIPPED_STATES = frozenset({"shipped", "in_transit"})
# Every column the shop sends; a re-sent order whose values equal these is unchanged.
FIELDS: tuple[str, ...] = tuple(as_mapping(OrderRecord("x", "paid", 0, "CNY")))


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """Per record: created (a new order), updated (changed), unchanged (identical).
    `notices`: customer messages queued."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notices: int = 0

    def __add__(self, other: IntakeResult) -> IntakeResult:
        return IntakeResult(
            self.created + other.created,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.notices + other.notices,
        )


def event_of(before: str | None, after: str) -> str | None:
    """The customer-facing event of a status change (`before` None: a new order)."""
    if after == "delivered" and before != "delivered":
        return DELIVERED
    if after in _SHIPPED_STATES and before not in _SHIPPED_STATES and before != "delivered":
        return SHIPPED
    return None


@dataclass(slots=True)
class _Fold:
    """An order's values after the chunk's records for it, and what they did."""

    values: dict[str, Any]
    existed: bool
    changed: bool = False
    events: tuple[str, ...] = ()
    result: IntakeResult = IntakeResult()


def _fold(existing: dict[str, Any] | None, records: list[OrderRecord]) -> _Fold:
    fold = _Fold(values=dict(existing) if existing else {}, existed=existing is not None)
    events: list[str] = []
    created = updated = unchanged = 0
    for record in records:
        new = as_mapping(record)
        if new["events"] is None and fold.values:
            new["events"] = fold.values.get("events")  # no events sent: keep the stored ones
        before = fold.values.get("status") if fold.values else None
        if not fold.values:
            created += 1
        elif all(fold.values.get(f) == new[f] for f in FIELDS):
            unchanged += 1
            continue
        else:
            updated += 1
        event = event_of(before, new["status"])
        if event is not None and event not in events:
            events.append(event)
        fold.values = new
        fold.changed = True
    if DELIVERED in events:  # shipped and delivered at once: the customer needs the latter
        events = [DELIVERED]
    fold.events = tuple(events)
    fold.result = IntakeResult(created, updated, unchanged)
    return fold


def _fresh(values: dict[str, Any], event: str, now: datetime, window: timedelta) -> bool:
    at = values["shipped_at"] if event == SHIPPED else values["delivered_at"]
    return at is None or now - at <= window


async def _notify(
    session: AsyncSession, values: dict[str, Any], events: Iterable[str], now: datetime
) -> int:
    order = Order(
        order_id=values["order_id"], telegram_id=values["telegram_id"], phone=values["phone"]
    )
    return sum([len(await queue_update(session, order, event, now=now)) for event in events])


def _chunks(records: Iterable[OrderRecord], size: int) -> Iterator[list[OrderRecord]]:
    chunk: list[OrderRecord] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _read(session: AsyncSession, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = await session.execute(
        select(*(ORDERS.c[f] for f in FIELDS)).where(ORDERS.c.order_id.in_(list(ids)))
    )
    return {row.order_id: dict(row._mapping) for row in rows}


async def _write_chunk(
    session: AsyncSession,
    chunk: list[OrderRecord],
    *,
    now: datetime,
    notify: bool,
    fresh_within: timedelta,
) -> IntakeResult:
    by_id: dict[str, list[OrderRecord]] = {}
    for record in chunk:
        by_id.setdefault(record.order_id, []).append(record)
    stored = await _read(session, by_id)
    # In order_id order, so that two transactions writing the same orders take their row
    # locks in the same order (PostgreSQL): one waits for the other instead of a deadlock.
    folds = {oid: _fold(stored.get(oid), by_id[oid]) for oid in sorted(by_id)}

    new = [f for f in folds.values() if not f.existed]
    if new:
        inserted = set(
            (
                await session.execute(
                    insert_for(session, ORDERS)
                    .on_conflict_do_nothing(index_elements=[ORDERS.c.order_id])
                    .returning(ORDERS.c.order_id),
                    [{**f.values, "created_at": now, "updated_at": now} for f in new],
                )
            ).scalars()
        )
        raced = [f.values["order_id"] for f in new if f.values["order_id"] not in inserted]
        if raced:  # inserted meanwhile by another request: apply ours over theirs
            stored = await _read(session, raced)
            for oid in raced:
                folds[oid] = _fold(stored.get(oid), by_id[oid])

    changed = [f for f in folds.values() if f.existed and f.changed]
    if changed:
        await session.execute(
            update(ORDERS)
            .where(ORDERS.c.order_id == bindparam("v_order_id"))
            .values({f: bindparam(f"v_{f}") for f in FIELDS if f != "order_id"})
            .values(updated_at=now),
            [{f"v_{k}": v for k, v in f.values.items()} for f in changed],
        )

    total = IntakeResult()
    for fold in folds.values():
        total = total + fold.result
        if not notify or not fold.events:
            continue
        events = [e for e in fold.events if _fresh(fold.values, e, now, fresh_within)]
        if events:
            total = total + IntakeResult(notices=await _notify(session, fold.values, events, now))
    return total


async def upsert_orders(
    sessions: async_sessionmaker[AsyncSession],
    records: Iterable[OrderRecord],
    *,
    now: datetime,
    notify: bool = True,
    fresh_within: timedelta = FRESH_WITHIN,
    chunk_size: int = CHUNK,
) -> IntakeResult:
    """Write the records, `chunk_size` at a time, each chunk in one transaction (its stored
    rows read in one query). The later of two records for one order wins. `notify` False:
    no customer messages at all (loading history)."""
    total = IntakeResult()
    for chunk in _chunks(records, chunk_size):
        async with sessions() as session:
            total = total + await _write_chunk(
                session, chunk, now=now, notify=notify, fresh_within=fresh_within
            )
            await session.commit()
    return total
