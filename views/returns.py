"""Returns and exchanges: the dialogue's buttons and texts, the desk's case card.

Entry point for other views (the order card): `start_button(t, order_id)` is a button that
opens the return dialogue for that order (callback data `ReturnStart`); `ReturnStart()`
without an order opens it at the list of the customer's orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from orders.returns import (
    REJECT_REASONS,
    CaseCard,
    CaseLine,
    CaseStatus,
    Eligibility,
    OrderChoice,
    Reason,
    Refusal,
    Resolution,
)
from storage.models import AfterSalesCase
from views.callbacks import TalkToHuman
from views.desk import clip
from views.orders import DATE, local_time, order_button, status_text
from views.texts import Texts

CALLBACK_BYTES = 64  # Telegram's limit on callback data


# --- callback data (everything may arrive forged: handlers and the domain check it) --------


class ReturnStart(CallbackData, prefix="rs"):
    """Start a return: for `order` (the order card's button, or a pick from the list), or
    at the list of the customer's orders when `order` is empty."""

    order: str = ""


class ReturnForm(CallbackData, prefix="rf"):
    """A step of the dialogue: all (items) | reason | done (photos) | resolution | confirm |
    cancel | status (the customer's cases, at any time)."""

    action: str
    value: str = ""


class CaseAction(CallbackData, prefix="rc"):
    """An agent's button on a case card: approve | reject (shows the reasons) | why (a
    reason, in `reason`) | refund | back (the card's own buttons again)."""

    case: int
    action: str
    reason: str = ""


def fits(data: CallbackData) -> str | None:
    """Packed callback data, or None when it cannot be a button (too long, a `:` in a
    value): such an order simply gets no button."""
    try:
        packed = data.pack()
    except ValueError:
        return None
    return packed if len(packed.encode()) <= CALLBACK_BYTES else None


# --- buttons -------------------------------------------------------------------------------


def start_button(t: Texts, order_id: str) -> InlineKeyboardButton | None:
    """The order card's "Return / exchange" button; None if the id cannot fit a button."""
    data = fits(ReturnStart(order=order_id))
    return None if data is None else InlineKeyboardButton(text=t("btn-return"), callback_data=data)


def card_keyboard(t: Texts, order_id: str) -> InlineKeyboardMarkup | None:
    """The buttons of a returnable order's card: "Return / exchange"."""
    button = start_button(t, order_id)
    return None if button is None else InlineKeyboardMarkup(inline_keyboard=[[button]])


def delivered_keyboard(t: Texts, order_id: str) -> InlineKeyboardMarkup | None:
    """The delivered notice's buttons: the order's details, and "Return / exchange"."""
    details = order_button(t, order_id)
    rows = list(details.inline_keyboard) if details is not None else []
    button = start_button(t, order_id)
    rows += [[button]] if button is not None else []
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def orders_keyboard(t: Texts, orders: Sequence[OrderChoice]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for o in orders:
        data = fits(ReturnStart(order=o.order_id))
        if data is not None:
            label = t("returns-order-button", id=o.order_id, status=order_status(t, o.status))
            kb.row(InlineKeyboardButton(text=clip(label, 60), callback_data=data))
    kb.row(
        InlineKeyboardButton(
            text=t("btn-return-status"), callback_data=ReturnForm(action="status").pack()
        ),
        cancel_button(t),
    )
    return kb.as_markup()


def cancel_button(t: Texts) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=t("btn-return-cancel"), callback_data=ReturnForm(action="cancel").pack()
    )


def _form(t: Texts, rows: Sequence[Sequence[tuple[str, str, str]]]) -> InlineKeyboardMarkup:
    """Rows of (label key, action, value) buttons, then Cancel."""
    kb = InlineKeyboardBuilder()
    for row in rows:
        kb.row(
            *(
                InlineKeyboardButton(
                    text=t(key), callback_data=ReturnForm(action=action, value=value).pack()
                )
                for key, action, value in row
            )
        )
    kb.row(cancel_button(t))
    return kb.as_markup()


def items_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return _form(t, [[("btn-return-all", "all", "")]])


def reasons_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return _form(t, [[(f"returns-reason-{r.value}", "reason", r.value)] for r in Reason])


def photos_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return _form(t, [[("btn-return-photos-done", "done", "")]])


def resolution_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return _form(
        t, [[(f"returns-resolution-{r.value}", "resolution", r.value) for r in Resolution]]
    )


def cancel_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return _form(t, [])


def confirm_keyboard(t: Texts) -> InlineKeyboardMarkup:
    return _form(t, [[("btn-return-confirm", "confirm", "")]])


def status_keyboard(t: Texts) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("btn-return-status"), callback_data=ReturnForm(action="status"))
    return kb.as_markup()


def refused_keyboard(t: Texts) -> InlineKeyboardMarkup:
    """After "no": the existing handoff button (a person may still help)."""
    kb = InlineKeyboardBuilder()
    kb.button(text=t("btn-human"), callback_data=TalkToHuman(source="button"))
    return kb.as_markup()


# --- the customer's texts ------------------------------------------------------------------


def order_status(t: Texts, status: str) -> str:
    return status_text(t, status)


def day(at: datetime | None, tz: ZoneInfo) -> str:
    """The day of ``at`` in the shop's time zone (TIMEZONE), as the order card shows it."""
    return local_time(at, tz, DATE) if at is not None else "-"


