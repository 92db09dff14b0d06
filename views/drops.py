"""Coupon drop posts in the group."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from storage.models import CouponDrop
from views.texts import Texts


def render_drop(t: Texts, drop: CouponDrop, tz: ZoneInfo) -> str:
    lines = [f"🎟 <b>{html.escape(drop.title)}</b>", html.escape(drop.discount)]
    if drop.valid_until is not None:
        until = drop.valid_until.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        lines.append(t("drop-valid-until", date=until))
    elif drop.valid_days:
        lines.append(t("drop-valid-days", days=drop.valid_days))
    if drop.status == "sold_out" or drop.claimed >= drop.quantity:
        lines.append(t("drop-sold-out", quantity=drop.quantity))
    elif drop.status == "ended":
        lines.append(t("drop-ended"))
    else:
        lines.append(t("drop-left", left=drop.quantity - drop.claimed, quantity=drop.quantity))
    return "\n".join(lines)


