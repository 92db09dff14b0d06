"""Tests of the fake Telegram Bot API, driven through a real aiogram Bot."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    ReplyParameters,
)

from tests.fake_bot_api import FakeBotAPI, Topic

TOKEN = "123456:TEST"
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Buy", callback_data="buy:1")]]
)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN) as fake:
        yield fake


def make_bot(api: FakeBotAPI, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = make_bot(api)
    try:
        yield bot
    finally:
        await bot.session.close()


async def test_get_me(api: FakeBotAPI, bot: Bot) -> None:
    assert api.url.startswith("http://127.0.0.1:")
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "test_shop_bot")
    assert [call.method for call in api.calls] == ["getMe"]


async def test_wrong_token_and_unknown_method(api: FakeBotAPI) -> None:
    stranger = make_bot(api, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await stranger.get_me()
    finally:
        await stranger.session.close()
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{api.url}/bot{TOKEN}/sendTelepathy", data={"chat_id": "1"}) as resp,
    ):
        assert resp.status == 404
        body = await resp.json()
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    async with aiohttp.ClientSession() as http, http.get(f"{api.url}/nonsense") as resp:
        assert (resp.status, await resp.json()) == (
            404,
            {"ok": False, "error_code": 404, "description": "Not Found"},
        )


async def test_send_message_records_params_and_returns_message(api: FakeBotAPI, bot: Bot) -> None:
    message = await bot.send_message(42, "Hello <b>Ann</b>", reply_markup=KEYBOARD)
    call = api.calls_of("sendMessage")[0]
    assert call.params["chat_id"] == 42
    assert call.params["text"] == "Hello <b>Ann</b>"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Buy", "callback_data": "buy:1"}]]
    }
    assert message.message_id == 1
    assert message.chat.id == 42
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert message.from_user.username == "test_shop_bot"
    assert message.reply_markup is not None
    assert message.reply_markup.model_dump() == KEYBOARD.model_dump()
    assert message.text == "Hello <b>Ann</b>"  # no parse_mode was given

    second = await bot.send_message(42, "<i>x</i> &amp; y", parse_mode="HTML")
    assert second.message_id == 2
    assert second.text == "x & y"  # Telegram shows the text without markup
    in_topic = await bot.send_message(-100500, "hi", message_thread_id=7)
    assert (in_topic.message_id, in_topic.chat.type, in_topic.message_thread_id) == (
        1,
        "supergroup",
        7,
    )
    assert api.sent_texts(42) == ["Hello <b>Ann</b>", "<i>x</i> &amp; y"]


async def test_get_updates_long_polls_and_confirms_with_offset(api: FakeBotAPI, bot: Bot) -> None:
    api.max_poll_timeout = 5.0
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=0, timeout=30))
    await asyncio.sleep(0.2)
    assert not poll.done()
    first = api.push_update(api.user_message(7, "/start", first_name="Bob"))
    updates = await poll
    assert time.monotonic() - started < 2.5  # woken by the update, not by the 5 s timeout
    assert [u.update_id for u in updates] == [first]
    assert updates[0].message is not None
    assert updates[0].message.text == "/start"
    assert updates[0].message.from_user is not None
    assert updates[0].message.from_user.first_name == "Bob"

    second = api.push_update(api.user_message(7, "hello"))
    assert second == first + 1
    again = await bot.get_updates(offset=first, timeout=0)
    assert [u.update_id for u in again] == [first, second]
    confirmed = await bot.get_updates(offset=second + 1, timeout=0)
    assert confirmed == []
    assert await bot.get_updates(offset=0, timeout=0) == []  # confirmed updates are gone


async def test_long_poll_timeout_is_capped() -> None:
    async with FakeBotAPI(token=TOKEN, max_poll_timeout=0.3) as api:
        bot = make_bot(api)
        try:
            started = time.monotonic()
            assert await bot.get_updates(timeout=30) == []
            assert 0.25 < time.monotonic() - started < 2.0
        finally:
            await bot.session.close()


async def test_callback_query_and_edits(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(42, "Pick one", reply_markup=KEYBOARD)
    call = await api.wait_for("sendMessage")
    api.push_update(api.callback_query(42, "buy:1", call.result))
    (update,) = await bot.get_updates(timeout=1)
    assert update.callback_query is not None
    assert update.callback_query.data == "buy:1"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id

    edited = await bot.edit_message_text("Bought!", chat_id=42, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert (edited.text, edited.reply_markup) == ("Bought!", None)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Bought!", chat_id=42, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    assert await bot.answer_callback_query(update.callback_query.id, text="Done")
    assert await bot.delete_message(42, sent.message_id)


async def test_files_copies_and_forwards(api: FakeBotAPI, bot: Bot) -> None:
    doc = BufferedInputFile(b"order,total\n1,9.99\n", filename="orders.csv")
    message = await bot.send_document(42, doc, caption="Your orders")
    assert message.document is not None
    assert message.document.file_name == "orders.csv"
    assert message.caption == "Your orders"
    params = api.calls_of("sendDocument")[0].params
    assert params["document"]["content"] == b"order,total\n1,9.99\n"
    photo = await bot.send_photo(42, "existing-file-id")
    assert photo.photo is not None
    assert photo.photo[-1].file_id == "existing-file-id"

    question = api.user_message(42, "Where is my order?")
    api.push_update(question)
    copied = await bot.copy_message(-100777, 42, question["message"]["message_id"])
    assert copied.message_id == 1
    assert api.messages[-100777, 1]["text"] == "Where is my order?"
    forwarded = await bot.forward_message(-100777, 42, message.message_id)
    assert forwarded.document is not None
    assert forwarded.forward_origin is not None
    topic = await bot.create_forum_topic(-100777, "Ticket #1")
    assert (topic.name, topic.message_thread_id) == ("Ticket #1", 3)
    assert await bot.close_forum_topic(-100777, topic.message_thread_id)


async def test_commands_chats_and_members(api: FakeBotAPI, bot: Bot) -> None:
    commands = [BotCommand(command="start", description="Start")]
    assert await bot.set_my_commands(commands)
    assert [c.model_dump() for c in await bot.get_my_commands()] == [commands[0].model_dump()]
    assert await bot.get_my_commands(language_code="de") == []
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.send_chat_action(42, "typing")

    chat = await bot.get_chat(-100777)
    assert chat.type == "supergroup"
    assert isinstance(await bot.get_chat_member(-100777, 42), ChatMemberMember)
    assert await bot.ban_chat_member(-100777, 42)
    assert isinstance(await bot.get_chat_member(-100777, 42), ChatMemberBanned)
    admins = await bot.get_chat_administrators(-100777)
    assert [type(admin) for admin in admins] == [ChatMemberAdministrator]


async def test_fail_next_gives_retry_after(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as excinfo:
        await bot.send_message(42, "first")
    assert excinfo.value.retry_after == 3
    assert "Too Many Requests: retry after 3" in str(excinfo.value)
    assert (await bot.send_message(42, "second")).message_id == 1
    assert api.sent_texts(42) == ["second"]

    api.fail_next("sendMessage", error_code=400, description="Bad Request: oops", chat_id=5)
    assert await bot.send_message(6, "other chat is unaffected")
    with pytest.raises(TelegramBadRequest, match="oops"):
        await bot.send_message(5, "x")


async def test_blocked_user_gives_forbidden(api: FakeBotAPI, bot: Bot) -> None:
    api.block_user(13)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(13, "promo")
    assert api.calls_of("sendMessage")[0].status == 403
    assert api.sent_texts(13) == []
    assert await bot.send_message(14, "still works")
    api.unblock_user(13)
    assert await bot.send_message(13, "welcome back")


async def test_wait_for_waits_and_times_out_clearly(api: FakeBotAPI, bot: Bot) -> None:
    waiter = asyncio.create_task(
        api.wait_for("sendMessage", lambda c: c.params["chat_id"] == 2, timeout=5)
    )
    await bot.send_message(1, "not this one")
    await bot.send_message(2, "this one")
    assert (await waiter).params["text"] == "this one"

    with pytest.raises(TimeoutError) as excinfo:
        await api.wait_for("sendPhoto", timeout=0.2)
    text = str(excinfo.value)
    assert "no matching sendPhoto call within 0.2s" in text
    assert "sendMessage 200" in text
    with pytest.raises(TimeoutError, match="sendMessage"):
        await api.wait_for("sendMessage", timeout=0.1, after=len(api.calls))


async def test_global_and_per_chat_rate_limits() -> None:
    async with FakeBotAPI(token=TOKEN, rate_limit_per_s=5, per_chat_per_s=2) as api:
        bot = make_bot(api)
        try:
            results = await asyncio.gather(
                *(bot.send_message(chat_id, "news") for chat_id in range(1, 9)),
                return_exceptions=True,
            )
            rejected = [r for r in results if isinstance(r, TelegramRetryAfter)]
            assert len(rejected) == 3
            assert all(r.retry_after == 1 for r in rejected)
            assert api.rejected_429 == 3
            await asyncio.sleep(1.05)
            await bot.send_message(100, "a")
            await bot.send_message(100, "b")
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(100, "c")  # third in a second for one chat
            assert api.rejected_429 == 4
            assert len(api.sent_texts(100)) == 2
        finally:
            await bot.session.close()


SUPPORT = -1001234


async def test_forum_group_chat_and_bot_rights(api: FakeBotAPI, bot: Bot) -> None:
    api.add_group(SUPPORT, title="Desk")
    api.add_group(-1005, is_forum=False)
    chat = await bot.get_chat(SUPPORT)
    assert (chat.type, chat.title, chat.is_forum) == ("supergroup", "Desk", True)
    assert not (await bot.get_chat(-1005)).is_forum
    me = await bot.get_chat_member(SUPPORT, 123456)
    assert isinstance(me, ChatMemberAdministrator)
    assert me.can_manage_topics
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(-1005, "Ticket")


async def test_topic_lifecycle(api: FakeBotAPI, bot: Bot) -> None:
    api.add_group(SUPPORT)
    first = await bot.create_forum_topic(SUPPORT, "Ann #1")
    second = await bot.create_forum_topic(SUPPORT, "Bob #2")
    assert first.message_thread_id < second.message_thread_id
    assert (first.name, first.icon_color) == ("Ann #1", 7322096)
    thread = first.message_thread_id
    assert api.topic(SUPPORT, thread) == Topic("Ann #1")

    sent = await bot.send_message(SUPPORT, "New ticket", message_thread_id=thread)
    assert (sent.message_thread_id, sent.is_topic_message) == (thread, True)
    assert sent.reply_to_message is not None  # the topic's service message, as in Telegram
    assert sent.reply_to_message.message_id == thread
    assert sent.reply_to_message.forum_topic_created is not None

    assert await bot.edit_forum_topic(SUPPORT, thread, name="Ann #1 (waiting)")
    assert api.topic(SUPPORT, thread).name == "Ann #1 (waiting)"
    assert await bot.close_forum_topic(SUPPORT, thread)
    assert api.topic(SUPPORT, thread).closed
    with pytest.raises(TelegramBadRequest, match="TOPIC_CLOSED"):
        await bot.send_message(SUPPORT, "late", message_thread_id=thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(SUPPORT, thread)
    assert await bot.reopen_forum_topic(SUPPORT, thread)
    assert await bot.send_message(SUPPORT, "back", message_thread_id=thread)

    assert await bot.delete_forum_topic(SUPPORT, thread)
    assert api.topic(SUPPORT, thread).deleted
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(SUPPORT, "gone", message_thread_id=thread)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=SUPPORT, message_id=sent.message_id)
    for action in (bot.reopen_forum_topic, bot.close_forum_topic, bot.delete_forum_topic):
        with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
            await action(SUPPORT, thread)
    with pytest.raises(TelegramBadRequest, match="TOPIC_ID_INVALID"):
        await bot.edit_forum_topic(SUPPORT, thread, name="again")
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(SUPPORT, "never was", message_thread_id=9999)

    # An operator deletes the other topic by hand: no call, same effect.
    calls = len(api.calls)
    api.delete_topic(SUPPORT, second.message_thread_id)
    assert len(api.calls) == calls
    question = api.user_message(42, "Where is my order?")
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.copy_message(
            SUPPORT,
            42,
            question["message"]["message_id"],
            message_thread_id=second.message_thread_id,
        )
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.copy_messages(
            SUPPORT, 42, [question["message"]["message_id"]], message_thread_id=thread
        )
    assert [c.status for c in api.calls_of("copyMessage")] == [400]


async def test_copy_messages_keeps_order_albums_and_skips_missing(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.add_group(SUPPORT)
    thread = (await bot.create_forum_topic(SUPPORT, "Ann")).message_thread_id
    text = api.user_message(42, "Two photos:")["message"]["message_id"]
    photos = [
        api.user_message(42, photo=True, caption=f"p{i}", media_group_id="alb")["message"]
        for i in (1, 2)
    ]
    ids = [text, *(m["message_id"] for m in photos)]
    with pytest.raises(TelegramBadRequest, match="strictly increasing order"):
        await bot.copy_messages(SUPPORT, 42, list(reversed(ids)), message_thread_id=thread)
    with pytest.raises(TelegramBadRequest, match="strictly increasing order"):
        await bot.copy_messages(SUPPORT, 42, [ids[0], ids[0]], message_thread_id=thread)

    copied = await bot.copy_messages(SUPPORT, 42, [*ids, 999], message_thread_id=thread)
    assert len(copied) == 3  # the missing 999 is skipped
    copies = [api.messages[SUPPORT, c.message_id] for c in copied]
    assert copies[0]["text"] == "Two photos:"
    assert [c["caption"] for c in copies[1:]] == ["p1", "p2"]
    assert copies[1]["media_group_id"] == copies[2]["media_group_id"] != "alb"
    assert all(c["message_thread_id"] == thread and c["is_topic_message"] for c in copies)
    assert api.calls_of("copyMessages")[-1].params["message_ids"] == [*ids, 999]
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_messages(SUPPORT, 42, [998, 999])

    api.fail_next("copyMessages", error_code=400, description="Bad Request: oops")
    with pytest.raises(TelegramBadRequest, match="oops"):
        await bot.copy_messages(SUPPORT, 42, ids)


async def test_copy_message_with_reply_parameters(api: FakeBotAPI, bot: Bot) -> None:
    question = api.user_message(42, "Is it in stock?")["message"]
    relayed = await bot.copy_message(SUPPORT, 42, question["message_id"])
    answer = api.user_message(7, "Yes!", chat_id=SUPPORT, reply_to_message_id=relayed.message_id)
    reply_to = answer["message"]["reply_to_message"]
    assert (reply_to["message_id"], reply_to["from"]["id"]) == (relayed.message_id, 123456)

    back = await bot.copy_message(
        42,
        SUPPORT,
        answer["message"]["message_id"],
        reply_parameters=ReplyParameters(message_id=question["message_id"]),
    )
    params = api.calls_of("copyMessage")[-1].params
    assert params["reply_parameters"] == {"message_id": question["message_id"]}
    assert api.messages[42, back.message_id]["reply_to_message"]["text"] == "Is it in stock?"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.copy_message(
            42,
            SUPPORT,
            answer["message"]["message_id"],
            reply_parameters=ReplyParameters(message_id=777),
        )
    lenient = ReplyParameters(message_id=777, allow_sending_without_reply=True)
    assert await bot.send_message(42, "ok", reply_parameters=lenient)


async def test_send_media_group(api: FakeBotAPI, bot: Bot) -> None:
    api.add_group(SUPPORT)
    thread = (await bot.create_forum_topic(SUPPORT, "Ann")).message_thread_id
    upload = BufferedInputFile(b"%PDF", filename="invoice.pdf")
    album = await bot.send_media_group(
        SUPPORT,
        [InputMediaPhoto(media="photo-id", caption="front"), InputMediaDocument(media=upload)],
        message_thread_id=thread,
    )
    assert [m.message_thread_id for m in album] == [thread, thread]
    assert album[0].media_group_id is not None
    assert album[0].media_group_id == album[1].media_group_id
    assert album[0].photo is not None and album[0].photo[-1].file_id == "photo-id"
    assert album[0].caption == "front"
    assert album[1].document is not None and album[1].document.file_name == "invoice.pdf"
    with pytest.raises(TelegramBadRequest):
        await bot.send_media_group(SUPPORT, [InputMediaPhoto(media="only-one")])


async def test_user_media_group_messages_and_edits(api: FakeBotAPI, bot: Bot) -> None:
    api.add_group(SUPPORT)
    thread = (await bot.create_forum_topic(SUPPORT, "Ann")).message_thread_id
    api.push_update(api.user_message(42, photo=True, caption="broken zip", media_group_id="g1"))
    api.push_update(api.user_message(42, document={"file_name": "receipt.pdf"}))
    api.push_update(api.user_message(42, voice=True))
    api.push_update(api.user_message(42, video=True, sticker=False))
    api.push_update(api.user_message(42, sticker={"emoji": "🙂"}))
    api.push_update(api.user_message(7, "On it", chat_id=SUPPORT, message_thread_id=thread))
    question = api.user_message(42, "typo")
    api.push_update(question)
    api.push_update(api.edited_message(42, question["message"]["message_id"], "fixed"))
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates[:-1]]
    assert all(m is not None for m in messages)
    photo, doc, voice, video, sticker, agent, _ = (m for m in messages if m is not None)
    assert photo.photo is not None and len(photo.photo) == 2
    assert (photo.caption, photo.media_group_id, photo.text) == ("broken zip", "g1", None)
    assert doc.document is not None and doc.document.file_name == "receipt.pdf"
    assert voice.voice is not None and video.video is not None
    assert sticker.sticker is not None and sticker.sticker.emoji == "🙂"
    assert (agent.chat.id, agent.chat.type, agent.chat.title) == (SUPPORT, "supergroup", "Support")
    assert (agent.message_thread_id, agent.is_topic_message) == (thread, True)
    assert agent.reply_to_message is not None
    assert agent.reply_to_message.forum_topic_created is not None
    edited = updates[-1].edited_message
    assert edited is not None
    assert (edited.message_id, edited.text) == (question["message"]["message_id"], "fixed")
    assert edited.edit_date is not None
    assert api.messages[42, edited.message_id]["text"] == "fixed"
    with pytest.raises(KeyError):
        api.edited_message(42, 999, "nothing to edit")
    with pytest.raises(ValueError, match="caption"):
        api.user_message(42, "text and", photo=True)


async def test_group_per_minute_limit(api: FakeBotAPI, bot: Bot) -> None:
    now = [1000.0]
    api.clock = lambda: now[0]
    api.group_per_minute = 3
    api.add_group(SUPPORT)
    topic = await bot.create_forum_topic(SUPPORT, "Ann")  # 1
    now[0] += 10
    sent = await bot.send_message(SUPPORT, "a", message_thread_id=topic.message_thread_id)  # 2
    now[0] += 10
    assert await bot.edit_message_text("b", chat_id=SUPPORT, message_id=sent.message_id)  # 3
    assert await bot.send_chat_action(SUPPORT, "typing")  # not a post: not counted
    assert await bot.send_message(42, "private chats are not limited")
    with pytest.raises(TelegramRetryAfter) as excinfo:
        await bot.copy_message(SUPPORT, 42, 1)
    assert excinfo.value.retry_after == 40  # the first call leaves the window at 1060
    assert api.rejected_429 == 1
    assert await bot.send_message(-1009, "another group has its own window")
    now[0] += 40
    assert await bot.send_message(SUPPORT, "c")  # at 1060 the window holds 1010, 1020, 1060
    with pytest.raises(TelegramRetryAfter) as excinfo:
        await bot.send_message(SUPPORT, "d")
    assert excinfo.value.retry_after == 10
    now[0] += 9.7
    with pytest.raises(TelegramRetryAfter) as excinfo:
        await bot.edit_forum_topic(SUPPORT, topic.message_thread_id, name="Ann (open)")
    assert excinfo.value.retry_after == 1  # 0.3 s, rounded up
    assert api.rejected_429 == 3
    now[0] += 0.3
    assert await bot.edit_forum_topic(SUPPORT, topic.message_thread_id, name="Ann (open)")
    assert [c.status for c in api.calls if c.params.get("chat_id") == SUPPORT][-3:] == [
        429,
        429,
        200,
    ]


async def test_standalone_server_prints_url_and_takes_messages() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fake_bot_api",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        url = line.split(" on ")[1].split()[0]
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/_fake/message", data={"user_id": 5, "text": "hi"}) as r:
                assert (await r.json()) == {"update_id": 1}
            async with http.post(f"{url}/bot{TOKEN}/getUpdates") as r:
                body = await r.json()
        assert body["result"][0]["message"]["text"] == "hi"
    finally:
        proc.terminate()
        await proc.wait()
