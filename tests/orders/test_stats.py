"""After-sales figures per window, on SQLite and PostgreSQL, checked against hand counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from orders.stats import AfterSalesFigures, after_sales_stats
from storage.models import AfterSalesCase
from tests.conftest import T0
from tests.orders.factory import add_users, make_order

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = T0  # 2026-11-20 02:00 UTC, 10:00 in Shanghai
MIDNIGHT = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)  # 2026-11-20 00:00 in Shanghai
CUSTOMER, AGENT = 7001, 101
DAY = 86400.0


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def case(
    order_id: str,
    created_at: datetime,
    status: str,
    *,
    decided_at: datetime | None = None,
    resolved_at: datetime | None = None,
    resolution: str = "refund",
) -> AfterSalesCase:
    return AfterSalesCase(
        order_id=order_id,
        user_id=CUSTOMER,
        lang="en",
        items="all",
        reason="size",
        resolution=resolution,
        status=status,
        created_at=created_at,
        decided_at=decided_at,
        decided_by=AGENT if decided_at else None,
        resolved_at=resolved_at,
        resolved_by=AGENT if resolved_at else None,
    )


# Resolution times of the cases that reached a final state (refunded or rejected):
# c3 2d - 30m = 171000 s (today), c10 3600, c4 7200, c6 15 d (7d), c5 1 d, c7 20 d (30d).
def fixed_cases() -> list[AfterSalesCase]:
    return [
        case("C1", MIDNIGHT, "open"),  # opened at local midnight: today
        case(
            "C2",
            MIDNIGHT + timedelta(hours=1),
            "approved",
            decided_at=MIDNIGHT + timedelta(hours=2),
        ),
        case(
            "C3",
            ago(days=2),
            "refunded",
            decided_at=ago(days=2) + timedelta(hours=1),
            resolved_at=ago(minutes=30),
            resolution="exchange",
        ),
        case("C4", ago(days=3), "rejected", decided_at=ago(days=3) + timedelta(hours=2)),
        case("C10", ago(days=4), "rejected", decided_at=ago(days=4) + timedelta(hours=1)),
        case("C9", ago(days=5), "open"),
        case("C6", ago(days=20), "rejected", decided_at=ago(days=5)),
        case(
            "C5",
            ago(days=10),
            "refunded",
            decided_at=ago(days=10, hours=-1),
            resolved_at=ago(days=9),
        ),
        # Opened and approved before the 30 days, refunded inside them.
        case("C7", ago(days=40), "refunded", decided_at=ago(days=39), resolved_at=ago(days=20)),
        # All before the 30 days: counted nowhere.
        case("C8", ago(days=60), "rejected", decided_at=ago(days=59)),
    ]


async def seed_cases(session: AsyncSession) -> None:
    """The cases above, each on an order of its own (one active case per order)."""
    cases = fixed_cases()
    await add_users(session, CUSTOMER)
    session.add_all(
        make_order(c.order_id, at=c.created_at - timedelta(days=5), status="delivered")
        for c in cases
    )
    await session.flush()
    session.add_all(cases)
    await session.commit()


async def test_after_sales_figures_per_window(session: AsyncSession) -> None:
    await seed_cases(session)
    today, week, month = await after_sales_stats(session, now=NOW, tz=SHANGHAI)

    assert today == AfterSalesFigures(
        label="today",
        since=MIDNIGHT,
        opened=2,  # C1, C2
        approved=1,  # C2
        rejected=0,
        refunded=1,  # C3, an exchange
        exchanges=1,
        resolution_p50=2 * DAY - 1800,
        resolution_rate=0.0,  # neither C1 nor C2 is resolved
    )
    assert week == AfterSalesFigures(
        label="7d",
        since=ago(days=7),
        opened=6,  # C1, C2, C3, C4, C10, C9
        approved=2,  # C2, C3 (refunded since: still an approval)
        rejected=3,  # C4, C10, and C6 (opened 20 days ago, rejected 5 days ago)
        refunded=1,
        exchanges=1,
        resolution_p50=7200,  # of 3600, 7200, 171000, 15 d: nearest rank 2
        resolution_rate=0.5,  # C3, C4, C10 of the six
    )
    assert month == AfterSalesFigures(
        label="30d",
        since=ago(days=30),
        opened=8,  # the six, C6, C5
        approved=3,  # C2, C3, C5 (C7 was approved 39 days ago)
        rejected=3,  # C4, C10, C6
        refunded=3,  # C3 (exchange), C5, C7
        exchanges=1,
        resolution_p50=DAY,  # of 3600, 7200, 1 d, 171000, 15 d, 20 d: nearest rank 3
        resolution_rate=5 / 8,  # C3, C4, C10, C6, C5; C1, C2, C9 are not resolved
    )
    assert not session.in_transaction()  # a read: it ends its transaction


async def test_no_cases_no_rate(session: AsyncSession) -> None:
    figures = await after_sales_stats(session, now=NOW, tz=SHANGHAI)
    assert [f.label for f in figures] == ["today", "7d", "30d"]
    for f in figures:
        assert (f.opened, f.approved, f.rejected, f.refunded) == (0, 0, 0, 0)
        assert f.resolution_p50 is None and f.resolution_rate is None


async def test_naive_now_is_refused(session: AsyncSession) -> None:
    with pytest.raises(ValueError, match="naive"):
        await after_sales_stats(session, now=NOW.replace(tzinfo=None), tz=SHANGHAI)
