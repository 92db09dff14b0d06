"""A local fake of the Telegram Bot API, for end-to-end tests and benchmarks.

It speaks the HTTP protocol aiogram's ``AiohttpSession`` uses with
``TelegramAPIServer.from_base(api.url)``: ``POST /bot{token}/{method}`` with form fields
(nested objects such as ``reply_markup`` arrive as JSON strings, uploads as multipart parts
referenced by ``attach://name``), answered with ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ...}``.

    async with FakeBotAPI(token="123456:TEST") as api:
        api.push_update(api.user_message(42, "/start"))
        call = await api.wait_for("sendMessage", lambda c: c.params["chat_id"] == 42)

Forum supergroups: ``api.add_group(-100123)`` registers one; ``createForumTopic`` and
friends keep ``api.topics[chat_id][thread_id]`` (see ``Topic``), and posting into a deleted,
unknown or closed topic fails the way Telegram does. As in Telegram, a topic's
``message_thread_id`` is the id of its ``forum_topic_created`` service message, and a message in
a topic that is not an explicit reply carries that service message as ``reply_to_message``.

Standalone, for trying the bot by hand: ``python -m tests.fake_bot_api --port 8081``, then
``curl -d user_id=42 -d text=/start http://127.0.0.1:8081/_fake/message`` types a message;
every call the bot makes is logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import itertools
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self, TypeAlias

from aiohttp import web

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
# A medium for ``user_message``: True for a default object, or a dict of fields overriding it.
Media: TypeAlias = bool | JSONDict
SEND_MEDIA = {"sendPhoto": "photo", "sendDocument": "document", "sendSticker": "sticker",
              "sendVideo": "video", "sendVoice": "voice", "sendAudio": "audio",
              "sendAnimation": "animation"}  # fmt: skip
SEND_METHODS = frozenset(
    {"sendMessage", "copyMessage", "copyMessages", "forwardMessage", "sendMediaGroup", *SEND_MEDIA}
)
# Methods that reach the user, so they fail with 403 once the user has blocked the bot.
TO_CHAT_METHODS = SEND_METHODS | {
    "sendChatAction",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
}
# Methods that post or edit; in a group (negative chat_id) they count for ``group_per_minute``.
GROUP_LIMITED_METHODS = SEND_METHODS | {
    "createForumTopic",
    "editForumTopic",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
}
# Methods whose message_thread_id names the topic they manage rather than where they post.
TOPIC_METHODS = frozenset(
    {"editForumTopic", "closeForumTopic", "reopenForumTopic", "deleteForumTopic",
     "unpinAllForumTopicMessages"}
)  # fmt: skip
TOPIC_ICON_COLOR = 7322096
TRUE_METHODS = frozenset({
    "deleteWebhook", "setWebhook", "close", "logOut", "deleteMyCommands", "deleteMessage",
    "answerCallbackQuery", "sendChatAction", "pinChatMessage", "unpinChatMessage",
    "restrictChatMember", "approveChatJoinRequest", "declineChatJoinRequest", "leaveChat",
    "setMyDescription", "setMyShortDescription", "setChatMenuButton", "setMessageReaction",
})  # fmt: skip
# Form fields that are always plain strings, even when they look like numbers or JSON.
STRING_FIELDS = frozenset({
    "text", "caption", "title", "name", "description", "short_description", "query", "url", "data",
    "emoji", "photo", "document", "sticker", "custom_title", "invite_link", "callback_query_id",
    "inline_message_id", "parse_mode", "action", "language_code", "secret_token",
    "message_effect_id", "business_connection_id", "icon_custom_emoji_id", "video", "voice",
    "audio", "animation", "media_group_id",
})  # fmt: skip
CONTENT_KEYS = ("text", "entities", "photo", "document", "sticker", "video", "voice", "audio",
                "animation", "video_note", "caption", "caption_entities")  # fmt: skip
STICKER_META = {"type": "regular", "width": 512, "height": 512, "is_animated": False,
                "is_video": False}  # fmt: skip
# Fields Telegram always sends for each kind of file, besides file_id and file_unique_id.
FILE_META: dict[str, JSONDict] = {
    "photo": {"width": 800, "height": 800},
    "document": {"file_name": "file.pdf", "mime_type": "application/pdf"},
    "sticker": STICKER_META | {"emoji": "\N{THUMBS UP SIGN}"},
    "video": {"width": 640, "height": 360, "duration": 5, "mime_type": "video/mp4"},
    "voice": {"duration": 3, "mime_type": "audio/ogg"},
    "audio": {"duration": 180, "mime_type": "audio/mpeg"},
    "animation": {"width": 320, "height": 240, "duration": 2},
}
ADMIN_RIGHTS = (
    "manage_chat", "delete_messages", "manage_video_chats", "restrict_members", "promote_members",
    "change_info", "invite_users", "post_stories", "edit_stories", "delete_stories",
    "manage_topics", "pin_messages", "send_welcome_messages",
)  # fmt: skip
GIFT_TYPES = "unlimited_gifts limited_gifts unique_gifts premium_subscription gifts_from_channels"
_JSON_SCALAR = re.compile(r"-?\d+(\.\d+)?|true|false|null")
_HTML_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Call:
    """One request the bot made; ``status``/``result`` are what the fake answered."""

    method: str
    params: JSONDict
    at: float  # FakeBotAPI.clock() (time.monotonic by default) when the request arrived
    status: int = 200
    result: Any = None


@dataclass
class Hold:
    """Calls kept unanswered by ``FakeBotAPI.hold`` until ``release()``."""

    method: str
    chat_id: int | None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first one held
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class Group:
    """A supergroup registered with ``FakeBotAPI.add_group``."""

    title: str
    is_forum: bool


@dataclass
class Topic:
    """A forum topic's state; tests may read it, or set ``closed`` as an operator would."""

    name: str
    icon_color: int = TOPIC_ICON_COLOR
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False


