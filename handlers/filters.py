"""Async filters. aiogram runs synchronous filters (magic F included) in a thread, which
costs about 3x in throughput (see shared PLATFORM notes), so these are coroutines."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message


class PrivateChat(Filter):
    async def __call__(self, event: Message | CallbackQuery | ChatMemberUpdated) -> bool:
        if isinstance(event, CallbackQuery):
            return event.message is not None and event.message.chat.type == "private"
        return event.chat.type == "private"


class HasText(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.text is not None


class SlashCommand(Filter):
    """Any text that looks like a command (the known ones are matched before this)."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text) and message.text.startswith("/")  # type: ignore[union-attr]


class MenuButton(Filter):
    """A reply-keyboard label in any language → `menu_action` (its catalogue key)."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        action = self.labels.get(message.text or "")
        return {"menu_action": action} if action else False


class IsAdmin(Filter):
    """The user is one of ADMIN_IDS."""

    def __init__(self, admin_ids: tuple[int, ...]) -> None:
        self.admin_ids = frozenset(admin_ids)

    async def __call__(self, event: Message | CallbackQuery) -> bool:
        return event.from_user is not None and event.from_user.id in self.admin_ids


class InChat(Filter):
    def __init__(self, chat_id: int | None) -> None:
        self.chat_id = chat_id

    async def __call__(self, event: Message | CallbackQuery) -> bool:
        if self.chat_id is None:
            return False
        if isinstance(event, CallbackQuery):
            return event.message is not None and event.message.chat.id == self.chat_id
        return event.chat.id == self.chat_id
