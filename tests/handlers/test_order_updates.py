"""Order updates delivered from the outbox (bot/orders.py): shipped, delivered and late, in
the customer's language at send time; the late-order job queues them once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import SendMessage
from sqlalchemy import select

from bot.app import App, create_bot, create_sender
from bot.local import LocalSession, Outgoing
from bot.scheduler import late_orders
from bot.sender import Sender
from orders import notices
from storage.models import Order, OutboxMessage, User
from tests.conftest import T0, Clock
from tests.orders.factory import add_orders, add_users, make_order

EN, ZH = 501, 502


@dataclass
class Post:
    app: App
    local: LocalSession
    sender: Sender

    async def queue(self, order_id: str, event: str) -> None:
        async with self.app.session_factory() as s:
            order = await s.get(Order, order_id)
            assert order is not None
            await notices.queue_update(s, order, event, now=self.app.clock())
            await s.commit()

    async def flush(self) -> list[Outgoing]:
        start = len(self.local.requests)
        await self.sender.drain()
        return self.local.outgoing(start)


@pytest.fixture
async def post(app: App) -> AsyncIterator[Post]:
    local = LocalSession()
    bot = create_bot(app.settings, session=local)
    async with app.session_factory() as s:
        await add_users(s, EN, language="en")
        await add_users(s, ZH, language="zh")
        await s.commit()
    await add_orders(
        app.session_factory,
        make_order(
            "E1",
            telegram_id=EN,
            status="shipped",
            carrier="SF Express",
            tracking_number="SF100",
            eta=T0 + timedelta(days=2),
        ),
        make_order(
            "Z1",
            telegram_id=ZH,
            status="shipped",
            carrier="顺丰",
            tracking_number="SF200",
            eta=T0 + timedelta(days=2),
        ),
    )
    yield Post(app, local, create_sender(app, bot, topics=False))
    await bot.session.close()


async def test_shipped_says_the_carrier_and_tracking_number(post: Post) -> None:
    await post.queue("E1", notices.SHIPPED)
    await post.queue("Z1", notices.SHIPPED)
    en, zh = await post.flush()
    assert (en.chat_id, en.text) == (
        EN,
        "🚚 Your order E1 has shipped with SF Express. Tracking number: SF100",
    )
    assert en.buttons[0].text == "📦 Order details" and en.buttons[0].callback_data == "ord:E1"
    assert (zh.chat_id, zh.text) == (ZH, "🚚 您的订单 Z1 已发货，快递公司：顺丰，快递单号：SF200")


async def test_delivered_says_how_to_start_a_return(post: Post) -> None:
    await post.queue("E1", notices.DELIVERED)
    await post.queue("Z1", notices.DELIVERED)
    en, zh = await post.flush()
    assert "has been delivered" in (en.text or "") and "/return" in (en.text or "")
    assert "已签收" in (zh.text or "") and "/return" in (zh.text or "")
    # The button opens the return dialogue for that order (not the FAQ's answer to "return").
    assert [(b.text, b.callback_data) for b in en.buttons] == [
        ("📦 Order details", "ord:E1"),
        ("↩️ Return / exchange", "rs:E1"),
    ]
    assert [b.callback_data for b in zh.buttons] == ["ord:Z1", "rs:Z1"]


async def test_late_is_sorry_with_a_person_to_talk_to(post: Post, clock: Clock) -> None:
    clock.advance(days=3)
    assert await late_orders(post.app) == 2
    en, zh = await post.flush()
    assert en.text == (
        "⏳ Your order E1 was expected by 2026-11-22 and hasn't arrived yet. We're sorry for "
        "the wait. Tap below to talk to a person and we'll look into it."
    )
    assert [b.text for b in en.buttons] == ["🙋 Talk to a human"]
    assert "预计 2026-11-22 送达" in (zh.text or "") and zh.buttons[0].text == "🙋 转人工"
    # the job runs again: nothing more
    clock.advance(minutes=5)
    assert await late_orders(post.app) == 0
    assert await post.flush() == []


async def test_the_language_is_read_when_the_row_is_sent(post: Post) -> None:
    await post.queue("E1", notices.SHIPPED)
    async with post.app.session_factory() as s:
        user = await s.get(User, EN)
        assert user is not None
        user.language = "zh"
        await s.commit()
    [out] = await post.flush()
    assert (out.text or "").startswith("🚚 您的订单 E1 已发货")


async def test_a_late_row_for_an_order_delivered_meanwhile_is_dropped(
    post: Post, clock: Clock
) -> None:
    clock.advance(days=3)
    await late_orders(post.app)
    async with post.app.session_factory() as s:
        order = await s.get(Order, "E1")
        assert order is not None
        order.status = "delivered"
        await s.commit()
    [out] = await post.flush()
    assert out.chat_id == ZH
    async with post.app.session_factory() as s:
        rows = await s.execute(select(OutboxMessage.chat_id, OutboxMessage.status))
        statuses = {row[0]: row[1] for row in rows}
    assert statuses == {EN: "dropped", ZH: "sent"}


async def test_a_customer_who_blocked_the_bot_is_marked(post: Post) -> None:
    post.local.fail_next(
        "sendMessage",
        TelegramForbiddenError(
            method=SendMessage(chat_id=EN, text="x"),
            message="Forbidden: bot was blocked by the user",
        ),
    )
    await post.queue("E1", notices.SHIPPED)
    await post.flush()
    async with post.app.session_factory() as s:
        user = await s.get(User, EN)
        row = await s.scalar(select(OutboxMessage))
    assert user is not None and user.blocked
    assert row is not None and row.status == "dropped"
