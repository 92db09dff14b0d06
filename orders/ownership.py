"""Who an order belongs to, and a customer's orders.

An order is a customer's when its ``telegram_id`` is theirs, when it was placed with a phone
number they shared with Telegram's own contact button, or when they opened the shop's signed
deep link for it. Everything shown about an order goes through these functions.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CustomerPhone, Order, OrderLink

_NOT_DIGITS = re.compile(r"\D+")
MIN_PHONE_DIGITS = 6


def normalize_phone(raw: str | None, country_code: str = "86") -> str | None:
    """Digits only, country code first; None when it is not a phone number.

    "+86 138-0013-8000", "008613800138000" and "13800138000" (with country code 86) are all
    "8613800138000". A number without "+" or "00" is taken as a national one of
    `country_code` (a leading trunk 0 dropped) unless it already starts with that code.
    """
    if raw is None:
        return None
    text = raw.strip()
    international = text.startswith("+") or text.startswith("00")
    digits = _NOT_DIGITS.sub("", text)
    if text.startswith("00"):
        digits = digits[2:]
    if len(digits) < MIN_PHONE_DIGITS or len(digits) > 15:
        return None
    if not international and country_code and not digits.startswith(country_code):
        digits = country_code + digits.lstrip("0")
    return digits


def ordered_at() -> ColumnElement[datetime]:
    """When the customer ordered: ``paid_at`` when the shop sent it, else when the bot first
    saw the order (``created_at`` is the import's time, not the purchase's)."""
    return func.coalesce(Order.paid_at, Order.created_at)


def _belongs_to(user_id: int) -> ColumnElement[bool]:
    phones = select(CustomerPhone.phone).where(CustomerPhone.user_id == user_id)
    linked = select(OrderLink.order_id).where(OrderLink.user_id == user_id)
    return or_(
        Order.telegram_id == user_id,
        Order.phone.in_(phones),
        Order.order_id.in_(linked),
    )


async def orders_of(session: AsyncSession, user_id: int, *, limit: int = 5) -> list[Order]:
    """The customer's most recent orders, newest first."""
    stmt = (
        select(Order)
        .where(_belongs_to(user_id))
        .order_by(ordered_at().desc(), Order.order_id.desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def order_for(session: AsyncSession, user_id: int, order_id: str) -> Order | None:
    """The order if it is the customer's; None for an unknown order and for someone else's
    alike (a stranger learns nothing from the difference)."""
    stmt = select(Order).where(Order.order_id == order_id, _belongs_to(user_id))
    return (await session.scalars(stmt)).first()


async def owners(session: AsyncSession, order: Order) -> list[int]:
    """Every customer the order belongs to (usually one), in a stable order."""
    found: set[int] = set()
    if order.telegram_id is not None:
        found.add(order.telegram_id)
    if order.phone:
        found.update(
            await session.scalars(
                select(CustomerPhone.user_id).where(CustomerPhone.phone == order.phone)
            )
        )
    found.update(
        await session.scalars(
            select(OrderLink.user_id).where(OrderLink.order_id == order.order_id)
        )
    )
    return sorted(found)


def owned_orders() -> Subquery:
    """Every (``user_id``, ``order_id``) of an order and a customer it is theirs, for all
    customers at once: the same three rules as `orders_of` and `order_for` (telegram_id,
    shared phone, signed link), set-based for questions about many customers (segments).
    A pair is listed once when more than one rule holds; an order shared by two customers
    (one phone, two accounts) is listed for each."""
    by_id = select(Order.telegram_id.label("user_id"), Order.order_id).where(
        Order.telegram_id.is_not(None)
    )
    by_phone = select(CustomerPhone.user_id, Order.order_id).join(
        Order, Order.phone == CustomerPhone.phone
    )
    by_link = select(OrderLink.user_id, Order.order_id).join(
        Order, Order.order_id == OrderLink.order_id
    )
    return union(by_id, by_phone, by_link).subquery("owned_orders")
