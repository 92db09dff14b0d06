"""Orders in the customer's private chat, through the production Dispatcher: linking (by the
import's telegram id, a shared phone, the shop's signed link) and "where is my order"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import ReplyKeyboardMarkup
from sqlalchemy import func, select

from bot.app import App
from bot.config import Settings
from bot.local import ChatClient, Outgoing
from orders import linking
from storage.models import CustomerPhone, FaqInteraction, Order, OrderLink
from tests.conftest import T0, MakeClient
from tests.orders.factory import add_orders, make_order

SECRET = "shop-secret-for-the-order-links"
ANN = 1001  # the default ChatClient
EVENTS = [
    {"at": "2026-11-18T01:00:00+00:00", "text": "Picked up in Hangzhou"},
    {"at": "2026-11-18T09:30:00+00:00", "text": "Left the Hangzhou hub"},
    {"at": "2026-11-19T04:10:00+00:00", "text": "Arrived in Shanghai"},
    {"at": "2026-11-19T23:50:00+00:00", "text": "Out for delivery"},
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        bot_token="123456:TEST",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        admin_ids=(900,),
        flood_max_messages=1000,
        order_link_secret=SECRET,
    )


def shipped(order_id: str, **fields: Any) -> Order:
    values: dict[str, Any] = {
        "status": "in_transit",
        "carrier": "SF Express",
        "tracking_number": "SF1234567890",
        "items": "Linen shirt (M) x1",
        "paid_at": T0 - timedelta(days=3),  # 2026-11-17 10:00 in Shanghai
        "shipped_at": T0 - timedelta(days=2, hours=1),  # 2026-11-18 09:00
        "eta": T0 + timedelta(days=1),  # 2026-11-21
        "events": EVENTS,
    }
    values.update(fields)
    return make_order(order_id, **values)


async def _count(app: App, model: type) -> int:
    async with app.session_factory() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def _share_button(out: Outgoing) -> bool:
    markup = out.request.reply_markup
    return isinstance(markup, ReplyKeyboardMarkup) and any(
        b.request_contact for row in markup.keyboard for b in row
    )


def _contact(
    client: ChatClient, user_id: int | None, phone: str = "+86 138 0013 8000"
) -> dict[str, Any]:
    contact: dict[str, Any] = {"phone_number": phone, "first_name": "Ann"}
    if user_id is not None:
        contact["user_id"] = user_id
    return contact


# --- where is my order ----------------------------------------------------------------------


async def test_an_imported_order_is_shown_by_its_telegram_id(client: ChatClient, app: App) -> None:
    await add_orders(app.session_factory, shipped("880123", telegram_id=ANN))
    [out] = await client.send("where is my order")
    text = out.text or ""
    assert text.startswith("📦 Order 880123")
    assert "Status: on its way" in text
    assert "Carrier: SF Express" in text and "Tracking number: SF1234567890" in text
    assert "Expected by: 2026-11-21" in text
    assert "Paid: 2026-11-17 10:00" in text and "Shipped: 2026-11-18 09:00" in text
    # the last three events, newest first, in the shop's time (Asia/Shanghai)
    assert "2026-11-20 07:50 · Out for delivery" in text
    assert text.index("Out for delivery") < text.index("Arrived in Shanghai")
    assert "Left the Hangzhou hub" in text and "Picked up" not in text


async def test_a_chinese_question_gets_a_chinese_card(client: ChatClient, app: App) -> None:
    await add_orders(app.session_factory, shipped("880123", telegram_id=ANN))
    [out] = await client.send("我的订单到哪了")
    assert "状态：运输中" in (out.text or "") and "快递单号：SF1234567890" in (out.text or "")


async def test_with_a_number_the_customers_order_is_shown(client: ChatClient, app: App) -> None:
    await add_orders(
        app.session_factory,
        shipped("880123", telegram_id=ANN),
        make_order("880124", telegram_id=ANN, minutes=5),
    )
    [out] = await client.send("order 880123 status")
    assert (out.text or "").startswith("📦 Order 880123")
    assert out.buttons == []  # on its way: nothing to return yet (RETURN_STATUSES)
    [zh] = await client.send("查一下订单880124")
    assert (zh.text or "").startswith("📦 订单 880124") and "已付款" in (zh.text or "")
    assert zh.buttons == []


async def test_a_delivered_orders_card_offers_a_return(client: ChatClient, app: App) -> None:
    await add_orders(
        app.session_factory,
        shipped("880123", telegram_id=ANN),
        make_order("880124", telegram_id=ANN, status="delivered", delivered_at=T0, minutes=5),
    )
    [card] = await client.send("where is my order 880123")
    assert not card.buttons  # shipped: nothing to return yet
    [card] = await client.send("where is my order 880124")
    assert [(b.text, b.callback_data) for b in card.buttons] == [
        ("↩️ Return / exchange", "rs:880124")
    ]
    out = await client.click("Return / exchange")
    assert "What are you returning?" in "\n".join(o.text or "" for o in out)


async def test_a_stranger_typing_someone_elses_number_learns_nothing(
    make_client: MakeClient, app: App
) -> None:
    await add_orders(app.session_factory, shipped("880123", telegram_id=ANN))
    stranger = make_client(user_id=2002, first_name="Eve")
    [theirs] = await stranger.send("order 880123 status")
    [unknown] = await stranger.send("order 999999 status")
    assert theirs.text == unknown.text
    assert "I can't find that order for you" in (theirs.text or "")
    assert "SF" not in (theirs.text or "") and "880123" not in (theirs.text or "")
    assert theirs.menu == unknown.menu == ["📱 Share my phone number", "🙋 Talk to a human"]
    assert _share_button(theirs)


async def test_without_orders_the_phone_button_and_a_human_are_offered(
    client: ChatClient, app: App
) -> None:
    [out] = await client.send("where is my order")
    assert "can't find any orders" in (out.text or "")
    assert out.menu == ["📱 Share my phone number", "🙋 Talk to a human"]
    assert _share_button(out)
    # the human button is the menu's: it opens a request as the menu's does
    [human] = await client.send("🙋 Talk to a human")
    assert "request #1" in (human.text or "")


async def test_without_a_number_recent_orders_are_buttons(client: ChatClient, app: App) -> None:
    await add_orders(
        app.session_factory,
        shipped("880123", telegram_id=ANN),
        make_order("880124", telegram_id=ANN, minutes=5),
        make_order("880999", telegram_id=2002, minutes=6),  # someone else's
    )
    [out] = await client.send("has my order shipped?")
    assert [b.text for b in out.buttons] == [
        "880124 · paid, being prepared",
        "880123 · on its way",
        "🙋 Talk to a human",
    ]
    [ack, card] = await client.click("880123")
    assert ack.method == "answerCallbackQuery"
    assert (card.text or "").startswith("📦 Order 880123")


async def test_the_menu_button_shows_my_orders(client: ChatClient, app: App) -> None:
    await add_orders(
        app.session_factory,
        shipped("880123", telegram_id=ANN),
        make_order("880124", telegram_id=ANN, minutes=5),
    )
    [out] = await client.send("📦 My orders")
    assert out.text and out.text.startswith("Your recent orders")


async def test_a_forged_order_button_shows_nothing(client: ChatClient, app: App) -> None:
    await add_orders(
        app.session_factory,
        shipped("880123", telegram_id=ANN),
        shipped("880999", telegram_id=2002, tracking_number="SF999"),
    )
    [ack, out] = await client.press("ord:880999")
    assert ack.method == "answerCallbackQuery"
    assert "I can't find that order for you" in (out.text or "") and "SF999" not in (
        out.text or ""
    )
    [ack2, out2] = await client.press("ord:nope")
    assert out2.text == out.text
    [stale] = await client.press("ord:a:b")  # does not even unpack
    assert stale.method == "answerCallbackQuery" and stale.show_alert


async def test_the_question_is_kept_for_the_agents(client: ChatClient, app: App) -> None:
    await client.send("where is my order")
    async with app.session_factory() as s:
        row = await s.scalar(select(FaqInteraction))
    assert row is not None and row.question == "where is my order"
    assert row.outcome == "order_missing" and row.lang == "en"


async def test_generic_shipping_questions_stay_faq_answers(client: ChatClient, app: App) -> None:
    entry = app.kb.get("shipping_time")
    assert entry is not None
    [out] = await client.send("how long does shipping take")
    assert out.text == entry.answer_for("en")


# --- linking by phone -----------------------------------------------------------------------


async def test_sharing_my_own_number_links_its_orders(client: ChatClient, app: App) -> None:
    await add_orders(app.session_factory, shipped("P100", phone="8613800138000"))
    await client.send("where is my order")
    [linked, card] = await client.send_content(contact=_contact(client, ANN))
    assert "your number is linked" in (linked.text or "")
    assert "📱 Share my phone number" not in linked.menu  # the menu is back instead
    assert "📦 My orders" in linked.menu
    assert (card.text or "").startswith("📦 Order P100")
    async with app.session_factory() as s:
        assert await s.get(CustomerPhone, "8613800138000") is not None
    [again] = await client.send("where is my order")
    assert (again.text or "").startswith("📦 Order P100")


async def test_a_number_without_orders_yet_is_linked_for_later(
    client: ChatClient, app: App
) -> None:
    [out] = await client.send_content(contact=_contact(client, ANN, "8613800138000"))
    assert "they will show here once the shop sends them" in (out.text or "")
    await add_orders(app.session_factory, make_order("P200", phone="8613800138000"))
    [card] = await client.send("where is my order")
    assert (card.text or "").startswith("📦 Order P200")


@pytest.mark.parametrize("contact_user", [2002, None])
async def test_someone_elses_contact_is_refused(
    client: ChatClient, app: App, contact_user: int | None
) -> None:
    await add_orders(app.session_factory, shipped("P100", phone="8613800138000"))
    [out] = await client.send_content(contact=_contact(client, contact_user))
    assert "share your own number" in (out.text or "")
    assert _share_button(out)
    assert await _count(app, CustomerPhone) == 0
    [still] = await client.send("order P100 status")
    assert "I can't find that order for you" in (still.text or "")


# --- linking by the shop's signed link ------------------------------------------------------


async def test_the_shops_link_links_and_shows_the_order(client: ChatClient, app: App) -> None:
    await add_orders(app.session_factory, shipped("SO-880123"))
    parameter = linking.start_parameter(SECRET.encode(), "SO-880123")
    [out] = await client.send(f"/start {parameter}")
    assert (out.text or "").startswith("📦 Order SO-880123")
    [again] = await client.send("where is my order")
    assert (again.text or "").startswith("📦 Order SO-880123")


async def test_a_link_opened_before_the_order_arrives(client: ChatClient, app: App) -> None:
    parameter = linking.start_parameter(SECRET.encode(), "880777")
    [out] = await client.send(f"/start {parameter}")
    assert "It will show here once the shop sends it" in (out.text or "")
    assert await _count(app, OrderLink) == 1
    await add_orders(app.session_factory, make_order("880777"))
    [card] = await client.send("where is my order")
    assert (card.text or "").startswith("📦 Order 880777")


@pytest.mark.parametrize(
    "parameter",
    [
        linking.start_parameter(b"someone-elses-secret-key", "880123"),
        linking.start_parameter(SECRET.encode(), "880123").replace("880123", "880124"),
        "o_880123",
        "o_880123_AAAAAAAAAAAAAAAA",
    ],
)
async def test_a_forged_link_is_refused_politely(
    client: ChatClient, app: App, parameter: str
) -> None:
    await add_orders(app.session_factory, shipped("880123", telegram_id=2002))
    await add_orders(app.session_factory, shipped("880124", telegram_id=2002))
    [out] = await client.send(f"/start {parameter}")
    assert out.text == (
        "Sorry, this link is not valid. Please open it again from your order page, or ask me "
        '"where is my order".'
    )
    assert await _count(app, OrderLink) == 0


async def test_a_plain_start_still_greets(client: ChatClient) -> None:
    [out] = await client.send("/start")
    assert "Ann" in (out.text or "")
