"""Keyboard builders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

from campaigns import sales
from campaigns.policy import CampaignPolicy
from campaigns.segments import STREAKS, Segment
from community.checkins import Profile
from community.tiers import Tier
from faq import Entry
from storage.models import Sale
from views.broadcasts import LANGUAGE_NAMES
from views.callbacks import (
    BroadcastForm,
    CancelBroadcast,
    ClaimDrop,
    CloseTicket,
    Feedback,
    MemberAction,
    PickAnswer,
    PublishDrop,
    Rate,
    Redeem,
    RemindMe,
    SaleForm,
    SaleMenu,
    SetLanguage,
    SkipComment,
    TakeTicket,
    TalkToHuman,
    TransferMenu,
    TransferTo,
    UseCanned,
)
from views.sales import chat_name
from views.texts import Catalogue, Texts

MENU_KEYS = (
    "menu-size",
    "menu-shipping",
    "menu-returns",
    "menu-orders",
    "menu-human",
    "menu-language",
)
BUTTON_CHARS = 60


def main_menu(t: Texts) -> ReplyKeyboardMarkup:
    kb = ReplyKeyboardBuilder()
    for key in MENU_KEYS:
        kb.button(text=t(key))
    kb.adjust(3, 3)
    return kb.as_markup(resize_keyboard=True, input_field_placeholder=t("menu-placeholder"))


def menu_labels(catalogue: Catalogue) -> dict[str, str]:
    """Every language's reply-keyboard label → its menu key (what a tap sends back)."""
    return {catalogue.get(lang, key): key for key in MENU_KEYS for lang in catalogue.languages}


def feedback(t: Texts, interaction_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("btn-helpful"), callback_data=Feedback(interaction=interaction_id, helpful=True)
    )
    kb.button(
        text=t("btn-not-helpful"),
        callback_data=Feedback(interaction=interaction_id, helpful=False),
    )
    return kb.as_markup()


def human_button(t: Texts, source: str = "button") -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("btn-human"), callback_data=TalkToHuman(source=source))
    return kb.as_markup()


def candidates(
    t: Texts, interaction_id: int, entries: tuple[Entry, ...], lang: str
) -> InlineKeyboardMarkup:
    """One button per likely question (its first phrasing), then a human."""
    kb = InlineKeyboardBuilder()
    for entry in entries[:3]:
        phrasings = entry.questions.get(lang) or next(iter(entry.questions.values()))
        label = phrasings[0]
        if len(label) > BUTTON_CHARS:
            label = label[: BUTTON_CHARS - 1] + "…"
        kb.button(text=label, callback_data=PickAnswer(interaction=interaction_id, entry=entry.id))
    kb.button(text=t("btn-human"), callback_data=TalkToHuman(source="feedback"))
    kb.adjust(1)
    return kb.as_markup()


def languages() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="中文", callback_data=SetLanguage(lang="zh"))
    kb.button(text="English", callback_data=SetLanguage(lang="en"))
    return kb.as_markup()


def close_ticket(t: Texts, ticket_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("btn-close-ticket"), callback_data=CloseTicket(ticket=ticket_id))
    return kb.as_markup()


