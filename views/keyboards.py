"""Keyboard builders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

from campaigns import sales
from community.checkins import Profile
from faq import Entry
from storage.models import Sale
from views.callbacks import (
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
    SetLanguage,
    SkipComment,
    TakeTicket,
    TalkToHuman,
    TransferMenu,
    TransferTo,
    UseCanned,
)
from views.texts import Texts

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
    kb.button(text=t("bc-btn-cancel"), callback_data=CancelBroadcast(broadcast=broadcast_id))
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
