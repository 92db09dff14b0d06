"""Flash-sale posts, reminders and the names of stages and chats, in shop time."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from campaigns import sales
from campaigns.policy import CampaignPolicy
from storage.models import Sale
from views.texts import Texts

TIME_FORMAT = "%m-%d %H:%M"


def local(at: datetime, tz: ZoneInfo, fmt: str = TIME_FORMAT) -> str:
    return at.astimezone(tz).strftime(fmt)


def span_text(t: Texts, minutes: int) -> str:
    """`1440` -> "24 h", `90` -> "90 min"."""
    if minutes % 60 == 0:
        return t("sale-span-hours", hours=minutes // 60)
    return t("sale-span-minutes", minutes=minutes)


def _details(t: Texts, sale: Sale, tz: ZoneInfo, *, times: bool) -> list[str]:
    lines = []
    if sale.original_price:
        lines.append(
            t(
                "sale-price-was",
                price=html.escape(sale.price),
                original=html.escape(sale.original_price),
            )
        )
    else:
        lines.append(t("sale-price", price=html.escape(sale.price)))
    if sale.stock:
        lines.append(t("sale-stock", stock=sale.stock))
    if times:
        lines.append(t("sale-when", start=local(sale.starts_at, tz), end=local(sale.ends_at, tz)))
    return lines


def render_post(t: Texts, sale: Sale, stage: str, tz: ZoneInfo) -> str:
    """The HTML text (or caption) of one lifecycle stage of `sale`."""
    product = html.escape(sale.product)
    minutes = sales.teaser_minutes(stage)
    if minutes is not None:
        head = t("sale-teaser", product=product, left=span_text(t, minutes))
        tail = [t("sale-teaser-tail")]
        return "\n".join([head, *_details(t, sale, tz, times=True), *tail])
    if stage == sales.START:
        head = t("sale-start", product=product)
        tail = [t("sale-until", end=local(sale.ends_at, tz))]
        return "\n".join([head, *_details(t, sale, tz, times=False), *tail])
    if stage == sales.ENDING:
        head = t("sale-ending", product=product, left=span_text(t, sale.ending_soon_minutes))
        tail = [t("sale-until", end=local(sale.ends_at, tz))]
        return "\n".join([head, *_details(t, sale, tz, times=False), *tail])
    if stage == sales.END:
        return t("sale-ended", product=product)
    if stage == sales.CANCEL:
        return t("sale-cancelled", product=product)
    raise ValueError(f"unknown stage {stage!r}")


def render_reminder(t: Texts, sale: Sale, tz: ZoneInfo) -> str:
    head = t("sale-reminder", product=html.escape(sale.product))
    tail = [t("sale-until", end=local(sale.ends_at, tz))]
    return "\n".join([head, *_details(t, sale, tz, times=False), *tail])


def stage_name(t: Texts, stage: str) -> str:
    minutes = sales.teaser_minutes(stage)
    if minutes is not None:
        return t("sale-stage-teaser", left=span_text(t, minutes))
    return t(f"sale-stage-{stage}")


def chat_name(t: Texts, policy: CampaignPolicy, chat_id: int) -> str:
    if chat_id == policy.group_chat_id:
        return t("sale-chat-group")
    if chat_id == policy.channel_id:
        return t("sale-chat-channel")
    return str(chat_id)


