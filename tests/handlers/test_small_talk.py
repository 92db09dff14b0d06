"""Small talk, complaints, the language of wordless messages and the card's two FAQ
sections, through the production Dispatcher (and the desk's sender where a card is sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.local import ChatClient
from faq import KnowledgeBase, Matcher
from storage.models import FaqInteraction, Ticket, UnansweredQuestion, User
from tests.conftest import Clock, MakeClient
from tests.handlers.test_support_desk import SUPPORT, Desk, build_desk
from views.texts import Catalogue


async def _count(app: App, model: type, *where: object) -> int:
    async with app.session_factory() as s:
        stmt = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
        return int(await s.scalar(stmt) or 0)


async def _outcomes(app: App) -> list[str]:
    async with app.session_factory() as s:
        return list(await s.scalars(select(FaqInteraction.outcome).order_by(FaqInteraction.id)))


async def _misses(app: App, user_id: int) -> int:
    async with app.session_factory() as s:
        user = await s.get(User, user_id)
        assert user is not None
        return user.consecutive_misses


def _han(text: str | None) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text or "")


# --- greetings, thanks, goodbyes ----------------------------------------------------------


async def test_a_greeting_gets_a_greeting_and_the_menu(
    client: ChatClient, app: App, catalogue: Catalogue
) -> None:
    [out] = await client.send("Hello!")
    assert out.text == catalogue.get("en", "smalltalk-greeting")
    assert "📏 Size" in out.menu and "🙋 Talk to a human" in out.menu and len(out.menu) == 6
    assert await _outcomes(app) == ["greeting"]
    assert await _count(app, UnansweredQuestion) == 0


async def test_a_chinese_greeting_is_answered_in_chinese_with_the_menu(
    make_client: MakeClient, catalogue: Catalogue
) -> None:
    client = make_client(user_id=3003, first_name="Wei", language_code="en")
    for text in ("你好", "您好，在吗？", "你們好"):
        [out] = await client.send(text)
        assert out.text == catalogue.get("zh", "smalltalk-greeting")
        assert "🙋 转人工" in out.menu


async def test_thanks_and_goodbyes_get_a_short_reply(
    client: ChatClient, app: App, catalogue: Catalogue
) -> None:
    [thanks] = await client.send("thx!")
    assert thanks.text == catalogue.get("en", "smalltalk-thanks") and not thanks.buttons
    [zh] = await client.send("好的，谢谢")
    assert zh.text == catalogue.get("zh", "smalltalk-thanks")
    [bye] = await client.send("ok bye 👋")
    assert bye.text == catalogue.get("en", "smalltalk-goodbye")
    assert await _outcomes(app) == ["thanks", "thanks", "goodbye"]
    assert await _count(app, UnansweredQuestion) == 0


async def test_small_talk_is_not_a_miss(client: ChatClient, app: App) -> None:
    await client.send("zzqx blorf wibble")  # one miss
    assert await _misses(app, client.user.id) == 1
    await client.send("hi")
    await client.send("谢谢")
    assert await _misses(app, client.user.id) == 1  # neither counted nor forgiven
    assert await _count(app, Ticket) == 0
    assert await _count(app, UnansweredQuestion) == 1


async def test_a_greeting_with_a_question_gets_the_answer(client: ChatClient, app: App) -> None:
    # (Not "where is my order": the customer's own orders answer that, tests/handlers/
    # test_orders.py.)
    entry = app.kb.get("how_to_return")
    assert entry is not None
    [out] = await client.send("hi, how do I return this")
    assert out.text == entry.answer_for("en")
    assert [b.text for b in out.buttons] == ["👍 Helpful", "👎 Not helpful"]
    assert await _outcomes(app) == ["answer"]


# --- complaints ---------------------------------------------------------------------------


async def test_a_complaint_without_a_desk_is_recorded_for_the_team(
    client: ChatClient, app: App
) -> None:
    [out] = await client.send("This is unacceptable, I want to file a complaint")
    assert out.text is not None
    assert out.text.startswith("I'm sorry about this. I've passed it to our team as a complaint.")
    assert "request #1" in out.text
    async with app.session_factory() as s:
        ticket = await s.scalar(select(Ticket))
        assert ticket is not None
        assert (ticket.reason, ticket.complaint, ticket.lang) == ("complaint", True, "en")
    assert await _outcomes(app) == ["complaint"]


@pytest.fixture
async def desk(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> AsyncIterator[Desk]:
    async for d in build_desk(tmp_path, kb, matcher, catalogue, clock):
        yield d


@pytest.fixture
async def en_desk(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> AsyncIterator[Desk]:
    async for d in build_desk(tmp_path, kb, matcher, catalogue, clock, support_language="en"):
        yield d


async def test_a_complaint_goes_to_the_agents_at_once_marked_as_one(desk: Desk) -> None:
    [reply] = await desk.customer.send("衣服质量太差了我要投诉")
    assert (reply.text or "").startswith("非常抱歉给您带来不好的体验，已作为投诉转给客服团队。")
    assert "排第 1 位" in (reply.text or "")
    ticket = await desk.ticket()
    assert (ticket.reason, ticket.complaint) == ("complaint", True)

    sent = await desk.flush()
    topic = next(o for o in sent if o.method == "createForumTopic")
    assert "⚠️" in (topic.request.name or "")
    card = next(o for o in sent if o.method == "sendMessage" and o.chat_id == SUPPORT)
    assert "⚠️ 投诉" in (card.text or "")
    assert "衣服质量太差了我要投诉" in (card.text or "")


async def test_a_complaint_in_an_open_conversation_marks_the_ticket(desk: Desk) -> None:
    await desk.customer.send("/human")
    first = await desk.flush()
    card = next(o for o in first if o.method == "sendMessage" and o.chat_id == SUPPORT)
    assert "⚠️" not in (card.text or "")
    assert not (await desk.ticket()).complaint

    assert await desk.customer.send("等了三天了，我要投訴！") == []  # relayed, not answered
    assert (await desk.ticket()).complaint
    sent = await desk.flush()
    assert any(o.method == "copyMessage" for o in sent)  # the agents got the message
    edit = next(o for o in sent if o.method == "editMessageText")
    assert "⚠️ 投诉" in (edit.text or "")
    rename = next(o for o in sent if o.method == "editForumTopic")
    assert "⚠️" in (rename.request.name or "")


# --- the card: answered apart from unanswered ---------------------------------------------


async def test_the_card_separates_what_the_bot_answered_from_what_it_could_not(
    en_desk: Desk, kb: KnowledgeBase
) -> None:
    desk = en_desk
    await desk.customer.send("你好")  # small talk: on neither list
    await desk.customer.send("多久发货")  # answered
    await desk.customer.send("zzqx blorf wibble")  # not answered
    await desk.customer.send("/human")
    sent = await desk.flush()
    card = next(o for o in sent if o.method == "sendMessage" and o.chat_id == SUPPORT)
    text = card.text or ""
    answered, _, missed = text.partition("❔ Bot could not answer:")
    assert "🤖 Bot answered:" in answered and "“多久发货” →" in answered
    assert "• “zzqx blorf wibble”" in missed and "多久发货" not in missed
    assert "你好" not in text


async def test_the_card_sections_in_chinese(desk: Desk) -> None:
    await desk.customer.send("how do I return this")
    await desk.customer.send("qwpoeiru mnbvcx")
    await desk.customer.send("/human")
    sent = await desk.flush()
    card = next(o for o in sent if o.method == "sendMessage" and o.chat_id == SUPPORT)
    text = card.text or ""
    assert "🤖 机器人已回答：\n• “how do I return this” → how_to_return" in text
    assert "❔ 机器人没能回答：\n• “qwpoeiru mnbvcx”" in text


# --- the language of a message without words ----------------------------------------------


WORDLESS = ["https://shop.example.com/item/8812", "12-05 20:00", "#A1234"]


@pytest.mark.parametrize("wordless", WORDLESS)
async def test_a_message_without_words_keeps_the_customers_language(
    make_client: MakeClient, app: App, wordless: str
) -> None:
    # An English Telegram, but the customer writes Chinese.
    client = make_client(user_id=4004, first_name="Li", language_code="en")
    [first] = await client.send("多久发货")
    assert _han(first.text)
    [out] = await client.send(wordless)
    assert _han(out.text), out.text
    async with app.session_factory() as s:
        langs = list(await s.scalars(select(FaqInteraction.lang).order_by(FaqInteraction.id)))
    assert langs == ["zh", "zh"]


async def test_emoji_alone_keep_the_customers_language(
    make_client: MakeClient, app: App, catalogue: Catalogue
) -> None:
    client = make_client(user_id=4008, first_name="Li", language_code="en")
    await client.send("多久发货")
    [out] = await client.send("👍👍")
    assert out.text == catalogue.get("zh", "empty-text")
    assert await _count(app, FaqInteraction) == 1  # nothing stored for it


async def test_a_first_wordless_message_follows_the_telegram_language(
    make_client: MakeClient,
) -> None:
    zh = make_client(user_id=4005, first_name="Li", language_code="zh-hans")
    [out] = await zh.send("https://shop.example.com/item/8812")
    assert _han(out.text)
    en = make_client(user_id=4006, first_name="Bo", language_code="en")
    [out] = await en.send("https://shop.example.com/item/8812")
    assert not _han(out.text)


async def test_an_english_customer_sending_an_order_id_stays_in_english(
    make_client: MakeClient,
) -> None:
    client = make_client(user_id=4007, first_name="Ann", language_code="zh-hans")
    await client.send("where is my order")
    [out] = await client.send("#A1234")
    assert not _han(out.text), out.text
