"""Signed order links and shared phone numbers (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orders import linking
from orders.ownership import order_for
from storage.models import OrderLink
from tests.conftest import T0
from tests.orders.factory import add_users, make_order

SECRET = b"a-test-secret-of-enough-length"


def test_a_link_fits_telegram_and_verifies() -> None:
    longest = "A" * linking.MAX_LINKABLE_ID
    for order_id in ("880123", "SO-2026_11-20", longest):
        parameter = linking.start_parameter(SECRET, order_id)
        assert len(parameter) <= 64
        assert all(c.isascii() and (c.isalnum() or c in "_-") for c in parameter)
        assert linking.verified_order(SECRET, parameter) == order_id
    url = linking.deep_link("@shop_bot", SECRET, "880123")
    assert url.startswith("https://t.me/shop_bot?start=o_880123_")


@pytest.mark.parametrize(
    "order_id", ["", "A" * (linking.MAX_LINKABLE_ID + 1), "SO 1", "订单1", "a:b"]
)
def test_ids_a_link_cannot_carry_are_refused(order_id: str) -> None:
    with pytest.raises(linking.NotLinkable):
        linking.start_parameter(SECRET, order_id)


def test_no_secret_no_link() -> None:
    with pytest.raises(linking.NotLinkable):
        linking.start_parameter(None, "880123")
    assert linking.verified_order(None, linking.start_parameter(SECRET, "880123")) is None


def test_forged_and_damaged_links_are_refused() -> None:
    good = linking.start_parameter(SECRET, "880123")
    sig = good.rsplit("_", 1)[1]
    forged = [
        good.replace("880123", "880124"),  # another order, the same signature
        good[:-1] + ("A" if good[-1] != "A" else "B"),  # one character changed
        good[:-1],  # cut short
        "o_880123",
        "o_880123_",
        f"o__{sig}",
        "o_" + "x" * 62,
        good + "A",
        linking.start_parameter(b"another-secret-entirely!", "880123"),
    ]
    for parameter in forged:
        assert linking.verified_order(SECRET, parameter) is None, parameter


async def test_opening_a_link_twice_links_once_and_may_come_before_the_order(
    session: AsyncSession,
) -> None:
    await add_users(session, 1)
    await session.commit()
    parameter = linking.start_parameter(SECRET, "880123")
    first = await linking.open_link(session, user_id=1, parameter=parameter, secret=SECRET, now=T0)
    assert first.status is linking.LinkStatus.WAITING and first.order_id == "880123"
    session.add(make_order("880123"))
    await session.commit()
    again = await linking.open_link(session, user_id=1, parameter=parameter, secret=SECRET, now=T0)
    assert again.status is linking.LinkStatus.LINKED and again.order is not None
    assert await session.scalar(select(func.count()).select_from(OrderLink)) == 1


async def test_a_forged_link_links_nothing(session: AsyncSession) -> None:
    await add_users(session, 1)
    session.add(make_order("880123", telegram_id=2))
    await session.commit()
    forged = linking.start_parameter(b"not-the-shop-secret-at-all", "880123")
    result = await linking.open_link(session, user_id=1, parameter=forged, secret=SECRET, now=T0)
    assert result.status is linking.LinkStatus.INVALID and result.order is None
    assert await session.scalar(select(func.count()).select_from(OrderLink)) == 0
    assert await order_for(session, 1, "880123") is None


async def test_a_shared_number_links_its_orders_and_moves_to_the_last_account(
    session: AsyncSession,
) -> None:
    await add_users(session, 1, 2)
    session.add(make_order("P1", phone="8613800138000"))
    await session.commit()
    mine = await linking.share_phone(
        session, user_id=1, contact_user_id=1, phone="+86 138 0013 8000", now=T0
    )
    assert mine.status is linking.PhoneStatus.LINKED
    assert [o.order_id for o in mine.orders] == ["P1"]
    # The same number re-shared by another account moves to it.
    theirs = await linking.share_phone(
        session, user_id=2, contact_user_id=2, phone="8613800138000", now=T0
    )
    assert [o.order_id for o in theirs.orders] == ["P1"]
    assert await linking.phones_of(session, 1) == []
    assert await linking.phones_of(session, 2) == ["8613800138000"]
    assert await order_for(session, 1, "P1") is None


async def test_someone_elses_contact_and_a_non_number_link_nothing(session: AsyncSession) -> None:
    await add_users(session, 1)
    session.add(make_order("P1", phone="8613800138000"))
    await session.commit()
    other = await linking.share_phone(
        session, user_id=1, contact_user_id=99, phone="13800138000", now=T0
    )
    unknown = await linking.share_phone(
        session, user_id=1, contact_user_id=None, phone="13800138000", now=T0
    )
    bad = await linking.share_phone(session, user_id=1, contact_user_id=1, phone="12", now=T0)
    assert other.status is unknown.status is linking.PhoneStatus.NOT_OWN
    assert bad.status is linking.PhoneStatus.INVALID
    assert await linking.phones_of(session, 1) == []


async def test_a_telegram_number_is_international_with_or_without_plus(
    session: AsyncSession,
) -> None:
    # Telegram sends the account's own number in international form, with a "+" or without
    # one depending on the client: never read it as a national number.
    await add_users(session, 1, 2)
    session.add_all(
        [make_order("US1", phone="14155550100"), make_order("CN1", phone="8613800138000")]
    )
    await session.commit()
    us = await linking.share_phone(
        session, user_id=1, contact_user_id=1, phone="14155550100", now=T0
    )
    cn = await linking.share_phone(
        session, user_id=2, contact_user_id=2, phone="+8613800138000", now=T0
    )
    assert [o.order_id for o in us.orders] == ["US1"]
    assert [o.order_id for o in cn.orders] == ["CN1"]
    assert await linking.phones_of(session, 1) == ["14155550100"]
