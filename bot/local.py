"""A Bot API session that never leaves the process: it records every request and answers
with plausible results. `python main.py shell` chats through it, and tests assert on it.

Group chats (negative ids) are supergroups; those in `LocalSession.forum_chats` are forums.
The bot is an administrator (can_manage_topics) wherever getChatMember asks."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import (
    CopyMessages,
    CreateForumTopic,
    GetChat,
    GetChatMember,
    GetMe,
    SendMediaGroup,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    AcceptedGiftTypes,
    Chat,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    ForumTopic,
    InlineKeyboardMarkup,
    Message,
    MessageId,
    ReplyParameters,
    User,
)

BOT_USER = User(id=42, is_bot=True, first_name="Shop assistant", username="shop_assistant_bot")
TOPIC_ICON_COLOR = 7322096
FIRST_TOPIC_ID = 100
# Fields a file of each kind needs besides file_id/file_unique_id, for fabricated messages.
FILE_FIELDS: dict[str, dict[str, Any]] = {
    "photo": {"width": 800, "height": 800},
    "document": {},
    "video": {"width": 640, "height": 360, "duration": 5},
    "voice": {"duration": 3},
    "audio": {"duration": 180},
    "animation": {"width": 320, "height": 240, "duration": 2},
    "sticker": {"type": "regular", "width": 512, "height": 512, "is_animated": False,
                "is_video": False},
}  # fmt: skip


@dataclass
class LocalSession(BaseSession):
    """Records requests in `requests`; `fail_next` queues an exception for a method name
    (its Bot API name, e.g. "copyMessages"). `forum_chats` are the group ids getChat reports
    as forums."""

    requests: list[TelegramMethod[Any]] = field(default_factory=list)
    on_request: Callable[[TelegramMethod[Any]], None] | None = None
    forum_chats: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1000)
        self._topic_ids = itertools.count(FIRST_TOPIC_ID)
        self._chat_message_ids: dict[int, itertools.count[int]] = {}
        self._failures: dict[str, list[TelegramAPIError | OSError]] = {}
        self._answers: dict[int, Any] = {}  # id(request) -> what it was answered

    def outgoing(self, start: int = 0) -> list[Outgoing]:
        """The requests from ``start`` on, flattened, with the ids of the messages they made."""
        return [flatten(r, self._answers.get(id(r))) for r in self.requests[start:]]

    def next_message_id(self, chat_id: int) -> int:
        """A fresh id for a message a person sends to ``chat_id`` (ChatClient uses it)."""
        return next(self._chat_message_ids.setdefault(chat_id, itertools.count(1)))

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
        answer = self._result(bot, method)
        self._answers[id(method)] = answer
        return answer  # type: ignore[no-any-return]

    def _result(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        returning = method.__returning__
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, CopyMessages):
            return [MessageId(message_id=next(self._ids)) for _ in method.message_ids]
        if isinstance(method, SendMediaGroup):
            album = f"album-{next(self._ids)}"
            return [
                self._message(bot, method, self._media_content(item) | {"media_group_id": album})
                for item in method.media
            ]
        if isinstance(method, CreateForumTopic):
            return ForumTopic(
                message_thread_id=next(self._topic_ids),
                name=method.name,
                icon_color=method.icon_color or TOPIC_ICON_COLOR,
                icon_custom_emoji_id=method.icon_custom_emoji_id,
            )
        if isinstance(method, GetChat):
            return self._chat_info(method.chat_id)
        if isinstance(method, GetChatMember):
            return self._member(bot, method.user_id)
        if returning is MessageId:
            return MessageId(message_id=next(self._ids))
        if returning is bool or "bool" in str(returning):
            return True
        if "Message" in str(returning):
            return self._message(bot, method)
        return True

    def _chat_info(self, chat_id: int | str) -> ChatFullInfo:
        chat_id = chat_id if isinstance(chat_id, int) else 0
        gifts = AcceptedGiftTypes(
            unlimited_gifts=False,
            limited_gifts=False,
            unique_gifts=False,
            premium_subscription=False,
            gifts_from_channels=False,
        )
        names: dict[str, Any] = (
            {"type": "private", "first_name": f"User{chat_id}"}
            if chat_id > 0
            else {
                "type": "supergroup",
                "title": "Support",
                "is_forum": chat_id in self.forum_chats,
            }
        )
        return ChatFullInfo(
            id=chat_id,
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types=gifts,
            **names,
        )

    def _member(self, bot: Bot, user_id: int) -> ChatMemberAdministrator | ChatMemberMember:
        if user_id not in (bot.id, BOT_USER.id):
            return ChatMemberMember(
                user=User(id=user_id, is_bot=False, first_name=f"User{user_id}")
            )
        rights = {
            name: name != "can_be_edited"
            for name in ChatMemberAdministrator.model_fields
            if name.startswith("can_")
        }
        user = BOT_USER.model_copy(update={"id": user_id})
        return ChatMemberAdministrator.model_validate(
            {"user": user, "is_anonymous": False, **rights}
        )

    def _file(self, kind: str, value: Any) -> dict[str, Any] | list[dict[str, Any]]:
        file_id = value if isinstance(value, str) else f"local-{kind}-{next(self._ids)}"
        info = {"file_id": file_id, "file_unique_id": f"u-{file_id}"} | FILE_FIELDS[kind]
        return [info] if kind == "photo" else info

    def _media_content(self, item: Any) -> dict[str, Any]:
        """The content of one album message made from an InputMedia* of SendMediaGroup."""
        content: dict[str, Any] = {item.type: self._file(item.type, item.media)}
        if item.caption:
            content["caption"] = item.caption
        return content

    def _message(
        self, bot: Bot, method: TelegramMethod[Any], content: dict[str, Any] | None = None
    ) -> Message:
        chat_id = getattr(method, "chat_id", None) or 0
        if not isinstance(chat_id, int):
            chat_id = 0
        chat = Chat(id=chat_id, type="private" if chat_id > 0 else "supergroup")
        markup = getattr(method, "reply_markup", None)
        message_id = getattr(method, "message_id", None)  # an edit's own message
        if not method.__api_method__.startswith("edit") or not isinstance(message_id, int):
            message_id = next(self._ids)
        thread_id = getattr(method, "message_thread_id", None)
        files = {
            kind: self._file(kind, getattr(method, kind))
            for kind in FILE_FIELDS
            if isinstance(getattr(method, kind, None), str)  # a file_id; uploads stay unseen
        }
        reply = getattr(method, "reply_parameters", None)
        reply_id = reply.message_id if isinstance(reply, ReplyParameters) else None
        reply_id = reply_id or getattr(method, "reply_to_message_id", None)
        return Message.model_validate(
            {
                "message_id": message_id,
                "date": datetime.now(UTC),
                "chat": chat,
                "from": BOT_USER,
                "text": getattr(method, "text", None),
                "caption": getattr(method, "caption", None),
                "message_thread_id": thread_id,
                "is_topic_message": True if thread_id and chat_id < 0 else None,
                "reply_to_message": {
                    "message_id": reply_id,
                    "date": datetime.now(UTC),
                    "chat": chat,
                }
                if isinstance(reply_id, int)
                else None,
                "reply_markup": markup if isinstance(markup, InlineKeyboardMarkup) else None,
                **files,
                **(content or {}),
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
        message = {
            "message_id": self.session.next_message_id(self.chat.id),
            "date": now,
            "chat": chat,
            "from": self.user.model_dump(exclude_none=True),
            **content,
        }
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
        message = dict(self.messages[message_id])
        if _has_media(message):
            message["caption"] = text
            message.pop("caption_entities", None)
        else:
            message["text"] = text
            message.pop("entities", None)
        message["edit_date"] = max(int(datetime.now(UTC).timestamp()), int(message["date"]))
        self.messages[message_id] = message
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

    async def press(self, data: str, message_id: int = 1) -> list[Outgoing]:
        """Send callback data as if a button of message ``message_id`` carried it (including
        forged data)."""
        update = {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": str(self.next_update_id()),
                "from": self.user.model_dump(exclude_none=True),
                "chat_instance": "local",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(datetime.now(UTC).timestamp()),
                    "chat": self.chat.model_dump(exclude_none=True),
                    "from": BOT_USER.model_dump(exclude_none=True),
                    "text": "…",
                },
            },
        }
        return await self.feed(update)


def _has_media(message: dict[str, Any]) -> bool:
    return any(kind in message for kind in (*FILE_FIELDS, "video_note"))
