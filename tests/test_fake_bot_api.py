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
)

from tests.fake_bot_api import FakeBotAPI

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
