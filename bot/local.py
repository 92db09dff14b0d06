"""A Bot API session that never leaves the process: it records every request and answers
as Telegram would, from `bot.fake_api.FakeTelegram` (the model the HTTP fake of the tests
shares). `python main.py shell` chats through it, and tests assert on it.

The model is lenient: a message, topic or forum it never saw is stood in for, never refused.
Group chats (negative ids) are supergroups; those in `LocalSession.forum_chats` are forums.
The bot is an administrator (can_manage_topics) wherever getChatMember asks."""

from __future__ import annotations

import itertools
import json
import mimetypes
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, InlineKeyboardMarkup, InputFile, Message, User

from bot.fake_api import MEDIA_KEYS, ApiError, FakeTelegram, JSONDict, resolve_attachments
from bot.responses import KeepResponseTypes

BOT_USER = User(id=42, is_bot=True, first_name="Shop assistant", username="shop_assistant_bot")


@dataclass
class LocalSession(KeepResponseTypes):
    """Records requests in `requests`; `fail_next` queues an exception for a method name
    (its Bot API name, e.g. "copyMessages"). `forum_chats` are the group ids getChat reports
    as forums. `telegram` is the model answering: its `messages` are what was sent, per chat."""

    requests: list[TelegramMethod[Any]] = field(default_factory=list)
    on_request: Callable[[TelegramMethod[Any]], None] | None = None
    forum_chats: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        super().__init__()
        bot_user = BOT_USER.model_dump(mode="json", exclude_none=True)
        self.telegram = FakeTelegram(bot_user, lenient=True)
        for chat_id in self.forum_chats:
            self.telegram.add_group(chat_id, is_forum=True)
        self._failures: dict[str, list[TelegramAPIError | OSError]] = {}
        self._answers: dict[int, Any] = {}  # id(request) -> what it was answered

    def outgoing(self, start: int = 0) -> list[Outgoing]:
        """The requests from ``start`` on, flattened, with the ids of the messages they made."""
        return [flatten(r, self._answers.get(id(r))) for r in self.requests[start:]]

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
        self.telegram.bot_ids.add(bot.id)
        params = await self._params(bot, method)
        try:
            result = self.telegram.call(method.__api_method__, params)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.code, error.body()
        # Through JSON and aiogram's own check, as an answer over HTTP would go.
        answer = self.check_response(bot, method, status, json.dumps(body)).result
        self._answers[id(method)] = answer
        return answer  # type: ignore[return-value]

    async def _params(self, bot: Bot, method: TelegramMethod[Any]) -> JSONDict:
        """The method's fields as the Bot API receives them (aiogram's own preparation)."""
        files: dict[str, InputFile] = {}
        params: JSONDict = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":
                params[key] = prepared
        uploads: dict[str, JSONDict] = {}
        for name, upload in files.items():
            filename = upload.filename or name
            uploads[name] = {
                "file_name": filename,
                "mime_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
                "content": b"".join([chunk async for chunk in upload.read(bot)]),
            }
        return resolve_attachments(params, uploads)


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
    message_id: int | None = None  # the message sent, or edited


def flatten(method: TelegramMethod[Any], answer: Any = None) -> Outgoing:
    """``answer``, what Telegram answered, gives a sent message's id."""
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
        message_id=answer.message_id
        if isinstance(answer, Message)
        else getattr(method, "message_id", None),
    )


