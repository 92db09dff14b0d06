"""The order settings the chat needs, built once from the configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class OrdersPolicy:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    link_secret: bytes | None = None  # ORDER_LINK_SECRET; None: no deep link is valid
    # RETURN_STATUSES: an order card in one of these offers the "Return / exchange" button
    returnable: frozenset[str] = frozenset({"delivered"})
