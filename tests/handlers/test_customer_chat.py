"""The customer's private chat, fed through the production Dispatcher like real updates."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import SendMessage
from sqlalchemy import func, select

from bot.app import App
from bot.local import ChatClient
from storage.models import FaqInteraction, Ticket, UnansweredQuestion, User
from tests.conftest import MakeClient


async def _count(app: App, model: type) -> int:
    async with app.session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_start_greets_by_name_with_the_menu(client: ChatClient) -> None:
    [out] = await client.send("/start")
    assert out.method == "sendMessage" and out.chat_id == client.user.id
    assert "Ann" in (out.text or "")
    assert "📏 Size" in out.menu and "🙋 Talk to a human" in out.menu and len(out.menu) == 6


async def test_chinese_telegram_user_gets_chinese_texts(make_client: MakeClient) -> None:
    client = make_client(user_id=2002, first_name="小明", language_code="zh-hans")
    [out] = await client.send("/start")
    assert "您好" in (out.text or "") and "🙋 转人工" in out.menu


async def test_question_is_answered_with_feedback_buttons_and_recorded(
    client: ChatClient, app: App
) -> None:
    [out] = await client.send("how do I return this")
    entry = app.kb.get("how_to_return")
    assert entry is not None
    assert out.text == entry.answer_for("en")
    assert [b.text for b in out.buttons] == ["👍 Helpful", "👎 Not helpful"]
    assert await _count(app, FaqInteraction) == 1


async def test_size_with_numbers_gets_a_concrete_size(client: ChatClient) -> None:
    [out] = await client.send("170cm 65kg what size?")
    assert "we suggest size" in (out.text or "")
    [zh] = await client.send("身高165 体重50公斤穿什么码")
    assert "建议选" in (zh.text or "") and "码" in (zh.text or "")


async def test_answer_language_follows_the_question(client: ChatClient, app: App) -> None:
    [out] = await client.send("多久发货")  # an English Telegram user writing Chinese
    assert any("\u4e00" <= ch <= "\u9fff" for ch in out.text or "")


async def test_thumbs_up_thanks_and_removes_buttons(client: ChatClient, app: App) -> None:
    await client.send("how do I return this")
    outs = await client.click("👍")
    assert [o.method for o in outs] == ["answerCallbackQuery", "editMessageReplyMarkup"]
    assert outs[0].text == "Thanks for the feedback! 🙏"
    async with app.session_factory() as s:
        assert await s.scalar(select(FaqInteraction.feedback)) == "up"


async def test_thumbs_down_offers_other_questions_or_a_human(client: ChatClient, app: App) -> None:
    entry = app.kb.get("refund_timing")
    assert entry is not None
    await client.send(entry.questions["en"][0])
    outs = await client.click("👎")
    follow_up = [o for o in outs if o.method == "sendMessage"]
    assert len(follow_up) == 1
    assert follow_up[0].buttons[-1].text == "🙋 Talk to a human"
    # Choosing the human records a request.
    outs = await client.click("Talk to a human")
    assert "request #" in (outs[-1].text or "")


async def test_two_misses_in_a_row_hand_off(client: ChatClient, app: App) -> None:
    [first] = await client.send("zzqx blorf wibble")
    assert first.buttons and first.buttons[-1].text == "🙋 Talk to a human"
    [second] = await client.send("qwpoeiru mnbvcx")
    assert "twice in a row" in (second.text or "")
    assert await _count(app, Ticket) == 1
    assert await _count(app, UnansweredQuestion) == 2


async def test_talk_to_a_human_by_button_command_and_words(client: ChatClient, app: App) -> None:
    [a] = await client.send("🙋 Talk to a human")
    assert "request #1" in (a.text or "")
    [b] = await client.send("/human")
    assert "already with our team" in (b.text or "")
    [c] = await client.send("转人工")
    assert "#1" in (c.text or "")
    assert await _count(app, Ticket) == 1


async def test_menu_buttons_open_topics(client: ChatClient, app: App) -> None:
    [out] = await client.send("🚚 Shipping")
    entry = app.kb.get("shipping_time")
    assert entry is not None and out.text == entry.answer_for("en")
    assert out.buttons[0].text == "👍 Helpful"


async def test_language_switch_sticks(client: ChatClient, app: App) -> None:
    [picker] = await client.send("/language")
    assert [b.text for b in picker.buttons] == ["中文", "English"]
    outs = await client.click("中文")
    assert outs[-1].text == "好的，之后我会用中文和您交流。"
    [out] = await client.send("/help")
    assert "我可以这样帮您" in (out.text or "")
    async with app.session_factory() as s:
        user = await s.get(User, client.user.id)
        assert user is not None and user.language == "zh"


async def test_non_text_messages_get_a_useful_reply(client: ChatClient) -> None:
    sticker = {
        "file_id": "CAAC",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    photo = [{"file_id": "AgAC", "file_unique_id": "p1", "width": 90, "height": 90}]
    voice = {"file_id": "AwAC", "file_unique_id": "v1", "duration": 3}
    for content in ({"sticker": sticker}, {"photo": photo}, {"voice": voice}):
        [out] = await client.send_content(**content)
        assert out.text and "only read text" in out.text
        assert out.buttons[0].text == "🙋 Talk to a human"


async def test_emoji_only_empty_and_huge_texts(client: ChatClient, app: App) -> None:
    [emoji] = await client.send("😀😀🙏")
    assert emoji.text and "only read words" in emoji.text  # in the user's language (en)
    [huge] = await client.send("where is my order " * 300)
    assert huge.text and "very long" in huge.text
    assert await _count(app, FaqInteraction) == 0


async def test_unknown_command(client: ChatClient) -> None:
    [out] = await client.send("/frobnicate")
    assert out.text == "I don't know that command. Send /help to see what I can do."


async def test_forged_and_stale_callback_data_get_a_polite_alert(client: ChatClient) -> None:
    for data in ("fb:999999:1", "fb:abc:1", "pick:1:../../etc", "lang:fr", "garbage", "x" * 64):
        [out] = await client.press(data)
        assert out.method == "answerCallbackQuery", data
        assert out.show_alert and "no longer valid" in (out.text or ""), data


async def test_someone_elses_feedback_button_is_refused(make_client: MakeClient, app: App) -> None:
    ann = make_client(user_id=3001)
    bob = make_client(user_id=3002)
    await ann.send("how do I return this")
    outs = await bob.press(ann.find_button("👍").callback_data or "")
    assert outs[0].show_alert and "no longer valid" in (outs[0].text or "")
    async with app.session_factory() as s:
        assert await s.scalar(select(FaqInteraction.feedback)) is None


async def test_a_repeated_update_is_handled_once(client: ChatClient, app: App) -> None:
    update = client.message_update(text="how do I return this")
    first = await client.feed(update)
    again = await client.feed(update)
    assert len(first) == 1 and again == []
    assert await _count(app, FaqInteraction) == 1


async def test_flooding_gets_one_notice_then_silence(make_client: MakeClient, app: App) -> None:
    app.settings.flood_max_messages = 3
    # A new Dispatcher picks the setting up; build a client on it.
    from bot.app import create_bot, create_dispatcher
    from bot.local import LocalSession

    local = LocalSession()
    bot = create_bot(app.settings, session=local)
    client = ChatClient(create_dispatcher(app), bot, local, user_id=4004)
    replies = [await client.send(f"hello {i}") for i in range(6)]
    notices = [r for r in replies if r and "very quickly" in (r[0].text or "")]
    assert len(notices) == 1
    assert replies[4] == [] and replies[5] == []
    await bot.session.close()


async def test_blocking_the_bot_is_recorded(client: ChatClient, app: App) -> None:
    await client.send("/start")

    def member_update(status: str) -> dict[str, object]:
        return {
            "update_id": client.next_update_id(),
            "my_chat_member": {
                "chat": client.chat.model_dump(exclude_none=True),
                "from": client.user.model_dump(exclude_none=True),
                "date": 1_700_000_000,
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": 42, "is_bot": True, "first_name": "b"},
                },
                "new_chat_member": (
                    {
                        "status": status,
                        "user": {"id": 42, "is_bot": True, "first_name": "b"},
                        "until_date": 0,
                    }
                    if status == "kicked"
                    else {"status": status, "user": {"id": 42, "is_bot": True, "first_name": "b"}}
                ),
            },
        }

    await client.feed(member_update("kicked"))
    async with app.session_factory() as s:
        user = await s.get(User, client.user.id)
        assert user is not None and user.blocked is True and user.blocked_at is not None
    await client.send("/start")  # writing again means they unblocked
    async with app.session_factory() as s:
        user = await s.get(User, client.user.id)
        assert user is not None and user.blocked is False


async def test_a_failure_while_replying_becomes_an_apology(client: ChatClient) -> None:
    client.session.fail_next(
        "sendMessage", TelegramBadRequest(method=SendMessage(chat_id=1, text="x"), message="boom")
    )
    outs = await client.send("how do I return this")
    assert [o.method for o in outs] == ["sendMessage", "sendMessage"]
    assert outs[1].text == "Sorry, something went wrong on our side. Please try again in a moment."


def test_the_longest_faq_id_fits_in_button_data() -> None:
    from faq.kb import MAX_ID_CHARS
    from views.callbacks import PickAnswer

    packed = PickAnswer(interaction=2**63 - 1, entry="x" * MAX_ID_CHARS).pack()
    assert len(packed.encode()) <= 64  # Telegram's limit for callback data


SUPPORT_GROUP = -1002000000001


def _desk_chat(app: App, *, user_id: int) -> ChatClient:
    """A member of the support group, on a Dispatcher whose desk points at that group."""
    from dataclasses import replace

    from bot.app import create_bot, create_dispatcher
    from bot.local import LocalSession

    app.desk = replace(app.desk, chat_id=SUPPORT_GROUP)
    local = LocalSession()
    bot = create_bot(app.settings, session=local)
    return ChatClient(
        create_dispatcher(app, topics=False), bot, local, user_id=user_id, first_name="Amy",
        chat_type="supergroup", chat_id=SUPPORT_GROUP, is_forum=False,
    )  # fmt: skip


def _boom() -> TelegramBadRequest:
    return TelegramBadRequest(method=SendMessage(chat_id=1, text="x"), message="boom")


async def test_a_command_failing_in_the_support_group_gets_a_short_reply(app: App) -> None:
    agent = _desk_chat(app, user_id=7001)
    agent.session.fail_next("sendMessage", _boom())
    outs = await agent.send("/canned")
    assert [o.method for o in outs] == ["sendMessage", "sendMessage"]
    apology = outs[1]
    assert apology.chat_id == SUPPORT_GROUP
    assert apology.request.reply_parameters.message_id == agent.last_message_id
    # In the agents' language (AGENTS_LANGUAGE defaults to the shop's: zh), no traceback.
    assert apology.text == app.catalogue.get("zh", "error-generic")
    await agent.bot.session.close()


async def test_a_command_failing_in_another_group_is_answered_in_the_group_language(
    make_client: MakeClient, app: App
) -> None:
    admin = make_client(user_id=900, chat_type="supergroup", chat_id=-1003000000003)
    admin.session.fail_next("sendMessage", _boom())
    outs = await admin.send("/unanswered")
    assert [o.method for o in outs] == ["sendMessage", "sendMessage"]
    assert outs[1].request.reply_parameters.message_id == admin.last_message_id
    assert outs[1].text == app.catalogue.get(app.campaigns.group_language, "error-generic")
    assert "Traceback" not in (outs[1].text or "")


async def test_a_failing_button_is_answered_with_a_short_alert(client: ChatClient) -> None:
    await client.send("how do I return this")
    client.session.fail_next(
        "editMessageReplyMarkup",
        TelegramBadRequest(method=SendMessage(chat_id=1, text="x"), message="boom"),
    )
    outs = await client.click("👍")
    answers = [o for o in outs if o.method == "answerCallbackQuery"]
    assert answers[-1].show_alert and answers[-1].text == (
        "Sorry, something went wrong on our side. Please try again in a moment."
    )


async def test_questions_in_any_script_reach_the_faq(make_client: MakeClient, app: App) -> None:
    """Arabic and Russian are words too: the FAQ gets them (and honestly misses), where the
    customer was told "I can only read words"."""
    no_match = app.catalogue.get("en", "no-match")
    for user_id, question in ((6001, "متى يصل طلبي؟"), (6002, "Где мой заказ?")):
        [out] = await make_client(user_id=user_id).send(question)
        assert "only read words" not in (out.text or ""), question
        assert out.text == no_match, question
        assert out.buttons[-1].text == "🙋 Talk to a human"
    async with app.session_factory() as s:
        asked = set(await s.scalars(select(UnansweredQuestion.question)))
        assert asked == {"متى يصل طلبي؟", "Где мой заказ?"}
    # Emoji alone still has nothing to read.
    [emoji] = await make_client(user_id=6003).send("🙏🙏")
    assert "only read words" in (emoji.text or "")
