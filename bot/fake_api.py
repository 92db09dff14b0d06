"""Telegram's Bot API answers, synthesised in memory: the one model behind both fakes.

`FakeTelegram.call(method, params)` answers a Bot API method as Telegram would (the JSON
``result``, or `ApiError`), keeping the state the answers depend on: messages per chat with
per-chat ids, forum topics, members, commands. ``params`` are the method's fields as JSON
values (nested objects as dicts, uploads as ``{"file_name", "mime_type", "content"}``).

Two transports use it: `bot.local.LocalSession` (in process, for the shell and handler
tests) and ``tests/fake_bot_api.py`` (over HTTP, for end-to-end tests). A lenient model
(the in-process one) never refuses for want of state: a message, topic or forum it does
not know is stood in for, since its tests fabricate ids freely; a strict one refuses as
Telegram does ("message to edit not found", "message thread not found", ...).

As in Telegram, a topic's ``message_thread_id`` is the id of its ``forum_topic_created``
service message, and a message in a topic that is not an explicit reply carries that service
message as ``reply_to_message``.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

JSONDict = dict[str, Any]
# A medium for ``user_message``: True for a default object, or a dict of fields overriding it.
Media: TypeAlias = bool | JSONDict
SEND_MEDIA = {"sendPhoto": "photo", "sendDocument": "document", "sendSticker": "sticker",
              "sendVideo": "video", "sendVoice": "voice", "sendAudio": "audio",
              "sendAnimation": "animation"}  # fmt: skip
SEND_METHODS = frozenset(
    {"sendMessage", "copyMessage", "copyMessages", "forwardMessage", "sendMediaGroup", *SEND_MEDIA}
)
EDIT_METHODS = frozenset({"editMessageText", "editMessageReplyMarkup", "editMessageCaption"})
# Methods whose message_thread_id names the topic they manage rather than where they post.
TOPIC_METHODS = frozenset(
    {"editForumTopic", "closeForumTopic", "reopenForumTopic", "deleteForumTopic",
     "unpinAllForumTopicMessages"}
)  # fmt: skip
TOPIC_ICON_COLOR = 7322096
TRUE_METHODS = frozenset({
    "deleteWebhook", "setWebhook", "close", "logOut", "deleteMyCommands", "deleteMessage",
    "deleteMessages", "answerCallbackQuery", "sendChatAction", "pinChatMessage",
    "unpinChatMessage", "restrictChatMember", "approveChatJoinRequest", "declineChatJoinRequest",
    "leaveChat", "setMyDescription", "setMyShortDescription", "setChatMenuButton",
    "setMessageReaction",
})  # fmt: skip
CONTENT_KEYS = ("text", "entities", "photo", "document", "sticker", "video", "voice", "audio",
                "animation", "video_note", "caption", "caption_entities")  # fmt: skip
MEDIA_KEYS = ("photo", "document", "sticker", "video", "voice", "audio", "animation",
              "video_note")  # fmt: skip
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
_HTML_TAG = re.compile(r"<[^>]+>")


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

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
    """A supergroup registered with ``FakeTelegram.add_group``."""

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


def resolve_attachments(params: JSONDict, files: dict[str, JSONDict]) -> JSONDict:
    """Replace ``attach://name`` references (top level, and in sendMediaGroup's ``media``)
    by the uploaded files they name."""
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = files.get(value.removeprefix("attach://"), value)
    media = params.get("media")
    for item in media if isinstance(media, list) else [media]:
        if isinstance(item, dict):
            ref = item.get("media")
            if isinstance(ref, str) and ref.startswith("attach://"):
                item["media"] = files.get(ref.removeprefix("attach://"), ref)
    return params


class FakeTelegram:
    """The Bot API's state and answers (see the module docstring).

    ``bot_user`` is the bot's User object; getChatMember reports the ids in ``bot_ids`` (its
    id, and any added) as administrators with every right. Unregistered groups are forums
    unless the model is lenient."""

    def __init__(self, bot_user: JSONDict, *, lenient: bool = False) -> None:
        self.bot_user = bot_user
        self.bot_ids: set[int] = {int(bot_user["id"])}
        self.lenient = lenient
        self.messages: dict[tuple[int, int], JSONDict] = {}  # (chat_id, message_id) -> Message
        self.members: dict[tuple[int, int], str] = {}  # (chat_id, user_id) -> status
        self.commands: dict[str, list[JSONDict]] = {}
        self.groups: dict[int, Group] = {}
        self.topics: dict[int, dict[int, Topic]] = {}  # chat_id -> message_thread_id -> Topic
        self._users: dict[int, JSONDict] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._ids = itertools.count(1)  # callback query ids, file ids
        methods: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": self._get_me,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "sendMessage": self._send,
            **dict.fromkeys(SEND_MEDIA, self._send),
            "sendMediaGroup": self._send_media_group,
            "forwardMessage": self._forward,
            "copyMessage": self._copy,
            "copyMessages": self._copy_many,
            **dict.fromkeys(EDIT_METHODS, self._edit),
            "createForumTopic": self._create_topic,
            **dict.fromkeys(TOPIC_METHODS, self._manage_topic),
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "banChatMember": self._ban,
            "unbanChatMember": self._unban,
            "getChatAdministrators": self._get_admins,
            "createChatInviteLink": self._invite_link,
        }
        methods.update({name: self._true for name in TRUE_METHODS if name not in methods})
        self._methods = {name.lower(): handler for name, handler in methods.items()}

    def answers(self, method: str) -> bool:
        return method.lower() in self._methods

    def call(self, method: str, params: JSONDict) -> Any:
        """The ``result`` Telegram answers ``method`` with; ApiError for an error answer."""
        handler = self._methods.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found: method not found")
        if "message_thread_id" in params and method not in TOPIC_METHODS:
            self._check_thread(_chat_id(params), params["message_thread_id"])
        return handler(params | {"_method": method})

    # -- helpers for tests -------------------------------------------------------------------
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
        message = self.new_message(
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
        """An Update editing a message a person sent (``chat_id`` is the user's id for a
        private chat): new ``text`` or ``caption``, and ``edit_date``."""
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

    def new_message(
        self,
        chat_id: int,
        *,
        chat: JSONDict | None = None,
        sender: JSONDict | None = None,
        **content: Any,
    ) -> JSONDict:
        """A message in ``chat_id`` with the chat's next id, stored; from the bot unless
        ``sender`` says who wrote it. None values in ``content`` are left out."""
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

    # -- building objects --------------------------------------------------------------------
    def _refuse(self, code: int, description: str) -> None:
        """Telegram's refusal, unless the model is lenient."""
        if not self.lenient:
            raise ApiError(code, description)

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
        if group is None:  # unregistered groups are forums (not when lenient), for older tests
            chat = {"id": chat_id, "type": "supergroup", "title": "Test group"}
            return chat | ({} if self.lenient else {"is_forum": True})
        chat = {"id": chat_id, "type": "supergroup", "title": group.title}
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
        if target is not None:
            return _as_reply(target)
        if not reply.get("allow_sending_without_reply"):
            self._refuse(400, "Bad Request: message to be replied not found")
        if self.lenient:  # a stand-in for the message it never saw
            return {"message_id": reply["message_id"], "date": int(time.time()),
                    "chat": self._chat(chat_id)}  # fmt: skip
        return None

    def _is_forum(self, chat_id: int) -> bool:
        group = self.groups.get(chat_id)
        return chat_id < 0 and (group.is_forum if group else not self.lenient)

    def _check_thread(self, chat_id: int, thread_id: Any) -> None:
        """Posting into a topic: it must exist (in a registered forum) and be open."""
        topic = self.topics.get(chat_id, {}).get(thread_id) if isinstance(thread_id, int) else None
        group = self.groups.get(chat_id)
        if topic is None or topic.deleted:
            if topic is not None or (group is not None and group.is_forum):
                self._refuse(400, "Bad Request: message thread not found")
        elif topic.closed:
            self._refuse(400, "Bad Request: TOPIC_CLOSED")

    def _delete_topic(self, chat_id: int, thread_id: int) -> None:
        self.topic(chat_id, thread_id).deleted = True
        for key, message in list(self.messages.items()):
            if key[0] == chat_id and thread_id in (key[1], message.get("message_thread_id")):
                del self.messages[key]

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
        return self.new_message(chat_id, **(extra | content))

    # -- method handlers ---------------------------------------------------------------------
    def _true(self, p: JSONDict) -> bool:
        return True

    def _get_me(self, p: JSONDict) -> JSONDict:
        return self.bot_user | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _set_my_commands(self, p: JSONDict) -> bool:
        self.commands[_commands_key(p)] = list(p.get("commands", []))
        return True

    def _get_my_commands(self, p: JSONDict) -> list[JSONDict]:
        return self.commands.get(_commands_key(p), [])

    def _send(self, p: JSONDict) -> JSONDict:
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
        key = (int(p.get("from_chat_id", 0)), int(p.get("message_id", 0)))
        source = self.messages.get(key)
        if source is None:
            self._refuse(400, "Bad Request: message to copy not found")
            return {"text": "…"}  # lenient: a message it never saw
        return source

    def _forward(self, p: JSONDict) -> JSONDict:
        source = self._source(p)
        content = {key: source[key] for key in CONTENT_KEYS if key in source}
        origin = {"type": "user", "date": source.get("date", int(time.time())),
                  "sender_user": source.get("from", self.bot_user)}  # fmt: skip
        return self._message_from_params(p, content | {"forward_origin": origin})

    def _copy(self, p: JSONDict) -> JSONDict:
        content = {key: value for key, value in self._source(p).items() if key in CONTENT_KEYS}
        if "caption" in p:
            content["caption"] = _visible_text(p, p["caption"])
        return {"message_id": self._message_from_params(p, content)["message_id"]}

    def _copy_many(self, p: JSONDict) -> list[JSONDict]:
        """copyMessages: missing source messages are skipped, albums stay albums."""
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        if any(later <= earlier for earlier, later in itertools.pairwise(ids)):
            raise ApiError(
                400, "Bad Request: message identifiers must be in strictly increasing order"
            )
        from_chat = int(p.get("from_chat_id", 0))
        sources = [
            self.messages.get((from_chat, i)) or ({"text": "…"} if self.lenient else None)
            for i in ids
        ]
        found = [source for source in sources if source is not None]
        if not found:
            raise ApiError(400, "Bad Request: message to copy not found")
        albums: dict[str, str] = {}
        copied = []
        for source in found:
            content = {key: value for key, value in source.items() if key in CONTENT_KEYS}
            if p.get("remove_caption"):
                content.pop("caption", None)
                content.pop("caption_entities", None)
            if "media_group_id" in source:
                album = albums.setdefault(source["media_group_id"], f"album-{next(self._ids)}")
                content["media_group_id"] = album
            copied.append({"message_id": self._message_from_params(p, content)["message_id"]})
        return copied

    def _send_media_group(self, p: JSONDict) -> list[JSONDict]:
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

    def _edit(self, p: JSONDict) -> JSONDict | bool:
        if "inline_message_id" in p:
            return True
        key = (_chat_id(p), int(p.get("message_id", 0)))
        old = self.messages.get(key)
        if old is None:
            self._refuse(400, "Bad Request: message to edit not found")
            old = {"message_id": key[1], "date": int(time.time()), "chat": self._chat(key[0]),
                   "from": self.bot_user}  # fmt: skip
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
            self._refuse(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current content "
                "and reply markup of the message",
            )
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        return new

    def _create_topic(self, p: JSONDict) -> JSONDict:
        chat_id = _chat_id(p)
        if not self._is_forum(chat_id):
            self._refuse(400, "Bad Request: the chat is not a forum")
        name = str(p.get("name", ""))
        if not name:
            raise ApiError(400, "Bad Request: TOPIC_TITLE_EMPTY")
        topic = Topic(name, int(p.get("icon_color", TOPIC_ICON_COLOR)))
        topic.icon_custom_emoji_id = p.get("icon_custom_emoji_id")
        created = {"name": topic.name, "icon_color": topic.icon_color}
        if topic.icon_custom_emoji_id:
            created["icon_custom_emoji_id"] = topic.icon_custom_emoji_id
        service = self.new_message(chat_id, forum_topic_created=created)
        thread_id = int(service["message_id"])
        service.update(message_thread_id=thread_id, is_topic_message=True)
        self.topics.setdefault(chat_id, {})[thread_id] = topic
        return {"message_thread_id": thread_id, **created}

    def _manage_topic(self, p: JSONDict) -> bool:
        """edit/close/reopen/delete a topic made by createForumTopic."""
        chat_id, method = _chat_id(p), p["_method"]
        if not self._is_forum(chat_id):
            self._refuse(400, "Bad Request: the chat is not a forum")
        thread_id = p.get("message_thread_id")
        topic = self.topics.get(chat_id, {}).get(thread_id) if isinstance(thread_id, int) else None
        if topic is None or topic.deleted or not isinstance(thread_id, int):
            self._refuse(400, "Bad Request: TOPIC_ID_INVALID")
            return True  # lenient: a topic it never saw
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
            self._refuse(400, "Bad Request: TOPIC_NOT_MODIFIED")
        return True

    def _get_chat(self, p: JSONDict) -> JSONDict:
        gifts = dict.fromkeys(GIFT_TYPES.split(), False)
        return self._chat(_chat_id(p)) | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _member(self, chat_id: int, user_id: int) -> JSONDict:
        if user_id in self.bot_ids:
            status, user = "administrator", self.bot_user | {"id": user_id}
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

    def _get_chat_member(self, p: JSONDict) -> JSONDict:
        return self._member(_chat_id(p), int(p.get("user_id", 0)))

    def _get_admins(self, p: JSONDict) -> list[JSONDict]:
        chat_id = _chat_id(p)
        users = [self.bot_user["id"]] + [
            user_id
            for (chat, user_id), status in self.members.items()
            if chat == chat_id and status in ("creator", "administrator")
        ]
        return [self._member(chat_id, user_id) for user_id in users]

    def _ban(self, p: JSONDict) -> bool:
        self.members[_chat_id(p), int(p.get("user_id", 0))] = "kicked"
        return True

    def _unban(self, p: JSONDict) -> bool:
        self.members[_chat_id(p), int(p.get("user_id", 0))] = "left"
        return True

    def _invite_link(self, p: JSONDict) -> JSONDict:
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
