"""Async filters. aiogram runs synchronous filters (magic F included) in a thread, which
costs about 3x in throughput (see shared PLATFORM notes), so these are coroutines."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from community.policy import CommunityPolicy
from support.tickets import DeskPolicy
from views import keyboards
from views.texts import Catalogue


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
    """A reply-keyboard label in any language → `menu_action` (its catalogue key).

    The labels come from the Dispatcher's `catalogue`, read once per catalogue."""

    def __init__(self) -> None:
        self._labels: tuple[Catalogue, dict[str, str]] | None = None

    async def __call__(self, message: Message, catalogue: Catalogue) -> bool | dict[str, Any]:
        if self._labels is None or self._labels[0] is not catalogue:
            self._labels = (catalogue, keyboards.menu_labels(catalogue))
        action = self._labels[1].get(message.text or "")
        return {"menu_action": action} if action else False


class IsAdmin(Filter):
    """The user is one of ADMIN_IDS (the Dispatcher's `admin_ids`)."""

    async def __call__(
        self, event: Message | CallbackQuery, admin_ids: tuple[int, ...] = ()
    ) -> bool:
        return event.from_user is not None and event.from_user.id in admin_ids


def _chat_id(event: Message | CallbackQuery) -> int | None:
    if isinstance(event, CallbackQuery):
        return event.message.chat.id if event.message is not None else None
    return event.chat.id


class SupportChat(Filter):
    """The event is in the support group (DeskPolicy.chat_id)."""

    async def __call__(self, event: Message | CallbackQuery, desk: DeskPolicy) -> bool:
        return desk.chat_id is not None and _chat_id(event) == desk.chat_id


class CommunityChat(Filter):
    """The event is in the community group (CommunityPolicy.chat_id)."""

    async def __call__(self, event: Message | CallbackQuery, community: CommunityPolicy) -> bool:
        return community.chat_id is not None and _chat_id(event) == community.chat_id
