"""A member's community texts: check-in, /me, the leaderboard, their coupons."""

from __future__ import annotations

import html
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from community.checkins import CheckinResult, MakeupResult, Profile, Status
from community.drops import MyCoupon
from community.tiers import Tier
from views.drops import shop_time
from views.texts import Texts

COUPONS_SHOWN = 30


def checkin_text(t: Texts, tiers: Sequence[Tier], r: CheckinResult) -> str:
    if r.status is Status.ALREADY:
        return t("checkin-already", streak=r.streak, balance=r.balance)
    bonus = t("checkin-bonus", bonus=r.bonus) if r.bonus else ""
    lines = [
        t("checkin-done", points=r.points, bonus_text=bonus, streak=r.streak, balance=r.balance)
    ]
    if r.card_rewarded:
        lines.append(t("checkin-card-rewarded"))
    if r.tier_up:
        lines.append(t("tier-up", tier=tiers[r.tier].label(t.lang)))
    if r.missed_yesterday:
        lines.append(t("checkin-missed"))
    return "\n".join(lines)


def me_text(
    t: Texts, tiers: Sequence[Tier], name: str, p: Profile, coupons: Sequence[MyCoupon]
) -> str:
    """The member's standing (HTML: the name and tier names are escaped)."""
    lines = [
        t("me-title", name=html.escape(name)),
        t("me-points", balance=p.balance, earned=p.earned),
        t("me-tier", tier=html.escape(tiers[p.tier].label(t.lang))),
    ]
    if p.next_tier is not None and p.points_to_next is not None:
        following = html.escape(p.next_tier.label(t.lang))
        lines.append(t("me-next-tier", points=p.points_to_next, tier=following))
    lines += [
        t("me-streak", streak=p.streak, today=t("yes" if p.checked_in_today else "no")),
        t("me-cards", cards=p.makeup_cards),
        t("me-coupons", count=sum(1 for c in coupons if not c.used and not c.expired)),
    ]
    return "\n".join(lines)


def top_text(
    t: Texts, week: Sequence[tuple[int, str, int]], ever: Sequence[tuple[int, str, int]]
) -> str:
    """Both leaderboards (HTML)."""
    lines: list[str] = []
    for title, board in (("top-title-week", week), ("top-title-all", ever)):
        lines.append(t(title))
        lines += [
            t("top-line", rank=i, name=html.escape(name), points=score)
            for i, (_, name, score) in enumerate(board, 1)
        ] or [t("top-empty")]
        lines.append("")
    return "\n".join(lines).strip()


def mycoupons_text(t: Texts, coupons: Sequence[MyCoupon], tz: ZoneInfo) -> str:
    """The member's codes, newest first (HTML)."""
    if not coupons:
        return t("mycoupons-none")
    lines = [t("mycoupons-title")]
    for c in coupons[:COUPONS_SHOWN]:
        if c.used:
            state = t("mycoupons-used")
        elif c.expired:
            state = t("mycoupons-expired")
        elif c.expires_at is not None:
            state = t("mycoupons-valid-until", date=shop_time(c.expires_at, tz))
        else:
            state = t("mycoupons-no-expiry")
        lines.append(
            t(
                "mycoupons-line",
                title=html.escape(c.title),
                discount=html.escape(c.discount),
                code=html.escape(c.code),
                state=state,
            )
        )
    return "\n".join(lines)


def makeup_text(t: Texts, made: MakeupResult, card_price: int) -> str:
    if made.status is Status.NO_CARD:
        return t("makeup-no-card", price=card_price)
    if made.status is Status.NOTHING_TO_REPAIR:
        return t("makeup-nothing")
    return t("makeup-done", streak=made.streak, cards=made.cards)


def card_text(t: Texts, applied: bool, price: int, balance: int, cards: int) -> str:
    if applied:
        return t("card-bought", price=price, balance=balance, cards=cards)
    return t("card-not-enough", price=price, balance=balance)