@dataclass
class _Fault:
    method: str
    error: ApiError
    remaining: int
    chat_id: int | None


class _Window:
    """Sliding-window limiter: at most ``capacity`` accepted sends per ``span`` seconds."""

    def __init__(self, per_s: float) -> None:
        self.span = max(1.0, 1.0 / per_s)
        self.capacity = max(1, int(per_s * self.span))
        self.stamps: deque[float] = deque()

    def full(self, now: float) -> bool:
        while self.stamps and now - self.stamps[0] >= self.span:
            self.stamps.popleft()
        return len(self.stamps) >= self.capacity


def _decode(key: str, value: str) -> Any:
    if key in STRING_FIELDS or not (value[:1] in "{[" or _JSON_SCALAR.fullmatch(value)):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_params(request: web.Request) -> JSONDict:
    """Decode a Bot API request the way Telegram does: query, form or JSON body."""
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    params: JSONDict = {}
    files: dict[str, JSONDict] = {}
    form = await request.post()
    for key, value in itertools.chain(request.query.items(), form.items()):
        if isinstance(value, web.FileField):
            with value.file:
                content = value.file.read()
            files[key] = {
                "file_name": value.filename,
                "mime_type": value.content_type,
                "content": content,
            }
        else:
            params[key] = _decode(key, str(value))
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = files.get(value.removeprefix("attach://"), value)
    media = params.get("media")
    for item in media if isinstance(media, list) else [media]:  # sendMediaGroup's uploads
        if isinstance(item, dict):
            ref = item.get("media")
            if isinstance(ref, str) and ref.startswith("attach://"):
                item["media"] = files.get(ref.removeprefix("attach://"), ref)
    return params