class ChatClient:
    """A customer talking to the Dispatcher: `send` text, `click` inline buttons.

    With ``chat_type="supergroup", chat_id=-100...`` it is a member of a group (a forum
    unless ``is_forum=False``), e.g. an agent writing in a support topic."""

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
        chat_title: str | None = None,
        is_forum: bool | None = None,
        first_update_id: int = 1,
    ) -> None:
        self.dp = dispatcher
        self.bot = bot
        self.session = session
        self.user = User(
            id=user_id, is_bot=False, first_name=first_name, language_code=language_code
        )
        if chat_type != "private":  # a group member, e.g. an agent in the support forum
            chat_title = chat_title or "Support"
            # Telegram leaves is_forum out unless it is true.
            is_forum = (chat_type == "supergroup" if is_forum is None else is_forum) or None
        self.chat = Chat(
            id=chat_id or user_id, type=chat_type, title=chat_title, is_forum=is_forum
        )
        self._update_ids = itertools.count(first_update_id)
        self.last_buttons: list[Button] = []
        self.last_message_id = 0
        self.messages: dict[int, dict[str, Any]] = {}  # message_id -> what this person sent

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def feed(self, update: dict[str, Any]) -> list[Outgoing]:
        """Feed one raw update and return what the bot sent while handling it."""
        start = len(self.session.requests)
        await self.dp.feed_raw_update(self.bot, update)
        out = self.session.outgoing(start)
        for item in out:
            if item.buttons:
                self.last_buttons = item.buttons
        return out

    def message_update(self, **content: Any) -> dict[str, Any]:
        """A message update from this person; ``reply_to_message`` may be a message id or a
        dict missing ``date``/``chat`` (this chat's are filled in)."""
        now = int(datetime.now(UTC).timestamp())
        chat = self.chat.model_dump(exclude_none=True)
        reply = content.get("reply_to_message")
        if reply is not None:
            reply = {"message_id": reply} if isinstance(reply, int) else dict(reply)
            content["reply_to_message"] = {"date": now, "chat": chat} | reply
        message = self.session.telegram.new_message(
            self.chat.id,
            chat=chat,
            sender=self.user.model_dump(exclude_none=True),
            date=now,
            **content,
        )
        self.messages[message["message_id"]] = message
        self.last_message_id = message["message_id"]
        return {"update_id": self.next_update_id(), "message": message}

    async def send(self, text: str) -> list[Outgoing]:
        return await self.feed(self.message_update(text=text))

    async def send_content(self, **content: Any) -> list[Outgoing]:
        """Any other message content, e.g. sticker={...}, photo=[...], caption=...,
        message_thread_id=7, is_topic_message=True, reply_to_message={"message_id": 5}."""
        return await self.feed(self.message_update(**content))

    async def send_album(self, items: list[dict[str, Any]], media_group_id: str) -> list[Outgoing]:
        """Several messages of one album (e.g. ``[{"photo": [...], "caption": "a"}, ...]``),
        fed one after another; returns everything the bot sent meanwhile."""
        out: list[Outgoing] = []
        for item in items:
            out += await self.feed(self.message_update(media_group_id=media_group_id, **item))
        return out

    async def edit(self, message_id: int, text: str) -> list[Outgoing]:
        """Edit a message this person sent: its text, or its caption if it is media."""
        if message_id not in self.messages:
            raise LookupError(f"message {message_id} was not sent by this client")
        media = any(kind in self.messages[message_id] for kind in MEDIA_KEYS)
        edit = self.session.telegram.edited_message(
            self.chat.id, message_id, None if media else text, caption=text if media else None
        )
        message = self.messages[message_id] = edit["edited_message"]
        return await self.feed({"update_id": self.next_update_id(), "edited_message": message})

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

    async def press(self, data: str, message_id: int | None = None) -> list[Outgoing]:
        """Send callback data as if a button carried it (including forged data): a button of
        message ``message_id`` of this chat, or of a stand-in message."""
        message = self.session.telegram.messages.get((self.chat.id, message_id or 0)) or {
            "message_id": message_id or 1,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": self.chat.model_dump(exclude_none=True),
            "from": BOT_USER.model_dump(exclude_none=True),
            "text": "…",
        }
        update = {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": str(self.next_update_id()),
                "from": self.user.model_dump(exclude_none=True),
                "chat_instance": "local",
                "data": data,
                "message": message,
            },
        }
        return await self.feed(update)
