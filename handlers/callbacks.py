"""Callback data, named as intents. Everything here may arrive forged: the domain checks it."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class Feedback(CallbackData, prefix="fb"):
    interaction: int
    helpful: bool


class PickAnswer(CallbackData, prefix="pick"):
    interaction: int
    entry: str


class TalkToHuman(CallbackData, prefix="human"):
    source: str  # button | feedback


class SetLanguage(CallbackData, prefix="lang"):
    lang: str