def refusal_text(
    t: Texts, refusal: Refusal | None, tz: ZoneInfo, verdict: Eligibility | None = None
) -> str:
    """Why not, in words."""
    deadline = day(verdict.deadline, tz) if verdict is not None else "-"
    return t(f"returns-refused-{(refusal or Refusal.NOT_FOUND).value}", deadline=deadline)


def summary(t: Texts, data: dict[str, Any]) -> str:
    """The request before it is sent, from the dialogue's answers."""
    lines = [
        t("returns-summary-title"),
        t("returns-summary-order", id=str(data.get("order", ""))),
        t("returns-summary-items", items=clip(str(data.get("items") or t("returns-all")), 300)),
        t("returns-summary-reason", reason=t(f"returns-reason-{data.get('reason')}")),
        t(
            "returns-summary-resolution",
            resolution=t(f"returns-resolution-{data.get('resolution')}"),
        ),
    ]
    if data.get("resolution") == Resolution.EXCHANGE and data.get("new_size"):
        lines.append(t("returns-summary-new-size", size=str(data["new_size"])))
    photos = data.get("photos") or []
    if photos:
        lines.append(t("returns-summary-photos", count=len(photos)))
    lines += ["", t("returns-summary-confirm")]
    return "\n".join(lines)


def cases_text(t: Texts, cases: Sequence[CaseLine], tz: ZoneInfo) -> str:
    if not cases:
        return t("returns-status-none")
    lines = [t("returns-status-title")]
    for c in cases:
        lines.append(
            t(
                "returns-status-line",
                id=c.id,
                order=c.order_id,
                date=day(c.created_at, tz),
                resolution=t(f"returns-resolution-{c.resolution}"),
                state=t(f"returns-state-{c.status}"),
            )
        )
        if c.status == CaseStatus.REJECTED and c.reject_reason:
            lines.append(t(f"returns-reject-{c.reject_reason}"))
    return "\n".join(lines)


def customer_note(t: Texts, event: str, args: dict[str, Any], case: AfterSalesCase | None) -> str:
    """What the customer is told when an agent decides (an outbox row, sent later)."""
    case_id = args.get("id", case.id if case is not None else "")
    if event == CaseStatus.APPROVED:
        instructions = str(args.get("instructions") or "") or t("returns-instructions-default")
        return t("returns-note-approved", id=case_id, instructions=instructions)
    if event == CaseStatus.REJECTED:
        reason = t(f"returns-reject-{args.get('reason') or 'other'}")
        return t("returns-note-rejected", id=case_id, reason=reason)
    exchange = case is not None and case.resolution == Resolution.EXCHANGE
    return t("returns-note-exchanged" if exchange else "returns-note-refunded", id=case_id)


# --- the desk's card -----------------------------------------------------------------------

CARD_ICONS = {"open": "🆕", "approved": "📦", "rejected": "⛔", "refunded": "✅"}


def desk_card(t: Texts, card: CaseCard, tz: ZoneInfo) -> str:
    case, order, user = card.case, card.order, card.user
    name = (user.first_name if user is not None else "") or str(case.user_id)
    username = f" @{user.username}" if user is not None and user.username else ""
    lines = [
        t(
            "case-card-title",
            icon=CARD_ICONS.get(case.status, "•"),
            id=case.id,
            state=t(f"case-state-{case.status}"),
        ),
        t("case-card-customer", name=name, username=username, user_id=case.user_id),
        t(
            "case-card-order",
            id=case.order_id,
            status=order_status(t, order.status) if order is not None else "-",
            delivered=day(order.delivered_at, tz) if order is not None else "-",
        ),
        t("case-card-items", items=clip(case.items, 300)),
        t("case-card-reason", reason=t(f"returns-reason-{case.reason}")),
        t("case-card-resolution", resolution=t(f"returns-resolution-{case.resolution}")),
    ]
    if case.new_size:
        lines.append(t("case-card-new-size", size=case.new_size))
    if card.photos:
        lines.append(t("case-card-photos", count=len(card.photos)))
    if case.status == CaseStatus.APPROVED:
        lines.append(t("case-card-approved", agent=card.decided_by or "-"))
    elif case.status == CaseStatus.REJECTED:
        reason = t(f"returns-reject-{case.reject_reason or 'other'}")
        lines.append(t("case-card-rejected", agent=card.decided_by or "-", reason=reason))
    elif case.status == CaseStatus.REFUNDED:
        lines.append(t("case-card-refunded", agent=card.decided_by or "-"))
    return "\n".join(lines)[:4096]


def case_buttons(t: Texts, case: AfterSalesCase) -> InlineKeyboardMarkup | None:
    """The agents' buttons for the case's state: none once it is over."""
    kb = InlineKeyboardBuilder()
    if case.status == CaseStatus.OPEN:
        kb.button(
            text=t("btn-case-approve"), callback_data=CaseAction(case=case.id, action="approve")
        )
        kb.button(
            text=t("btn-case-reject"), callback_data=CaseAction(case=case.id, action="reject")
        )
    elif case.status == CaseStatus.APPROVED:
        done = (
            "btn-case-exchanged" if case.resolution == Resolution.EXCHANGE else "btn-case-refunded"
        )
        kb.button(text=t(done), callback_data=CaseAction(case=case.id, action="refund"))
    else:
        return None
    return kb.as_markup()


def reject_reasons(t: Texts, case_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for reason in REJECT_REASONS:
        kb.button(
            text=t(f"returns-reject-{reason}"),
            callback_data=CaseAction(case=case_id, action="why", reason=reason),
        )
    kb.button(text=t("btn-case-back"), callback_data=CaseAction(case=case_id, action="back"))
    kb.adjust(1)
    return kb.as_markup()
