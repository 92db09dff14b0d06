"""Keyboard builders."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder, ReplyKeyboardBuilder

from bot.texts import Texts
from faq import Entry
from handlers.callbacks import Feedback, PickAnswer, SetLanguage, TalkToHuman

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
