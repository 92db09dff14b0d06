"""Tests of the in-process LocalSession and of ChatClient as a member of a support forum."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import CreateForumTopic, SendMessage
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberMember,
    InputMediaPhoto,
    InputMediaVideo,
    Message,
    MessageId,
)

from bot.local import BOT_USER, ChatClient, LocalSession

SUPPORT = -1001234
AGENT = 7001


@pytest.fixture
def local() -> LocalSession:
    return LocalSession(forum_chats={SUPPORT})


@pytest.fixture
async def bot(local: LocalSession) -> AsyncIterator[Bot]:
    bot = Bot("42:LOCAL", session=local)
    yield bot
    await bot.session.close()


async def test_copy_messages_and_media_groups(local: LocalSession, bot: Bot) -> None:
    copied = await bot.copy_messages(SUPPORT, 1001, [3, 4, 5], message_thread_id=100)
    assert all(isinstance(c, MessageId) for c in copied)
    assert len({c.message_id for c in copied}) == 3
    single = await bot.copy_message(SUPPORT, 1001, 6, message_thread_id=100)
    assert single.message_id not in {c.message_id for c in copied}

    album = await bot.send_media_group(
        SUPPORT,
        [InputMediaPhoto(media="p1", caption="front"), InputMediaVideo(media="v1")],
        message_thread_id=100,
    )
    assert [type(m) for m in album] == [Message, Message]
    assert album[0].media_group_id is not None
    assert album[0].media_group_id == album[1].media_group_id
    assert album[0].photo is not None and album[0].photo[-1].file_id == "p1"
    assert album[0].caption == "front"
    assert album[1].video is not None and album[1].video.file_id == "v1"
    assert all((m.message_thread_id, m.is_topic_message) == (100, True) for m in album)


async def test_forum_topics_and_messages_in_them(local: LocalSession, bot: Bot) -> None:
    first = await bot.create_forum_topic(SUPPORT, "Ann #1")
    second = await bot.create_forum_topic(SUPPORT, "Bob #2")
    # As in Telegram, a topic's id is that of its service message, numbered with the chat's.
    assert (first.message_thread_id, second.message_thread_id) == (1, 2)
    service = local.telegram.messages[SUPPORT, 2]
    assert service["forum_topic_created"]["name"] == "Bob #2"
    assert (first.name, first.icon_color) == ("Ann #1", 7322096)
    assert [m.name for m in local.sent(CreateForumTopic)] == ["Ann #1", "Bob #2"]

    sent = await bot.send_message(SUPPORT, "New ticket", message_thread_id=2)
    assert (sent.chat.type, sent.message_thread_id, sent.is_topic_message) == (
        "supergroup",
        2,
        True,
    )
    assert sent.message_id == 3
    assert sent.reply_to_message is not None  # the topic's service message, as in Telegram
    assert sent.reply_to_message.forum_topic_created is not None
    private = await bot.send_message(1001, "Hi", reply_to_message_id=5)
    assert (private.chat.type, private.message_thread_id) == ("private", None)
    assert private.reply_to_message is not None
    assert private.reply_to_message.message_id == 5


async def test_get_chat_and_members(local: LocalSession, bot: Bot) -> None:
    forum = await bot.get_chat(SUPPORT)
    assert (forum.type, forum.is_forum) == ("supergroup", True)
    assert not (await bot.get_chat(-1009)).is_forum  # Telegram leaves it out when false
    assert (await bot.get_chat(1001)).type == "private"

    me = await bot.get_chat_member(SUPPORT, bot.id)
    assert isinstance(me, ChatMemberAdministrator)
    assert me.can_manage_topics and me.can_delete_messages and not me.can_be_edited
    assert isinstance(await bot.get_chat_member(SUPPORT, BOT_USER.id), ChatMemberAdministrator)
    other = await bot.get_chat_member(SUPPORT, AGENT)
    assert isinstance(other, ChatMemberMember)
    assert other.user.id == AGENT


async def test_fail_next_covers_the_new_methods(local: LocalSession, bot: Bot) -> None:
    local.fail_next(
        "createForumTopic", TelegramBadRequest(CreateForumTopic(chat_id=SUPPORT, name="x"), "no")
    )
    local.fail_next("copyMessages", OSError("network down"))
    with pytest.raises(TelegramBadRequest):
        await bot.create_forum_topic(SUPPORT, "x")
    with pytest.raises(OSError, match="network down"):
        await bot.copy_messages(SUPPORT, 1001, [1])
    assert (await bot.create_forum_topic(SUPPORT, "y")).message_thread_id == 1  # the first
    assert len(await bot.copy_messages(SUPPORT, 1001, [1, 2])) == 2


class Recorder:
    """A tiny Dispatcher that answers every message and edit in place, recording them."""

    def __init__(self) -> None:
        self.dp = Dispatcher()
        self.messages: list[Message] = []
        self.edits: list[Message] = []
        self.dp.message.register(self.on_message)
        self.dp.edited_message.register(self.on_edit)

    async def on_message(self, message: Message) -> None:
        self.messages.append(message)
        await message.answer("noted")  # aiogram keeps the topic's message_thread_id

    async def on_edit(self, message: Message) -> None:
        self.edits.append(message)


def agent_client(recorder: Recorder, bot: Bot, local: LocalSession, **kwargs: Any) -> ChatClient:
    return ChatClient(
        recorder.dp,
        bot,
        local,
        user_id=AGENT,
        first_name="Agent",
        chat_type="supergroup",
        chat_id=SUPPORT,
        **kwargs,
    )


async def test_chat_client_writes_in_a_topic_and_edits(local: LocalSession, bot: Bot) -> None:
    recorder = Recorder()
    agent = agent_client(recorder, bot, local)
    out = await agent.send_content(message_thread_id=100, is_topic_message=True, text="Hello")
    message = recorder.messages[-1]
    assert (message.chat.id, message.chat.type, message.chat.is_forum) == (
        SUPPORT,
        "supergroup",
        True,
    )
    assert message.from_user is not None and message.from_user.id == AGENT
    assert (message.message_thread_id, message.is_topic_message, message.text) == (
        100,
        True,
        "Hello",
    )
    assert [(o.method, o.chat_id, o.text) for o in out] == [("sendMessage", SUPPORT, "noted")]
    assert isinstance(out[0].request, SendMessage)
    assert out[0].request.message_thread_id == 100

    await agent.send_content(reply_to_message={"message_id": 55}, text="Answer")
    reply = recorder.messages[-1].reply_to_message
    assert reply is not None
    assert (reply.message_id, reply.chat.id) == (55, SUPPORT)
    await agent.send_content(reply_to_message=56, message_thread_id=100, text="Again")
    assert recorder.messages[-1].reply_to_message is not None

    first_id = message.message_id
    assert await agent.edit(first_id, "Hello, Ann") == []
    edited = recorder.edits[-1]
    assert (edited.message_id, edited.text, edited.message_thread_id) == (
        first_id,
        "Hello, Ann",
        100,
    )
    assert edited.edit_date is not None
    with pytest.raises(LookupError):
        await agent.edit(999, "never sent")

    # Two members of one group, and the bot, share its message ids, as in Telegram.
    other = ChatClient(
        recorder.dp, bot, local, user_id=AGENT + 1, chat_type="supergroup", chat_id=SUPPORT
    )
    out = await other.send("me too")
    assert recorder.messages[-1].message_id == agent.last_message_id + 2  # after "noted"
    assert out[0].message_id == agent.last_message_id + 3


async def test_chat_client_sends_media_and_albums(local: LocalSession, bot: Bot) -> None:
    recorder = Recorder()
    customer = ChatClient(recorder.dp, bot, local, user_id=1001)
    photo = [{"file_id": "p1", "file_unique_id": "u1", "width": 1, "height": 1}]
    out = await customer.send_album(
        [
            {"photo": photo, "caption": "front"},
            {"video": {"file_id": "v1", "file_unique_id": "u2", "width": 1, "height": 1,
                       "duration": 1}},
            {"document": {"file_id": "d1", "file_unique_id": "u3", "file_name": "a.pdf"}},
        ],
        media_group_id="alb-1",
    )  # fmt: skip
    assert len(out) == 3
    album = recorder.messages[-3:]
    assert {m.media_group_id for m in album} == {"alb-1"}
    assert album[0].photo is not None and album[0].photo[0].file_id == "p1"
    assert album[1].video is not None and album[2].document is not None
    await customer.send_content(voice={"file_id": "vo", "file_unique_id": "u4", "duration": 2})
    await customer.send_content(
        sticker={
            "file_id": "s1",
            "file_unique_id": "u5",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    )
    assert recorder.messages[-2].voice is not None
    assert recorder.messages[-1].sticker is not None

    await customer.edit(album[0].message_id, "front, scratched")  # a media edit: the caption
    edited = recorder.edits[-1]
    assert (edited.caption, edited.text) == ("front, scratched", None)


async def test_answers_come_from_the_shared_model(local: LocalSession, bot: Bot) -> None:
    """Per-chat ids, edits and copies as the HTTP fake answers them (bot.fake_api)."""
    recorder = Recorder()
    customer = ChatClient(recorder.dp, bot, local, user_id=1001)
    out = await customer.send("Where is my parcel?")
    assert (customer.last_message_id, out[0].message_id) == (1, 2)  # then the bot's "noted"
    edited = await bot.edit_message_text("noted, thanks", chat_id=1001, message_id=2)
    assert not isinstance(edited, bool)
    assert (edited.message_id, edited.text, edited.edit_date is not None) == (
        2,
        "noted, thanks",
        True,
    )
    copy = await bot.copy_message(SUPPORT, 1001, customer.last_message_id)
    assert local.telegram.messages[SUPPORT, copy.message_id]["text"] == "Where is my parcel?"
    with pytest.raises(TelegramBadRequest, match="text is empty"):
        await bot.send_message(1001, "")
