"""Coupon drops: the group post, the claim toasts, the points shop, the managers' replies."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from community.drop_spec import DropSpecError
from community.drops import ClaimStatus, DropStats
from community.points import Change, ChangeCode
from community.tiers import Tier
from storage.models import CouponDrop
from views.texts import Texts

CLAIM_TOASTS = {
    ClaimStatus.SOLD_OUT: "claim-sold-out",
    ClaimStatus.LIMIT_REACHED: "claim-limit",
    ClaimStatus.NOT_ELIGIBLE: "claim-not-eligible",
    ClaimStatus.NOT_STARTED: "claim-not-started",
    ClaimStatus.ENDED: "claim-ended",
    ClaimStatus.NOT_FOUND: "stale-button",
    ClaimStatus.INSUFFICIENT_POINTS: "claim-no-points",
}


def shop_time(at: datetime, tz: ZoneInfo) -> str:
    """A moment in the shop's time zone, to the minute."""
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def render_drop(t: Texts, drop: CouponDrop, tz: ZoneInfo) -> str:
    lines = [f"🎟 <b>{html.escape(drop.title)}</b>", html.escape(drop.discount)]
    if drop.cost_points is not None:
        lines.append(t("drop-cost", cost=drop.cost_points))
    if drop.valid_until is not None:
        lines.append(t("drop-valid-until", date=shop_time(drop.valid_until, tz)))
    elif drop.valid_days:
        lines.append(t("drop-valid-days", days=drop.valid_days))
    if drop.status == "sold_out" or drop.claimed >= drop.quantity:
        lines.append(t("drop-sold-out", quantity=drop.quantity))
    elif drop.status == "ended":
        lines.append(t("drop-ended"))
    else:
        lines.append(t("drop-left", left=drop.quantity - drop.claimed, quantity=drop.quantity))
    return "\n".join(lines)


def claim_done(t: Texts, cost: int | None) -> str:
    """The toast for a tap that got a code (and what it cost, for a drop priced in points)."""
    return t("claim-done") if cost is None else t("claim-done-cost", cost=cost)


def claim_refusal(t: Texts, status: ClaimStatus) -> str:
    """The toast for a tap that got no code."""
    return t(CLAIM_TOASTS.get(status, "stale-button"))


def render_shop(t: Texts, items: Sequence[tuple[int, str, str, int]], balance: int) -> str:
    lines = [t("shop-title", balance=balance)]
    for _drop_id, title, discount, cost in items:
        lines.append(t("shop-line", title=title, discount=discount, cost=cost))
    return "\n".join(lines)


def render_drop_created(
    t: Texts, drop: CouponDrop, tz: ZoneInfo, *, imported: bool, has_group: bool
) -> str:
    text = t(
        "drop-created",
        id=drop.id,
        title=html.escape(drop.title),
        quantity=drop.quantity,
        source=t("drop-imported" if imported else "drop-generated"),
        start=shop_time(drop.starts_at, tz),
    )
    return text if has_group else f"{text}\n{t('drop-no-group')}"


def render_held(t: Texts, drop_id: int, words: Sequence[str], marked: str) -> str:
    """A drop the copy guard held (HTML: `marked` is the guard's marked-up text)."""
    shown = ", ".join(dict.fromkeys(words))
    return t("drop-held", id=drop_id, words=html.escape(shown), text=marked)


def render_draft_decision(
    t: Texts, drop_id: int, *, published: bool, starts_at: datetime, tz: ZoneInfo, has_group: bool
) -> str:
    if not published:
        return t("drop-discarded", id=drop_id)
    text = t("drop-released", id=drop_id, start=shop_time(starts_at, tz))
    return text if has_group else f"{text}\n{t('drop-no-group')}"


def render_drop_stats(t: Texts, st: DropStats) -> str:
    return t(
        "dropstats",
        id=st.drop_id,
        title=st.title,
        status=t(f"drop-status-{st.status.replace('_', '-')}"),
        claimed=st.claimed,
        quantity=st.quantity,
        delivered=st.delivered,
        used=st.used,
    )


def render_points_change(t: Texts, user_id: int, delta: int, change: Change) -> str:
    """The reply to /points: applied, refused (never below zero, never past the ceiling),
    or usage (a user the bot never saw)."""
    if change.applied:
        key = "points-adjusted"
    elif change.reason_code == ChangeCode.INSUFFICIENT:
        key = "points-refused"
    elif change.reason_code == ChangeCode.TOO_LARGE:
        key = "points-too-large"
    else:
        key = "points-usage"
    name = change.member_name or str(user_id)
    return t(key, name=name, user=user_id, delta=f"{delta:+d}", balance=change.balance)


def render_spec_error(t: Texts, exc: DropSpecError, tiers: Sequence[Tier]) -> str:
    """Why a /drop command cannot be read (plain text), with the usage when its shape or an
    option is not understood."""
    if exc.problem == "quantity":
        return t("drop-bad-quantity", option=exc.option, low=exc.low, high=exc.high)
    if exc.problem == "number":
        return t("drop-bad-number", option=exc.option, low=exc.low, high=exc.high)
    if exc.problem == "tier":
        names = ", ".join(f"tier:{i} {tier.label(t.lang)}" for i, tier in enumerate(tiers))
        return t("drop-bad-tier", option=exc.option, tiers=names)
    if exc.problem == "unknown":
        return f"{t('drop-bad-option', option=exc.option)}\n{t('drop-usage')}"
    return t("drop-usage")
