"""RFM groups as broadcast segments: who is high value, at risk, sleeping, from their
purchases only, by every ownership rule, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import broadcasts, segments
from campaigns.schedule import MarketingRules
from campaigns.segments import Segment, audience, toggled
from orders.money import minor_units
from orders.ownership import orders_of, owned_orders
from orders.rfm import RfmRules
from storage.models import (
    Broadcast,
    BroadcastRecipient,
    CustomerPhone,
    Order,
    OrderLink,
    User,
)
from tests.conftest import T0

NOW = T0
PHONE = "8613800138000"
HIGH, RISK, SLEEPY, SMALL, BY_PHONE, NEVER, OPTED_OUT, TWICE, BOTH = range(1, 10)
# Not sleeping: long ago but not rare; long ago but not small; rare and small but lately.
OFTEN_SMALL, ONCE_BIG, LATELY_SMALL = range(10, 13)
USERS = range(1, 13)


def order(order_id: str, days: int, yuan: int, status: str = "paid", **fields: object) -> Order:
    """An order placed `days` ago, of `yuan` in CNY unless said otherwise."""
    at = NOW - timedelta(days=days)
    values: dict[str, object] = {
        "status": status,
        "amount_minor": yuan * 100,
        "currency": "CNY",
        "created_at": at,
        "updated_at": at,
    }
    values.update(fields)
    return Order(order_id=order_id, **values)


async def shop(session: AsyncSession) -> None:
    """One customer in each group, some in none; defaults: recent 30 days, sleeping 90,
    window 365, frequent 3 orders, big ¥1000 (CNY)."""
    for uid in USERS:
        session.add(
            User(
                id=uid,
                first_name=f"u{uid}",
                first_seen=NOW - timedelta(days=500),
                last_seen=NOW,
                started_at=NOW - timedelta(days=500),
                language_code="zh" if uid == HIGH else "en",
                marketing_opt_out=uid == OPTED_OUT,
            )
        )
    await session.flush()
    session.add_all(
        [
            # High value: recent, 3 orders, ¥1200.
            order("H1", 5, 400, telegram_id=HIGH),
            order("H2", 60, 400, "delivered", telegram_id=HIGH),
            order("H3", 100, 400, "shipped", telegram_id=HIGH),
            # At risk: 3 orders and ¥1500 in the window, the last 40 days ago. The refunded
            # and cancelled ones 2 days ago do not make it recent.
            order("R1", 40, 500, "in_transit", telegram_id=RISK),
            order("R2", 50, 500, "delivered", telegram_id=RISK),
            order("R3", 200, 500, "delivered", telegram_id=RISK),
            order("R4", 2, 500, "refunded", telegram_id=RISK),
            order("R5", 2, 500, "cancelled", telegram_id=RISK),
            # Sleeping: the last purchase 120 days ago, one in the window, ¥200. Older
            # purchases fall out of the window; a cancelled, a returned and a pending order
            # lately are no purchases.
            order("S1", 120, 200, "delivered", telegram_id=SLEEPY),
            order("S2", 400, 900, "delivered", telegram_id=SLEEPY),
            order("S3", 410, 900, "delivered", telegram_id=SLEEPY),
            order("S4", 420, 900, "delivered", telegram_id=SLEEPY),
            order("S5", 10, 300, "cancelled", telegram_id=SLEEPY),
            order("S6", 11, 300, "returned", telegram_id=SLEEPY),
            order("S7", 1, 300, "pending", telegram_id=SLEEPY),
            # In no group: recent and 3 orders, but ¥50 in CNY; the dollars are not added.
            order("N1", 10, 50, telegram_id=SMALL),
            order("N2", 12, 2000, currency="USD", telegram_id=SMALL),
            order("N3", 14, 2000, currency="USD", telegram_id=SMALL),
            # High value by a shared phone only (no telegram_id on the orders).
            order("P1", 1, 500, phone=PHONE),
            order("P2", 3, 500, phone=PHONE),
            order("P3", 7, 500, phone=PHONE),
            # High value, but opted out of marketing: no broadcast reaches them.
            order("O1", 1, 900, telegram_id=OPTED_OUT),
            order("O2", 2, 900, telegram_id=OPTED_OUT),
            order("O3", 3, 900, telegram_id=OPTED_OUT),
            # Two orders, one of them theirs by id, phone and link at once: still two
            # orders (counted twice it would be three, high value).
            order("T1", 1, 800, telegram_id=TWICE, phone="14155550100"),
            order("T2", 2, 800, telegram_id=TWICE),
            # At risk through a signed link and an id: the linked order has no id or phone.
            order("B1", 45, 700, telegram_id=BOTH),
            order("B2", 50, 700),
            order("B3", 55, 700, telegram_id=BOTH),
            # Not sleeping: long ago but three orders; long ago but big; rare and small but
            # lately.
            order("F1", 100, 100, telegram_id=OFTEN_SMALL),
            order("F2", 110, 100, telegram_id=OFTEN_SMALL),
            order("F3", 120, 100, telegram_id=OFTEN_SMALL),
            order("G1", 95, 1500, telegram_id=ONCE_BIG),
            order("L1", 20, 100, telegram_id=LATELY_SMALL),
        ]
    )
    session.add(CustomerPhone(phone=PHONE, user_id=BY_PHONE, shared_at=NOW))
    session.add(CustomerPhone(phone="14155550100", user_id=TWICE, shared_at=NOW))
    session.add(OrderLink(order_id="T1", user_id=TWICE, linked_at=NOW))
    session.add(OrderLink(order_id="B2", user_id=BOTH, linked_at=NOW))
    await session.commit()


async def members(session: AsyncSession, seg: Segment, rules: RfmRules | None = None) -> set[int]:
    found = {
        int(cast(Any, u)) for u in await session.scalars(audience(seg, now=NOW, rfm_rules=rules))
    }
    assert await segments.count(session, seg, now=NOW, rfm_rules=rules) == len(found)
    return found


async def test_each_group_holds_its_customers_only(session: AsyncSession) -> None:
    await shop(session)
    assert await members(session, Segment(high_value=True)) == {HIGH, BY_PHONE}
    assert await members(session, Segment(at_risk=True)) == {RISK, BOTH}
    assert await members(session, Segment(sleeping=True)) == {SLEEPY}
    assert len(await members(session, Segment())) == len(USERS) - 1  # all but the opted out


async def test_groups_combine_with_the_other_filters(session: AsyncSession) -> None:
    await shop(session)
    assert await members(session, Segment(high_value=True, language="zh")) == {HIGH}
    assert await members(session, Segment(high_value=True, language="en")) == {BY_PHONE}
    assert await members(session, Segment(high_value=True, active=True)) == {HIGH, BY_PHONE}
    assert await members(session, Segment(high_value=True, dormant=True)) == set()
    assert await members(session, Segment(high_value=True, at_risk=True)) == set()


async def test_the_thresholds_are_the_rules_given(session: AsyncSession) -> None:
    await shop(session)
    # ¥1300: BY_PHONE's ¥1500 is big, HIGH's ¥1200 is not any more.
    assert await members(session, Segment(high_value=True), RfmRules(big_spend=1300)) == {BY_PHONE}
    # Two orders are frequent: TWICE (¥1600, 1 day ago) joins, SMALL (¥50) does not.
    two = RfmRules(frequent_orders=2)
    assert await members(session, Segment(high_value=True), two) == {HIGH, BY_PHONE, TWICE}
    # Recent = 45 days: RISK (40 days) and BOTH (45 days) are recent, so high value.
    recent = RfmRules(recent_days=45)
    assert await members(session, Segment(at_risk=True), recent) == set()
    assert await members(session, Segment(high_value=True), recent) == {
        HIGH,
        BY_PHONE,
        RISK,
        BOTH,
    }
    # Sleeping from 150 days: SLEEPY's last purchase (120 days) is too recent.
    assert await members(session, Segment(sleeping=True), RfmRules(sleeping_days=150)) == set()
    # A window of 3 years takes SLEEPY's old orders in: 4 orders, ¥2900, no longer rare.
    assert await members(session, Segment(sleeping=True), RfmRules(window_days=1100)) == set()
    # In dollars, SMALL's two USD orders are ¥-free big spend: high value (3 orders, $4000).
    usd = RfmRules(currency="USD", big_spend=1000)
    assert await members(session, Segment(high_value=True), usd) == {SMALL}


def test_big_spend_is_in_the_currencys_major_unit() -> None:
    assert RfmRules(big_spend=1000).big_spend_minor == 100_000
    assert RfmRules(big_spend=1000, currency="JPY").big_spend_minor == 1000
    assert minor_units("kwd") == 1000


async def test_owned_orders_agree_with_orders_of(session: AsyncSession) -> None:
    """The set-based form and the per-customer one are the same ownership rules."""
    await shop(session)
    owned = owned_orders()
    rows = await session.execute(select(owned.c.user_id, owned.c.order_id))
    pairs = {(int(user), str(oid)) for user, oid in rows}
    for uid in USERS:
        mine = {o.order_id for o in await orders_of(session, uid, limit=100)}
        assert {oid for user, oid in pairs if user == uid} == mine, uid
    assert (TWICE, "T1") in pairs and (BY_PHONE, "P1") in pairs and (BOTH, "B2") in pairs


def test_a_segment_stored_before_the_groups_still_loads() -> None:
    old = {
        "new": True,
        "active": False,
        "dormant": False,
        "tier_min": 2,
        "streak_min": None,
        "language": "zh",
    }
    seg = Segment.from_json(old)
    assert seg == Segment(new=True, tier_min=2, language="zh")
    assert not (seg.high_value or seg.at_risk or seg.sleeping)
    assert Segment.from_json(seg.to_json()) == seg
    assert Segment.from_json({**old, "sleeping": True, "later": 1}).sleeping
    assert not Segment.from_json({"high_value": "yes"}).high_value  # forged: off


async def test_a_draft_stored_with_an_old_segment_still_starts(session: AsyncSession) -> None:
    await shop(session)
    old = {"new": False, "active": True, "dormant": False, "tier_min": None, "language": "zh"}
    session.add(Broadcast(id=1, text="Hi", segment=old, status="draft", created_at=NOW))
    await session.commit()
    rules = MarketingRules(ZoneInfo("UTC"), daily_cap=0)
    started = await broadcasts.start(session, 1, rules=rules, now=NOW, rfm_rules=RfmRules())
    assert started is not None and started.total == 1  # HIGH, the one reading Chinese
    queued = await session.scalars(select(BroadcastRecipient.user_id))
    assert list(queued) == [HIGH]


@pytest.mark.parametrize("group", ["high_value", "at_risk", "sleeping"])
def test_the_buttons_toggle_each_group(group: str) -> None:
    on = toggled(Segment(language="en"), group, tiers=4)
    assert on is not None and getattr(on, group) and on.language == "en"
    off = toggled(on, group, tiers=4)
    assert off == Segment(language="en")
    assert toggled(Segment(), f"{group}=1", tiers=4) is None


async def test_an_imported_order_is_dated_by_its_payment_not_by_its_import(
    session: AsyncSession,
) -> None:
    await shop(session)
    # Last year's order imported today: paid 200 days ago, first seen by the bot now.
    session.add(order("IMPORTED", 0, 50, telegram_id=NEVER, paid_at=NOW - timedelta(days=200)))
    await session.commit()
    assert NEVER in await members(session, Segment(sleeping=True))
    assert NEVER not in await members(session, Segment(high_value=True))