class FakeBotAPI:
    """The fake server plus helpers for tests (see the module docstring).

    ``rate_limit_per_s``/``per_chat_per_s`` limit the send methods (sendMessage, sendPhoto, ...)
    over a sliding window of one second (longer for rates below 1/s): sends over the limit get
    429 with retry_after=1 and are counted in ``rejected_429``. ``group_per_minute`` limits
    the calls that post or edit in each group chat (``GROUP_LIMITED_METHODS``, negative
    chat_id) over a sliding window of 60 s: calls over it get 429 with retry_after = seconds
    until the oldest call leaves the window, also counted in ``rejected_429``.
    ``max_poll_timeout`` caps how long getUpdates waits for updates, whatever ``timeout`` the
    bot asks for. ``clock`` (time.monotonic by default) times calls and the rate limits.
    """

    def __init__(
        self,
        token: str = "123456:TEST",  # noqa: S107 - the fake's well-known test token
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_s: float | None = None,
        per_chat_per_s: float | None = None,
        group_per_minute: int | None = None,
        max_poll_timeout: float = 1.0,
    ) -> None:
        self.token, self.host, self.port = token, host, port
        self.max_poll_timeout = max_poll_timeout
        self.group_per_minute = group_per_minute
        self.clock: Callable[[], float] = time.monotonic
        self.url = ""
        self.bot_user: JSONDict = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Test Shop",
            "username": "test_shop_bot",
        }
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], JSONDict] = {}  # (chat_id, message_id) -> Message
        self.members: dict[tuple[int, int], str] = {}  # (chat_id, user_id) -> status
        self.commands: dict[str, list[JSONDict]] = {}
        self.blocked: set[int] = set()
        self.groups: dict[int, Group] = {}
        self.topics: dict[int, dict[int, Topic]] = {}  # chat_id -> message_thread_id -> Topic
        self.rejected_429 = 0
        self._updates: list[JSONDict] = []
        self._faults: list[_Fault] = []
        self._holds: list[Hold] = []
        self._users: dict[int, JSONDict] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1)  # callback query ids, file ids
        self._global = _Window(rate_limit_per_s) if rate_limit_per_s else None
        self._per_chat_rate = per_chat_per_s
        self._per_chat: dict[int, _Window] = {}
        self._group_calls: dict[int, deque[float]] = {}
        self._new_update = asyncio.Event()
        self._new_call = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        handlers: dict[str, Callable[[JSONDict], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendMessage": self._send,
            **dict.fromkeys(SEND_MEDIA, self._send),
            "sendMediaGroup": self._send_media_group,
            "forwardMessage": self._forward,
            "copyMessage": self._copy,
            "copyMessages": self._copy_many,
            "editMessageText": self._edit,
            "editMessageReplyMarkup": self._edit,
            "editMessageCaption": self._edit,
            "createForumTopic": self._create_topic,
            **dict.fromkeys(TOPIC_METHODS, self._manage_topic),
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "banChatMember": self._ban,
            "unbanChatMember": self._unban,
            "getChatAdministrators": self._get_admins,
            "createChatInviteLink": self._invite_link,
        }
        handlers.update({name: self._true for name in TRUE_METHODS if name not in handlers})
        self._handlers = {name.lower(): handler for name, handler in handlers.items()}

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_post("/_fake/message", self._fake_message)
        app.router.add_route("*", "/{path:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        host, port = self._runner.addresses[0][:2]
        self.port, self.url = port, f"http://{host}:{port}"

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()
        for hold in self._holds:
            hold.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- helpers for tests -------------------------------------------------------------------
    def push_update(self, update: JSONDict) -> int:
        """Queue an Update for getUpdates; assigns ``update_id`` if absent and returns it."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        else:
            self._update_ids = itertools.count(
                max(next(self._update_ids), update["update_id"] + 1)
            )
        self._updates.append(update)
        self._updates.sort(key=lambda u: int(u["update_id"]))
        self._new_update.set()
        self._new_update = asyncio.Event()
        return int(update["update_id"])

    def user_message(
        self,
        user_id: int,
        text: str = "",
        *,
        first_name: str = "Ann",
        language_code: str = "en",
        chat_type: str = "private",
        chat_id: int | None = None,
        message_thread_id: int | None = None,
        is_topic_message: bool | None = None,
        reply_to_message_id: int | None = None,
        photo: Media = False,
        document: Media = False,
        sticker: Media = False,
        voice: Media = False,
        video: Media = False,
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> JSONDict:
        """An Update with a message from ``user_id`` (stored, so it can be copied or edited).

        Media: ``photo=True`` (or a dict of fields overriding the defaults) etc., with
        ``caption``; ``text`` is then left out. A negative ``chat_id`` makes a supergroup message
        (the registered group's title and is_forum, if ``add_group`` was called);
        ``message_thread_id`` marks it a topic message (``is_topic_message`` defaults to True
        then). ``reply_to_message_id`` makes it a reply to that message of the chat (the stored
        one, or a minimal stand-in); without it, a message in a known topic replies to the
        topic's service message, as Telegram does.
        """
        user = self._user(user_id, first_name, language_code)
        chat_id = chat_id if chat_id is not None else user_id
        if chat_type == "private" and chat_id < 0:
            chat_type = "supergroup"
        if chat_type == "private":
            chat: JSONDict = {"id": chat_id, "type": "private", "first_name": first_name}
        else:
            chat = self._group_chat(chat_id) | {"type": chat_type}
        media: JSONDict = {
            kind: self._user_file(kind, value)
            for kind, value in (
                ("photo", photo),
                ("document", document),
                ("sticker", sticker),
                ("voice", voice),
                ("video", video),
            )
            if value is not False
        }
        if media and text:
            raise ValueError("a media message has a caption=, not a text")
        content: JSONDict = media or {"text": text}
        if message_thread_id is not None:
            content["message_thread_id"] = message_thread_id
            if is_topic_message is not False:
                content["is_topic_message"] = True
        if reply_to_message_id is not None:
            stored = self.messages.get((chat_id, reply_to_message_id))
            content["reply_to_message"] = (
                _as_reply(stored)
                if stored is not None
                else {"message_id": reply_to_message_id, "date": int(time.time()), "chat": chat}
            )
        elif message_thread_id is not None:
            content["reply_to_message"] = self._topic_root(chat_id, message_thread_id)
        message = self._new_message(
            chat_id,
            chat=chat,
            sender=user,
            caption=caption,
            media_group_id=media_group_id,
            **content,
        )
        if not media and text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"message": message}

    def edited_message(
        self,
        chat_id: int,
        message_id: int,
        text: str | None = None,
        *,
        caption: str | None = None,
    ) -> JSONDict:
        """An Update editing a message made by ``user_message`` (``chat_id`` is the user's id
        for a private chat): new ``text`` or ``caption``, and ``edit_date``."""
        key = (chat_id, message_id)
        if key not in self.messages:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        if text is None and caption is None:
            raise ValueError("an edit needs a new text or caption")
        message = dict(self.messages[key])
        if text is not None:
            message["text"] = text
            message.pop("entities", None)
        if caption is not None:
            message["caption"] = caption
            message.pop("caption_entities", None)
        message["edit_date"] = max(int(time.time()), int(message["date"]))
        self.messages[key] = message
        return {"edited_message": message}

    def callback_query(
        self,
        user_id: int,
        data: str,
        message: JSONDict,
        *,
        first_name: str = "Ann",
        language_code: str = "en",
    ) -> JSONDict:
        """An Update with a button press on ``message`` (e.g. a recorded Call's ``result``)."""
        query_id = str(next(self._ids))
        return {
            "callback_query": {
                "id": query_id,
                "from": self._user(user_id, first_name, language_code),
                "message": message,
                "chat_instance": str(message["chat"]["id"]),
                "data": data,
            }
        }

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sent_texts(self, chat_id: int) -> list[str]:
        """Texts (and media captions) successfully sent to ``chat_id``, in order."""
        return [
            str(call.params.get("text", call.params.get("caption")))
            for call in self.calls
            if call.method in SEND_METHODS
            and call.status == 200
            and call.params.get("chat_id") == chat_id
            and ("text" in call.params or "caption" in call.params)
        ]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of this helper's interface
        after: int = 0,
    ) -> Call:
        """The first call of ``method`` (among ``calls[after:]``) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        seen = after
        while True:
            for call in self.calls[seen:]:
                if call.method == method and (predicate is None or predicate(call)):
                    return call
            seen = len(self.calls)
            event = self._new_call
            try:
                await asyncio.wait_for(event.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                lines = [f"  {c.method} {c.status} {c.params}" for c in self.calls[after:][-40:]]
                msg = f"no matching {method} call within {timeout}s; calls seen:\n"
                raise TimeoutError(msg + ("\n".join(lines) or "  (none)")) from None

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (to ``chat_id``, if given) fail."""
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: chat not found",
            }.get(error_code, "Internal Server Error")
        error = ApiError(error_code, description, retry_after if error_code == 429 else None)
        self._faults.append(_Fault(method, error, count, chat_id))

    def hold(self, method: str, *, chat_id: int | None = None) -> Hold:
        """Keep calls of ``method`` (to ``chat_id``, if given) waiting for an answer until
        ``release()``: a slow Telegram, or a request in flight when the bot dies. A held call
        is recorded when it is answered, with ``at`` its arrival."""
        hold = Hold(method, chat_id)
        self._holds.append(hold)
        return hold

    def block_user(self, chat_id: int) -> None:
        self.blocked.add(chat_id)

    def unblock_user(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Status for getChatMember: creator/administrator/member/left/kicked."""
        self.members[chat_id, user_id] = status

    def add_group(self, chat_id: int, *, is_forum: bool = True, title: str = "Support") -> None:
        """Register a supergroup; in a forum, posting to an unknown topic then fails too."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self.groups[chat_id] = Group(title=title, is_forum=is_forum)

    def topic(self, chat_id: int, message_thread_id: int) -> Topic:
        """The state of a topic made by createForumTopic (KeyError if there is none)."""
        return self.topics[chat_id][message_thread_id]

    def delete_topic(self, chat_id: int, message_thread_id: int) -> None:
        """An operator deletes a topic by hand (no API call is recorded)."""
        self._delete_topic(chat_id, message_thread_id)

    # -- HTTP --------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        at = self.clock()
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        params = await read_params(request)
        self._holds = [h for h in self._holds if not h.released.is_set()]
        for hold in self._holds:
            if hold.method == method and hold.chat_id in (None, params.get("chat_id")):
                hold.arrived.set()
                await hold.released.wait()
        handler = self._handlers.get(method.lower())
        result: Any = None
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            self._check_faults(method, params, at)
            if "message_thread_id" in params and method not in TOPIC_METHODS:
                self._check_thread(_chat_id(params), params["message_thread_id"])
            result = await handler(params | {"_method": method})
            body: JSONDict = {"ok": True, "result": result}
            status = 200
        except ApiError as error:
            body, status = error.body(), error.code
        self.calls.append(Call(method, params, at, status, result))
        self._new_call.set()
        self._new_call = asyncio.Event()
        if method != "getUpdates":
            logger.info("%s %s -> %s", method, params, status)
        return web.json_response(body, status=status)

    def _check_faults(self, method: str, params: JSONDict, now: float) -> None:
        chat_id = params.get("chat_id")
        for fault in self._faults:
            if fault.method == method and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                raise fault.error
        if method in TO_CHAT_METHODS and chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        windows: list[_Window] = []
        if method in SEND_METHODS:
            windows += [self._global] if self._global else []
            if self._per_chat_rate and isinstance(chat_id, int):
                windows.append(self._per_chat.setdefault(chat_id, _Window(self._per_chat_rate)))
        if any(window.full(now) for window in windows):
            self.rejected_429 += 1
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        group_calls: deque[float] | None = None
        if (
            self.group_per_minute is not None
            and method in GROUP_LIMITED_METHODS
            and isinstance(chat_id, int)
            and chat_id < 0
        ):
            group_calls = self._group_calls.setdefault(chat_id, deque())
            while group_calls and now - group_calls[0] >= 60.0:
                group_calls.popleft()
            if len(group_calls) >= self.group_per_minute:
                self.rejected_429 += 1
                retry_after = max(1, math.ceil(group_calls[0] + 60.0 - now))
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )
        for window in windows:
            window.stamps.append(now)
        if group_calls is not None:
            group_calls.append(now)

    def _check_thread(self, chat_id: int, thread_id: Any) -> None:
        """Posting into a topic: it must exist (in a registered forum) and be open."""
        topic = self.topics.get(chat_id, {}).get(thread_id) if isinstance(thread_id, int) else None
        group = self.groups.get(chat_id)
        if topic is None or topic.deleted:
            if topic is not None or (group is not None and group.is_forum):
                raise ApiError(400, "Bad Request: message thread not found")
        elif topic.closed:
            raise ApiError(400, "Bad Request: TOPIC_CLOSED")

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    async def _fake_message(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        update = self.user_message(int(params["user_id"]), str(params["text"]))
        return web.json_response({"update_id": self.push_update(update)})

    # -- building objects --------------------------------------------------------------------
    def _user(self, user_id: int, first_name: str, language_code: str) -> JSONDict:
        user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        self._users[user_id] = user
        return user

    def _chat(self, chat_id: int) -> JSONDict:
        if chat_id > 0:
            name = self._users.get(chat_id, {}).get("first_name", f"User{chat_id}")
            return {"id": chat_id, "type": "private", "first_name": name}
        return self._group_chat(chat_id)

    def _group_chat(self, chat_id: int) -> JSONDict:
        group = self.groups.get(chat_id)
        if group is None:  # unregistered groups are forums, for older tests
            return {"id": chat_id, "type": "supergroup", "title": "Test group", "is_forum": True}
        chat: JSONDict = {"id": chat_id, "type": "supergroup", "title": group.title}
        return chat | ({"is_forum": True} if group.is_forum else {})

    def _user_file(self, kind: str, value: Media) -> Any:
        file_id = f"{kind}-{next(self._ids)}"
        info = {"file_id": file_id, "file_unique_id": f"u-{file_id}"} | FILE_META[kind]
        info |= value if isinstance(value, dict) else {}
        if kind != "photo":
            return info
        thumb = {"file_id": f"{file_id}-s", "file_unique_id": f"u-{file_id}-s"}
        return [thumb | {"width": 90, "height": 90}, info]

    def _topic_root(self, chat_id: int, thread_id: int) -> JSONDict | None:
        """The forum_topic_created message that messages in a topic implicitly reply to."""
        root = self.messages.get((chat_id, thread_id))
        return _as_reply(root) if root and "forum_topic_created" in root else None

    def _reply_to(self, chat_id: int, p: JSONDict) -> JSONDict | None:
        """``reply_to_message`` for a send with reply_parameters or reply_to_message_id."""
        reply = p.get("reply_parameters")
        if not isinstance(reply, dict):
            reply = {
                "message_id": p.get("reply_to_message_id"),
                "allow_sending_without_reply": p.get("allow_sending_without_reply", False),
            }
        if reply.get("message_id") is None:
            thread_id = p.get("message_thread_id")
            return self._topic_root(chat_id, thread_id) if isinstance(thread_id, int) else None
        target_chat = reply.get("chat_id", chat_id)
        target = self.messages.get((target_chat, reply["message_id"]))
        if target is None and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        return _as_reply(target) if target is not None else None

    def _is_forum(self, chat_id: int) -> bool:
        group = self.groups.get(chat_id)
        return chat_id < 0 and (group is None or group.is_forum)

    def _delete_topic(self, chat_id: int, thread_id: int) -> None:
        self.topic(chat_id, thread_id).deleted = True
        for key, message in list(self.messages.items()):
            if key[0] == chat_id and thread_id in (key[1], message.get("message_thread_id")):
                del self.messages[key]

    def _new_message(
        self,
        chat_id: int,
        *,
        chat: JSONDict | None = None,
        sender: JSONDict | None = None,
        **content: Any,
    ) -> JSONDict:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message: JSONDict = {
            "message_id": next(counter),
            "date": int(time.time()),
            "chat": chat or self._chat(chat_id),
            "from": sender or self.bot_user,
        }
        message.update({key: value for key, value in content.items() if value is not None})
        self.messages[chat_id, message["message_id"]] = message
        return message

    def _sent_file(self, kind: str, value: Any) -> Any:
        """The file object of a message the bot sends; ``value`` is a file_id or an upload."""
        info = self._file(value, kind)
        if kind == "photo":
            return [info | {"width": 90, "height": 90}, info | {"width": 800, "height": 800}]
        meta = FILE_META[kind].items()
        return info | {
            k: v for k, v in meta if k not in info and k not in ("file_name", "mime_type")
        }

    def _file(self, value: Any, kind: str) -> JSONDict:
        file_id = value if isinstance(value, str) else f"{kind}-{next(self._ids)}"
        info: JSONDict = {"file_id": file_id, "file_unique_id": f"u-{file_id}"}
        if isinstance(value, dict):
            info.update(
                file_name=value["file_name"],
                mime_type=value["mime_type"],
                file_size=len(value["content"]),
            )
        return info

    def _message_from_params(self, p: JSONDict, content: JSONDict) -> JSONDict:
        chat_id = _chat_id(p)
        markup = p.get("reply_markup")
        extra: JSONDict = {
            # Telegram only echoes inline keyboards back in Message.reply_markup.
            "reply_markup": markup
            if isinstance(markup, dict) and "inline_keyboard" in markup
            else None,
            "message_thread_id": p.get("message_thread_id"),
            "is_topic_message": True
            if p.get("message_thread_id") and self._is_forum(chat_id)
            else None,
            "reply_to_message": self._reply_to(chat_id, p),
        }
        return self._new_message(chat_id, **(extra | content))

    # -- method handlers ---------------------------------------------------------------------
    async def _true(self, p: JSONDict) -> bool:
        return True

    async def _get_me(self, p: JSONDict) -> JSONDict:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _get_updates(self, p: JSONDict) -> list[JSONDict]:
        offset, limit = int(p.get("offset", 0)), min(max(int(p.get("limit", 100)), 1), 100)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        deadline = time.monotonic() + min(float(p.get("timeout", 0)), self.max_poll_timeout)
        while not self._updates and not self._closing and time.monotonic() < deadline:
            event = self._new_update
            try:
                await asyncio.wait_for(event.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        return self._updates[:limit]

    async def _set_my_commands(self, p: JSONDict) -> bool:
        self.commands[_commands_key(p)] = list(p.get("commands", []))
        return True

    async def _get_my_commands(self, p: JSONDict) -> list[JSONDict]:
        return self.commands.get(_commands_key(p), [])

    async def _send(self, p: JSONDict) -> JSONDict:
        method = p["_method"]
        if method == "sendMessage":
            text = p.get("text")
            if not text:
                raise ApiError(400, "Bad Request: message text is empty")
            content: JSONDict = {"text": _visible_text(p, text)}
        else:
            kind = SEND_MEDIA[method]
            content = {kind: self._sent_file(kind, p.get(kind))}
        if "caption" in p:
            content["caption"] = _visible_text(p, p["caption"])
        return self._message_from_params(p, content)

    def _source(self, p: JSONDict) -> JSONDict:
        source = self.messages.get((int(p.get("from_chat_id", 0)), int(p.get("message_id", 0))))
        if source is None:
            raise ApiError(400, "Bad Request: message to copy not found")
        return source

    async def _forward(self, p: JSONDict) -> JSONDict:
        source = self._source(p)
        content = {key: source[key] for key in CONTENT_KEYS if key in source}
        origin = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        return self._message_from_params(p, content | {"forward_origin": origin})

    async def _copy(self, p: JSONDict) -> JSONDict:
        content = {key: value for key, value in self._source(p).items() if key in CONTENT_KEYS}
        if "caption" in p:
            content["caption"] = _visible_text(p, p["caption"])
        return {"message_id": self._message_from_params(p, content)["message_id"]}

    async def _copy_many(self, p: JSONDict) -> list[JSONDict]:
        """copyMessages: missing source messages are skipped, albums stay albums."""
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        if any(later <= earlier for earlier, later in itertools.pairwise(ids)):
            raise ApiError(
                400, "Bad Request: message identifiers must be in strictly increasing order"
            )
        from_chat = int(p.get("from_chat_id", 0))
        sources = [self.messages[from_chat, i] for i in ids if (from_chat, i) in self.messages]
        if not sources:
            raise ApiError(400, "Bad Request: message to copy not found")
        albums: dict[str, str] = {}
        copied = []
        for source in sources:
            content = {key: value for key, value in source.items() if key in CONTENT_KEYS}
            if p.get("remove_caption"):
                content.pop("caption", None)
                content.pop("caption_entities", None)
            if "media_group_id" in source:
                album = albums.setdefault(source["media_group_id"], f"album-{next(self._ids)}")
                content["media_group_id"] = album
            copied.append({"message_id": self._message_from_params(p, content)["message_id"]})
        return copied

    async def _send_media_group(self, p: JSONDict) -> list[JSONDict]:
        media = p.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: media group must have 2-10 items")
        album = f"album-{next(self._ids)}"
        messages = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "document", "audio"):
                raise ApiError(400, "Bad Request: wrong media type in the media group")
            content: JSONDict = {kind: self._sent_file(kind, item.get("media"))}
            if "caption" in item:
                content["caption"] = _visible_text(item, item["caption"])
            messages.append(self._message_from_params(p, content | {"media_group_id": album}))
        return messages

    async def _edit(self, p: JSONDict) -> JSONDict | bool:
        if "inline_message_id" in p:
            return True
        key = (_chat_id(p), int(p.get("message_id", 0)))
        old = self.messages.get(key)
        if old is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        new = dict(old)
        markup = p.get("reply_markup")
        new.pop("reply_markup", None)
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            new["reply_markup"] = markup
        if p["_method"] == "editMessageText":
            new["text"] = _visible_text(p, p.get("text", ""))
        elif p["_method"] == "editMessageCaption":
            new["caption"] = _visible_text(p, p.get("caption", ""))
        if new == old:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current content "
                "and reply markup of the message",
            )
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        return new

    async def _create_topic(self, p: JSONDict) -> JSONDict:
        chat_id = _chat_id(p)
        if not self._is_forum(chat_id):
            raise ApiError(400, "Bad Request: the chat is not a forum")
        name = str(p.get("name", ""))
        if not name:
            raise ApiError(400, "Bad Request: TOPIC_TITLE_EMPTY")
        topic = Topic(name, int(p.get("icon_color", TOPIC_ICON_COLOR)))
        topic.icon_custom_emoji_id = p.get("icon_custom_emoji_id")
        created = {"name": topic.name, "icon_color": topic.icon_color}
        if topic.icon_custom_emoji_id:
            created["icon_custom_emoji_id"] = topic.icon_custom_emoji_id
        service = self._new_message(chat_id, forum_topic_created=created)
        thread_id = int(service["message_id"])
        service.update(message_thread_id=thread_id, is_topic_message=True)
        self.topics.setdefault(chat_id, {})[thread_id] = topic
        return {"message_thread_id": thread_id, **created}

    async def _manage_topic(self, p: JSONDict) -> bool:
        """edit/close/reopen/delete a topic made by createForumTopic."""
        chat_id, method = _chat_id(p), p["_method"]
        if not self._is_forum(chat_id):
            raise ApiError(400, "Bad Request: the chat is not a forum")
        thread_id = p.get("message_thread_id")
        topic = self.topics.get(chat_id, {}).get(thread_id) if isinstance(thread_id, int) else None
        if topic is None or topic.deleted or not isinstance(thread_id, int):
            raise ApiError(400, "Bad Request: TOPIC_ID_INVALID")
        before = (topic.name, topic.icon_custom_emoji_id, topic.closed)
        if method == "editForumTopic":
            topic.name = str(p.get("name") or topic.name)
            if "icon_custom_emoji_id" in p:
                topic.icon_custom_emoji_id = p["icon_custom_emoji_id"] or None
        elif method in ("closeForumTopic", "reopenForumTopic"):
            topic.closed = method == "closeForumTopic"
        elif method == "deleteForumTopic":
            self._delete_topic(chat_id, thread_id)
            return True
        else:  # unpinAllForumTopicMessages
            return True
        if (topic.name, topic.icon_custom_emoji_id, topic.closed) == before:
            raise ApiError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        return True

    async def _get_chat(self, p: JSONDict) -> JSONDict:
        gifts = dict.fromkeys(GIFT_TYPES.split(), False)
        return self._chat(_chat_id(p)) | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _member(self, chat_id: int, user_id: int) -> JSONDict:
        if user_id == self.bot_user["id"]:
            status, user = "administrator", self.bot_user
        else:
            status = self.members.get((chat_id, user_id), "member")
            user = self._users.get(
                user_id, {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
            )
        member: JSONDict = {"status": status, "user": user}
        if status == "kicked":
            member["until_date"] = 0
        elif status in ("creator", "administrator"):
            member["is_anonymous"] = False
        if status == "administrator":
            member |= {f"can_{right}": True for right in ADMIN_RIGHTS} | {"can_be_edited": False}
        return member

    async def _get_chat_member(self, p: JSONDict) -> JSONDict:
        return self._member(_chat_id(p), int(p.get("user_id", 0)))

    async def _get_admins(self, p: JSONDict) -> list[JSONDict]:
        chat_id = _chat_id(p)
        users = [self.bot_user["id"]] + [
            user_id
            for (chat, user_id), status in self.members.items()
            if chat == chat_id and status in ("creator", "administrator")
        ]
        return [self._member(chat_id, user_id) for user_id in users]

    async def _ban(self, p: JSONDict) -> bool:
        self.members[_chat_id(p), int(p.get("user_id", 0))] = "kicked"
        return True

    async def _unban(self, p: JSONDict) -> bool:
        self.members[_chat_id(p), int(p.get("user_id", 0))] = "left"
        return True

    async def _invite_link(self, p: JSONDict) -> JSONDict:
        link = f"https://t.me/+fake{next(self._ids)}"
        flags = {"is_primary": False, "is_revoked": False}
        join_request = bool(p.get("creates_join_request", False))
        return {"invite_link": link, "creator": self.bot_user, **flags,
                "creates_join_request": join_request}  # fmt: skip


def _chat_id(p: JSONDict) -> int:
    chat_id = p.get("chat_id")
    if chat_id is None or chat_id == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if not isinstance(chat_id, int):
        raise ApiError(400, "Bad Request: chat not found")
    return chat_id


def _as_reply(message: JSONDict) -> JSONDict:
    """A message as it appears in another's ``reply_to_message`` (not nested any further)."""
    return {key: value for key, value in message.items() if key != "reply_to_message"}


def _commands_key(p: JSONDict) -> str:
    return json.dumps([p.get("scope") or {"type": "default"}, p.get("language_code", "")])


def _visible_text(p: JSONDict, text: str) -> str:
    """What Telegram would show: HTML markup removed when parse_mode is HTML."""
    if str(p.get("parse_mode", "")).upper() == "HTML":
        return html.unescape(_HTML_TAG.sub("", text))
    return text


async def _serve(port: int, token: str) -> None:
    async with FakeBotAPI(token=token, port=port, max_poll_timeout=25.0) as api:
        print(f"Fake Telegram Bot API on {api.url} (token {token})", flush=True)  # noqa: T201
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake Telegram Bot API server.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
