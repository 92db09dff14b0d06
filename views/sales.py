"""Flash-sale posts, reminders and the names of stages and chats, in shop time."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from campaigns import sales
from campaigns.policy import CampaignPolicy
from storage.models import Sale, SalePost
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


# --- the manager's dialogue and /sales ---------------------------------------------------

# The prompt for each step of the /sale dialogue, and for each field of /sales -> Edit.
STEP_PROMPTS = {
    "product": "sale-ask-product",
    "price": "sale-ask-price",
    "stock": "sale-ask-stock",
    "image": "sale-ask-image",
    "link": "sale-ask-link",
    "start": "sale-ask-start",
    "end": "sale-ask-end",
    "targets": "sale-ask-targets",
}
FIELD_PROMPTS = {
    "product": "sale-ask-product",
    "price": "sale-ask-price",
    "stock": "sale-ask-stock",
    "url": "sale-ask-link",
    "start": "sale-ask-start",
    "end": "sale-ask-end",
}


def prompt(t: Texts, key: str, tz: ZoneInfo) -> str:
    return t(key, tz=str(tz))


def schedule_text(t: Texts, planned: list[sales.PlannedPost], policy: CampaignPolicy) -> str:
    """The preview's schedule: one line per time and stage, with the chats it goes to."""
    grouped: dict[tuple[datetime, str], list[str]] = {}
    for p in planned:
        grouped.setdefault((p.due_at, p.stage), []).append(chat_name(t, policy, p.chat_id))
    lines = [t("sale-schedule-title", tz=str(policy.tz))]
    lines.extend(
        t(
            "sale-schedule-line",
            time=local(due, policy.tz),
            stage=stage_name(t, stage),
            chats=", ".join(chats),
        )
        for (due, stage), chats in grouped.items()
    )
    return "\n".join(lines)


def guard_hits_text(t: Texts, key: str, words: list[str], marked: str) -> str:
    """`key` (sale-guard-hits, sale-guard-edit) with the words found and the marked text."""
    return t(key, words=html.escape(", ".join(words)), text=marked)


def published_text(t: Texts, sale: Sale, tz: ZoneInfo) -> str:
    return t(
        "sale-published",
        id=sale.id,
        product=html.escape(sale.product),
        start=local(sale.starts_at, tz),
    )


def sale_line(t: Texts, sale: Sale, now: datetime, policy: CampaignPolicy) -> str:
    """One sale in /sales: its phase (scheduled, live, ...) in the reader's language."""
    return t(
        "sales-line",
        id=sale.id,
        product=html.escape(sale.product),
        phase=t(f"sale-phase-{sales.phase(sale, now)}"),
        start=local(sale.starts_at, policy.tz),
        end=local(sale.ends_at, policy.tz),
        chats=", ".join(chat_name(t, policy, c) for c in sale.targets),
    )


def sales_list(t: Texts, found: list[Sale], now: datetime, policy: CampaignPolicy) -> str:
    return "\n".join([t("sales-title"), *(sale_line(t, s, now, policy) for s in found)])


def sale_overview(
    t: Texts, sale: Sale, posts: list[SalePost], now: datetime, policy: CampaignPolicy
) -> str:
    """The sale's line, then each of its posts: when, what, where, and how it went."""
    lines = [sale_line(t, sale, now, policy)]
    lines.extend(
        t(
            "sale-post-line",
            time=local(p.due_at, policy.tz),
            stage=stage_name(t, p.stage),
            chat=chat_name(t, policy, p.chat_id),
            status=t(f"sale-post-{p.status}"),
        )
        for p in posts
    )
    return "\n".join(lines)


def about_sale(t: Texts, key: str, sale: Sale) -> str:
    """`key` (sale-edit-choose, sale-cancel-confirm, sale-cancelled-done) for `sale`."""
    return t(key, id=sale.id, product=html.escape(sale.product))