def csat(ticket_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for score in range(1, 6):
        kb.button(text="⭐" * score, callback_data=Rate(ticket=ticket_id, score=score))
    kb.adjust(5)
    return kb.as_markup()


def skip_comment(t: Texts, ticket_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("btn-csat-skip"), callback_data=SkipComment(ticket=ticket_id))
    return kb.as_markup()


def queue_board(t: Texts, takes: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup | None:
    """A Take button per ticket on the queue board (its id and the customer's name)."""
    if not takes:
        return None
    kb = InlineKeyboardBuilder()
    for ticket_id, name in takes:
        kb.button(
            text=t("btn-board-take", id=ticket_id, name=name),
            callback_data=TakeTicket(ticket=ticket_id, action="take"),
        )
    kb.adjust(2)
    return kb.as_markup()


def ticket_card(
    t: Texts, ticket_id: int, *, open_: bool, taken: bool
) -> InlineKeyboardMarkup | None:
    if not open_:
        return None
    kb = InlineKeyboardBuilder()
    if not taken:
        kb.button(text=t("btn-take"), callback_data=TakeTicket(ticket=ticket_id, action="take"))
    kb.button(text=t("btn-close"), callback_data=TakeTicket(ticket=ticket_id, action="close"))
    kb.button(text=t("btn-transfer"), callback_data=TransferMenu(ticket=ticket_id))
    return kb.as_markup()


def transfer_targets(
    t: Texts, ticket_id: int, agents: list[tuple[int, str]]
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for agent_id, name in agents[:20]:
        kb.button(
            text=name[:BUTTON_CHARS], callback_data=TransferTo(ticket=ticket_id, agent=agent_id)
        )
    kb.button(text=t("btn-transfer-queue"), callback_data=TransferTo(ticket=ticket_id, agent=0))
    kb.adjust(1)
    return kb.as_markup()


def canned_choices(ticket_id: int, keys: list[str]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for key in keys[:30]:
        kb.button(text=key, callback_data=UseCanned(ticket=ticket_id, key=key))
    kb.adjust(3)
    return kb.as_markup()


def claim_keyboard(t: Texts, drop_id: int, cost: int | None = None) -> InlineKeyboardMarkup:
    """The drop post's Claim button, with its price when the drop costs points."""
    kb = InlineKeyboardBuilder()
    label = t("btn-claim") if cost is None else t("btn-claim-cost", cost=cost)
    kb.button(text=label, callback_data=ClaimDrop(drop=drop_id))
    return kb.as_markup()


def post_keyboard(t: Texts, sale: Sale, stage: str) -> InlineKeyboardMarkup | None:
    """Teasers: 🔔 Remind me (and the link); start and ending: Buy; the edits: none."""
    kb = InlineKeyboardBuilder()
    if sales.teaser_minutes(stage) is not None:
        kb.button(text=t("btn-sale-remind"), callback_data=RemindMe(sale=sale.id))
        if sale.url:
            kb.button(text=t("btn-sale-details"), url=sale.url)
    elif stage in (sales.START, sales.ENDING) and sale.url:
        kb.button(text=t("btn-sale-buy"), url=sale.url)
    else:
        return None
    kb.adjust(1)
    return kb.as_markup()


def buy_keyboard(t: Texts, sale: Sale) -> InlineKeyboardMarkup | None:
    if not sale.url:
        return None
    return InlineKeyboardBuilder().button(text=t("btn-sale-buy"), url=sale.url).as_markup()


def cancel_keyboard(t: Texts, broadcast_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("bc-btn-cancel"), callback_data=CancelBroadcast(broadcast=str(broadcast_id)))
    return kb.as_markup()


def message_keyboard(
    t: Texts, buttons: Any, drop_id: int | None, claim: Any = None
) -> InlineKeyboardMarkup | None:
    """The URL buttons, one a row, and the 🎁 claim button of an attached coupon."""
    kb = InlineKeyboardBuilder()
    for label, url in buttons or []:
        kb.button(text=str(label), url=str(url))
    if drop_id is not None:
        kb.button(text=t("bc-btn-claim"), callback_data=claim or ClaimDrop(drop=drop_id))
    kb.adjust(1)
    return kb.as_markup() if list(kb.buttons) else None


# --- the /broadcast dialogue (handlers/broadcasts.py) ------------------------------------


def broadcast_step(t: Texts, *, skip: bool) -> InlineKeyboardMarkup:
    """Under a question of the dialogue: Skip (optional steps) and Cancel."""
    kb = InlineKeyboardBuilder()
    if skip:
        kb.button(text=t("bc-btn-skip"), callback_data=BroadcastForm(action="skip"))
    kb.button(text=t("bc-btn-abort"), callback_data=BroadcastForm(action="abort"))
    return kb.as_markup()


def broadcast_segment(t: Texts, seg: Segment, tiers: Sequence[Tier]) -> InlineKeyboardMarkup:
    """The filter toggles (✅ on), All, then Preview and Cancel."""
    kb = InlineKeyboardBuilder()

    def add(label: str, value: str, on: bool) -> None:
        kb.button(
            text=("✅ " if on else "") + label,
            callback_data=BroadcastForm(action="seg", value=value),
        )

    add(t("bc-btn-new"), "new", seg.new)
    add(t("bc-btn-active"), "active", seg.active)
    add(t("bc-btn-dormant"), "dormant", seg.dormant)
    add(t("bc-btn-high-value"), "high_value", seg.high_value)
    add(t("bc-btn-at-risk"), "at_risk", seg.at_risk)
    add(t("bc-btn-sleeping"), "sleeping", seg.sleeping)
    for code, name in LANGUAGE_NAMES.items():
        add(t("bc-btn-language", language=name), f"lang={code}", seg.language == code)
    for i in range(1, len(tiers)):
        add(t("bc-btn-tier", tier=tiers[i].label(t.lang)), f"tier={i}", seg.tier_min == i)
    for days in STREAKS:
        add(t("bc-btn-streak", days=days), f"streak={days}", seg.streak_min == days)
    add(t("bc-btn-reset"), "all", seg.is_all)
    kb.button(text=t("bc-btn-preview"), callback_data=BroadcastForm(action="preview"))
    kb.button(text=t("bc-btn-abort"), callback_data=BroadcastForm(action="abort"))
    tier_row = max(len(tiers) - 1, 0)
    kb.adjust(3, 3, len(LANGUAGE_NAMES), *([tier_row] if tier_row else []), len(STREAKS), 1, 2)
    return kb.as_markup()


def broadcast_verdict(t: Texts, *, held: bool) -> InlineKeyboardMarkup:
    """Under the preview: Send and Edit, or (the copy guard objects) Edit and Send anyway."""
    kb = InlineKeyboardBuilder()
    if held:
        kb.button(text=t("bc-btn-edit"), callback_data=BroadcastForm(action="edit"))
        kb.button(text=t("bc-btn-send-anyway"), callback_data=BroadcastForm(action="override"))
    else:
        kb.button(text=t("bc-btn-send"), callback_data=BroadcastForm(action="send"))
        kb.button(text=t("bc-btn-edit"), callback_data=BroadcastForm(action="edit"))
    kb.button(text=t("bc-btn-abort"), callback_data=BroadcastForm(action="abort"))
    kb.adjust(2, 1)
    return kb.as_markup()


def broadcast_cancel_confirm(t: Texts, broadcast_id: int) -> InlineKeyboardMarkup:
    """Stop the broadcast for sure, or keep it going."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("bc-btn-cancel-yes"),
        callback_data=CancelBroadcast(broadcast=str(broadcast_id), confirm=True),
    )
    kb.button(
        text=t("bc-btn-cancel-no"),
        callback_data=BroadcastForm(action="keep", value=str(broadcast_id)),
    )
    return kb.as_markup()


# --- flash sales: the manager's dialogue and /sales --------------------------------------


def sale_step(t: Texts, *, skip: bool = False) -> InlineKeyboardMarkup:
    """Under each question of the sale dialogue: Skip (optional steps) and Cancel."""
    kb = InlineKeyboardBuilder()
    if skip:
        kb.button(text=t("btn-sale-skip"), callback_data=SaleForm(action="skip"))
    kb.button(text=t("btn-sale-cancel"), callback_data=SaleForm(action="cancel"))
    kb.adjust(2)
    return kb.as_markup()


def sale_targets(t: Texts, policy: CampaignPolicy, chosen: list[int]) -> InlineKeyboardMarkup:
    """One toggle per chat a sale can go to, then Done and Cancel."""
    kb = InlineKeyboardBuilder()
    for chat_id in policy.targets:
        mark = "✅" if chat_id in chosen else "⬜"
        kb.button(
            text=f"{mark} {chat_name(t, policy, chat_id)}",
            callback_data=SaleForm(action="target", value=str(chat_id)),
        )
    kb.button(text=t("btn-sale-done"), callback_data=SaleForm(action="target", value="done"))
    kb.button(text=t("btn-sale-cancel"), callback_data=SaleForm(action="cancel"))
    kb.adjust(1)
    return kb.as_markup()


def sale_review(t: Texts, *, guard_hits: bool) -> InlineKeyboardMarkup:
    """After the preview: Publish, or (copy-guard hits) Edit text / Publish anyway."""
    kb = InlineKeyboardBuilder()
    if guard_hits:
        kb.button(text=t("btn-sale-edit-text"), callback_data=SaleForm(action="edit"))
        kb.button(text=t("btn-sale-override"), callback_data=SaleForm(action="override"))
        kb.button(text=t("btn-sale-cancel"), callback_data=SaleForm(action="cancel"))
        kb.adjust(1)
    else:
        kb.button(text=t("btn-sale-publish"), callback_data=SaleForm(action="publish"))
        kb.button(text=t("btn-sale-cancel"), callback_data=SaleForm(action="cancel"))
        kb.adjust(2)
    return kb.as_markup()


def sales_menu(t: Texts, found: list[Sale]) -> InlineKeyboardMarkup:
    """/sales: Edit and Cancel for each sale listed."""
    kb = InlineKeyboardBuilder()
    for sale in found:
        kb.button(
            text=t("btn-sale-edit", id=sale.id),
            callback_data=SaleMenu(action="edit", sale=sale.id),
        )
        kb.button(
            text=t("btn-sale-cancel-sale", id=sale.id),
            callback_data=SaleMenu(action="cancel", sale=sale.id),
        )
    kb.adjust(2)
    return kb.as_markup()


def sale_fields(t: Texts, sale_id: int, fields: tuple[str, ...]) -> InlineKeyboardMarkup:
    """/sales -> Edit: which field to change."""
    kb = InlineKeyboardBuilder()
    for name in fields:
        kb.button(
            text=t(f"sale-field-{name}"),
            callback_data=SaleMenu(action="field", sale=sale_id, field=name),
        )
    kb.adjust(3)
    return kb.as_markup()


def sale_cancel_confirm(t: Texts, sale_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("btn-sale-cancel-yes"), callback_data=SaleMenu(action="cancel_yes", sale=sale_id)
    )
    kb.button(text=t("btn-sale-keep"), callback_data=SaleMenu(action="show", sale=sale_id))
    return kb.as_markup()


# --- the community: members' private chat, the points shop, held drops --------------------


def member_actions(t: Texts, profile: Profile, card_price: int) -> InlineKeyboardMarkup:
    """Under /me and a check-in: check in (not yet today), repair yesterday, buy a card."""
    builder = InlineKeyboardBuilder()
    if not profile.checked_in_today:
        builder.button(text=t("btn-checkin"), callback_data=MemberAction(action="checkin"))
    if profile.can_make_up:
        builder.button(text=t("btn-makeup"), callback_data=MemberAction(action="makeup"))
    builder.button(
        text=t("btn-buy-card", price=card_price), callback_data=MemberAction(action="buycard")
    )
    builder.adjust(1)
    return builder.as_markup()


def shop_items(t: Texts, items: Sequence[tuple[int, str, str, int]]) -> InlineKeyboardMarkup:
    """One Redeem button per /shop item: (drop id, title, discount, cost)."""
    builder = InlineKeyboardBuilder()
    for drop_id, title, _discount, cost in items:
        builder.button(
            text=t("btn-redeem", title=title[:30], cost=cost), callback_data=Redeem(drop=drop_id)
        )
    builder.adjust(1)
    return builder.as_markup()


def held_drop(t: Texts, drop_id: int) -> InlineKeyboardMarkup:
    """A drop the copy guard held: publish anyway (logged) or discard."""
    builder = InlineKeyboardBuilder()
    builder.button(
        text=t("btn-drop-publish"), callback_data=PublishDrop(drop=drop_id, publish=True)
    )
    builder.button(
        text=t("btn-drop-discard"), callback_data=PublishDrop(drop=drop_id, publish=False)
    )
    return builder.as_markup()
