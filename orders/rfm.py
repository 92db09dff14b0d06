"""RFM: customers grouped by their purchases (recency, frequency, money), for segments.

Per customer, from the orders that are theirs (`orders.ownership.owned_orders`: by
telegram_id, shared phone or signed link) and count as purchases (PURCHASED: paid, shipped,
in transit, delivered; not pending, cancelled, returned or refunded):

* recency: the date of the last purchase, ever (an order's date is
  ``ownership.ordered_at``: its paid_at, else when the bot first saw it);
* frequency: purchases dated within the last `window_days`;
* money: what those purchases cost, counting only orders in the shop's `currency` (amounts
  in different currencies cannot be added; an order in another currency still counts for
  recency and frequency).

The groups (a customer is in at most one; one who never bought is in none):

* ``high_value``: last purchase at most `recent_days` ago, at least `frequent_orders`
  purchases and at least `big_spend` in the window;
* ``at_risk``: as frequent and big in the window, but no purchase in the last `recent_days`;
* ``sleeping``: last purchase at least `sleeping_days` ago, fewer than `frequent_orders`
  purchases and less than `big_spend` in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select

from orders.money import minor_units
from orders.ownership import ordered_at, owned_orders
from storage.models import Order

PURCHASED = ("paid", "shipped", "in_transit", "delivered")
HIGH_VALUE, AT_RISK, SLEEPING = "high_value", "at_risk", "sleeping"
GROUPS = (HIGH_VALUE, AT_RISK, SLEEPING)


@dataclass(frozen=True)
class RfmRules:
    """The thresholds (settings RFM_*; SHOP_CURRENCY)."""

    recent_days: int = 30  # "recent": the last purchase at most this many days ago
    sleeping_days: int = 90  # "long ago": the last purchase at least this many days ago
    window_days: int = 365  # frequency and money count purchases of this many days
    frequent_orders: int = 3  # "frequent": at least this many purchases in the window
    big_spend: int = 1000  # "big": at least this much in the window, in major units (元)
    currency: str = "CNY"  # only orders in this currency count toward money

    @property
    def big_spend_minor(self) -> int:
        return self.big_spend * minor_units(self.currency)


def customers(rules: RfmRules, *, now: datetime) -> Select[Any]:
    """Per customer with at least one purchase: ``user_id``, ``last_at`` (the last
    purchase), ``orders`` and ``spend`` (minor units) in the window. No ORDER BY."""
    owned = owned_orders()
    dated = ordered_at()
    in_window = dated >= now - timedelta(days=rules.window_days)
    counted = and_(in_window, Order.currency == rules.currency.upper())
    return (
        select(
            owned.c.user_id,
            func.max(dated).label("last_at"),
            func.sum(case((in_window, 1), else_=0)).label("orders"),
            func.sum(case((counted, Order.amount_minor), else_=0)).label("spend"),
        )
        .join(Order, Order.order_id == owned.c.order_id)
        .where(Order.status.in_(PURCHASED))
        .group_by(owned.c.user_id)
    )


def in_group(group: str, user_id: Any, rules: RfmRules, *, now: datetime) -> ColumnElement[bool]:
    """SQL: the user (a column, e.g. ``User.id``) is in the RFM `group` now. Raises
    ValueError for a group not in GROUPS."""
    stats = customers(rules, now=now).subquery(f"rfm_{group}")
    recent = stats.c.last_at >= now - timedelta(days=rules.recent_days)
    frequent = stats.c.orders >= rules.frequent_orders
    big = stats.c.spend >= rules.big_spend_minor
    if group == HIGH_VALUE:
        where = and_(recent, frequent, big)
    elif group == AT_RISK:
        where = and_(~recent, frequent, big)
    elif group == SLEEPING:
        long_ago = stats.c.last_at <= now - timedelta(days=rules.sleeping_days)
        where = and_(long_ago, ~frequent, ~big)
    else:
        raise ValueError(f"unknown RFM group {group!r}")
    return user_id.in_(select(stats.c.user_id).where(where))  # type: ignore[no-any-return]


def check_rules(rules: RfmRules) -> None:
    """Raise ValueError naming the setting when the thresholds contradict each other."""
    if rules.sleeping_days <= rules.recent_days:
        raise ValueError("RFM_SLEEPING_DAYS must be more than RFM_RECENT_DAYS")
    if rules.window_days <= rules.recent_days:
        raise ValueError("RFM_WINDOW_DAYS must be more than RFM_RECENT_DAYS")
