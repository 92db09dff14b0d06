"""Orders in the customer's chat: the order card, the list, the share-phone keyboard, and the
updates the outbox delivers. Plain text (no parse mode): nothing here needs escaping.

Times are shown in the shop's time zone (TIMEZONE)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import (
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from storage.models import Order
from views import keyboards
from views.callbacks import ShowOrder, TalkToHuman
from views.texts import Texts

DATE = "%Y-%m-%d"
DATE_TIME = "%Y-%m-%d %H:%M"
EVENTS_SHOWN = 3
ITEMS_CHARS = 120
EVENT_CHARS = 200
CALLBACK_BYTES = 64  # Telegram's limit for callback data


def local_time(at: datetime, tz: ZoneInfo, fmt: str = DATE_TIME) -> str:
    if at.tzinfo is None:  # stored as UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(tz).strftime(fmt)


def status_text(t: Texts, status: str) -> str:
    return t(f"order-status-{status.replace('_', '-')}")


def _event_line(t: Texts, event: Any, tz: ZoneInfo) -> str | None:
    if not isinstance(event, dict):
        return None
    text = str(event.get("text") or "").strip()
    if not text:
        return None
    if len(text) > EVENT_CHARS:
        text = text[: EVENT_CHARS - 1] + "…"
    raw = event.get("at")
    try:
        at = local_time(datetime.fromisoformat(str(raw)), tz) if raw else ""
    except ValueError:
        at = str(raw)[:32]
    return t("order-event-line", at=at, text=text) if at else t("order-event-plain", text=text)


def render_card(t: Texts, order: Order, tz: ZoneInfo) -> str:
    """The order as its customer may see it: status in words, carrier and tracking number,
    the ETA, the dates it was paid, shipped and delivered, the last logistics events."""
    lines = [
        t("order-card-title", id=order.order_id),
        t("order-status-line", status=status_text(t, order.status)),
    ]
    if order.items:
        items = order.items if len(order.items) <= ITEMS_CHARS else order.items[:ITEMS_CHARS] + "…"
        lines.append(t("order-items-line", items=items))
    if order.carrier:
        lines.append(t("order-carrier-line", carrier=order.carrier))
    if order.tracking_number:
        lines.append(t("order-tracking-line", number=order.tracking_number))
    if order.eta and order.status not in ("delivered", "cancelled", "returned", "refunded"):
        lines.append(t("order-eta-line", date=local_time(order.eta, tz, DATE)))
    for key, at in (
        ("order-paid-line", order.paid_at),
        ("order-shipped-line", order.shipped_at),
        ("order-delivered-line", order.delivered_at),
    ):
        if at is not None:
            lines.append(t(key, date=local_time(at, tz)))
    events = [
        line
        for line in (_event_line(t, e, tz) for e in reversed(order.events or []))
        if line is not None
    ][:EVENTS_SHOWN]
    if events:
        lines.append("")
        lines.append(t("order-events-title"))
        lines.extend(events)
    return "\n".join(lines)


def fits_button(order_id: str) -> bool:
    """Whether the order id fits in callback data (64 bytes, no ':')."""
    return ":" not in order_id and len(ShowOrder(order=order_id).pack().encode()) <= CALLBACK_BYTES


def order_list(t: Texts, orders: Sequence[Order]) -> tuple[str, InlineKeyboardMarkup]:
    """The customer's recent orders, one button each (newest first), then a person."""
    kb = InlineKeyboardBuilder()
    lines = [t("order-pick")]
    for order in orders:
        label = t("order-button", id=order.order_id, status=status_text(t, order.status))
        lines.append(f"• {label}")
        if fits_button(order.order_id):
            data = ShowOrder(order=order.order_id)
            kb.button(text=label[: keyboards.BUTTON_CHARS], callback_data=data)
    kb.button(text=t("btn-human"), callback_data=TalkToHuman(source="button"))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def share_phone(t: Texts) -> ReplyKeyboardMarkup:
    """Telegram's own "share my phone number" button (it sends the sender's own contact),
    and the menu's "talk to a human"."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=t("btn-share-phone"), request_contact=True)],
            [KeyboardButton(text=t("menu-human"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def order_button(t: Texts, order_id: str) -> InlineKeyboardMarkup | None:
    if not fits_button(order_id):
        return None
    kb = InlineKeyboardBuilder()
    kb.button(text=t("btn-order-details"), callback_data=ShowOrder(order=order_id))
    return kb.as_markup()


def render_update(t: Texts, order: Order, event: str, tz: ZoneInfo) -> str:
    """A proactive update: shipped (carrier and tracking), delivered (and how to return),
    late (past its ETA: sorry, a person can help)."""
    if event == "shipped":
        if order.carrier and order.tracking_number:
            return t(
                "order-update-shipped",
                id=order.order_id,
                carrier=order.carrier,
                number=order.tracking_number,
            )
        return t("order-update-shipped-plain", id=order.order_id)
    if event == "delivered":
        return t("order-update-delivered", id=order.order_id)
    eta = local_time(order.eta, tz, DATE) if order.eta else ""
    return t("order-update-late", id=order.order_id, date=eta)


def update_keyboard(t: Texts, order: Order, event: str) -> InlineKeyboardMarkup | None:
    if event == "late":
        return keyboards.human_button(t)
    return order_button(t, order.order_id)
