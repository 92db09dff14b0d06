"""A Bot API session that never leaves the process: it records every request and answers
with plausible results. `python main.py shell` chats through it, and tests assert on it."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import GetMe, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    Chat,
    ForumTopic,
    InlineKeyboardMarkup,
    Message,
    MessageId,
    User,
)

BOT_USER = User(id=42, is_bot=True, first_name="Shop assistant", username="shop_assistant_bot")


@dataclass
class LocalSession(BaseSession):
    """Records requests in `requests`; `fail_next` queues an exception for a method name."""

    requests: list[TelegramMethod[Any]] = field(default_factory=list)
    on_request: Callable[[TelegramMethod[Any]], None] | None = None

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1000)
        self._failures: dict[str, list[TelegramAPIError | OSError]] = {}

    def fail_next(self, api_method: str, error: TelegramAPIError | OSError) -> None:
        self._failures.setdefault(api_method, []).append(error)

    def sent(self, method_type: type[TelegramMethod[Any]]) -> list[Any]:
        return [r for r in self.requests if isinstance(r, method_type)]

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (aiogram's BaseSession signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's BaseSession signature)
    ) -> TelegramType:
        self.requests.append(method)
        if self.on_request is not None:
            self.on_request(method)
        queued = self._failures.get(method.__api_method__)
        if queued:
            raise queued.pop(0)
        return self._result(bot, method)  # type: ignore[no-any-return]

    def _result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        returning = method.__returning__
        if isinstance(method, GetMe):
            return BOT_USER
        if returning is MessageId:
            return MessageId(message_id=next(self._ids))
        if returning is ForumTopic:
            return ForumTopic(
                message_thread_id=next(self._ids), name=getattr(method, "name", ""), icon_color=0
            )
        if returning is bool or "bool" in str(returning):
            return True
        if "Message" in str(returning):
            return self._message(bot, method)
        return True

    def _message(self, bot: Bot, method: TelegramMethod[Any]) -> Message:
        chat_id = getattr(method, "chat_id", None) or 0
        if not isinstance(chat_id, int):
            chat_id = 0
        markup = getattr(method, "reply_markup", None)
        return Message.model_validate(
            {
                "message_id": getattr(method, "message_id", None) or next(self._ids),
                "date": datetime.now(UTC),
                "chat": Chat(id=chat_id, type="private" if chat_id > 0 else "supergroup"),
                "from": BOT_USER,
                "text": getattr(method, "text", None),
                "caption": getattr(method, "caption", None),
                "message_thread_id": getattr(method, "message_thread_id", None),
                "reply_markup": markup if isinstance(markup, InlineKeyboardMarkup) else None,
            },
            context={"bot": bot},
        )


@dataclass
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass
class Outgoing:
    """One thing the bot did in reply, flattened for reading and asserting."""

    method: str
    chat_id: int | str | None
    text: str | None
    buttons: list[Button]
    menu: list[str]
    show_alert: bool = False
    request: Any = None


def flatten(method: TelegramMethod[Any]) -> Outgoing:
    markup = getattr(method, "reply_markup", None)
    buttons: list[Button] = []
    menu: list[str] = []
    if isinstance(markup, InlineKeyboardMarkup):
        buttons = [
            Button(b.text, b.callback_data, b.url) for row in markup.inline_keyboard for b in row
        ]
    elif markup is not None and hasattr(markup, "keyboard"):
        menu = [b.text for row in markup.keyboard for b in row]
    text = getattr(method, "text", None) or getattr(method, "caption", None)
    return Outgoing(
        method=method.__api_method__,
        chat_id=getattr(method, "chat_id", None),
        text=text,
        buttons=buttons,
        menu=menu,
        show_alert=bool(getattr(method, "show_alert", False)),
        request=method,
    )


class ChatClient:
    """A customer talking to the Dispatcher: `send` text, `click` inline buttons."""

    def __init__(
        self,
        dispatcher: Any,
        bot: Bot,
        session: LocalSession,
        *,
        user_id: int = 1001,
        first_name: str = "Ann",
        language_code: str | None = "en",
        chat_type: str = "private",
        chat_id: int | None = None,
        first_update_id: int = 1,
    ) -> None:
        self.dp = dispatcher
        self.bot = bot
        self.session = session
        self.user = User(
            id=user_id, is_bot=False, first_name=first_name, language_code=language_code
        )
        self.chat = Chat(id=chat_id or user_id, type=chat_type)
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(1)
        self.last_buttons: list[Button] = []
        self.last_message_id = 0

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def feed(self, update: dict[str, Any]) -> list[Outgoing]:
        """Feed one raw update and return what the bot sent while handling it."""
        start = len(self.session.requests)
        await self.dp.feed_raw_update(self.bot, update)
        out = [flatten(r) for r in self.session.requests[start:]]
        for item in out:
            if item.buttons:
                self.last_buttons = item.buttons
        return out

    def message_update(self, **content: Any) -> dict[str, Any]:
        return {
            "update_id": self.next_update_id(),
            "message": {
                "message_id": next(self._message_ids),
                "date": int(datetime.now(UTC).timestamp()),
                "chat": self.chat.model_dump(exclude_none=True),
                "from": self.user.model_dump(exclude_none=True),
                **content,
            },
        }

    async def send(self, text: str) -> list[Outgoing]:
        return await self.feed(self.message_update(text=text))

    async def send_content(self, **content: Any) -> list[Outgoing]:
        """Any other message content, e.g. sticker={...} or photo=[...]."""
        return await self.feed(self.message_update(**content))

    def find_button(self, which: int | str) -> Button:
        buttons = [b for b in self.last_buttons if b.callback_data]
        if isinstance(which, int):
            if not 1 <= which <= len(buttons):
                raise LookupError(f"no button {which}; there are {len(buttons)}")
            return buttons[which - 1]
        for b in buttons:
            if which in b.text:
                return b
        raise LookupError(f"no button like {which!r} in {[b.text for b in buttons]}")

    async def click(self, which: int | str) -> list[Outgoing]:
        """Tap an inline button of the last message that had some (1-based or by label)."""
        return await self.press(self.find_button(which).callback_data or "")

    async def press(self, data: str) -> list[Outgoing]:
        """Send callback data as if a button carried it (including forged data)."""
        update = {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": str(self.next_update_id()),
                "from": self.user.model_dump(exclude_none=True),
                "chat_instance": "local",
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": int(datetime.now(UTC).timestamp()),
                    "chat": self.chat.model_dump(exclude_none=True),
                    "from": BOT_USER.model_dump(exclude_none=True),
                    "text": "…",
                },
            },
        }
        return await self.feed(update)
