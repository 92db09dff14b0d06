"""Delivering order updates (outbox kind ``order_update``): shipped, delivered, late.

The order and the customer's language are read when the row is sent, so the message says
what is true then: a ``late`` row for an order delivered meanwhile is dropped, and so is a
row for a customer the order no longer belongs to (their number moved to another account).
A customer who blocked the bot is marked blocked, as for the other private messages.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import ObsoleteRow, Sender
from orders import notices
from orders.ownership import order_for
from storage.models import User
from storage.outbox import Claimed
from storage.queries import set_blocked
from views.orders import render_update, update_keyboard
from views.returns import delivered_keyboard
from views.texts import Catalogue


class OrderDelivery:
    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        catalogue: Catalogue,
        *,
        default_language: str,
        tz: ZoneInfo,
        clock: Callable[[], datetime],
    ) -> None:
        self.bot = bot
        self.sf = session_factory
        self.catalogue = catalogue
        self.default_language = default_language
        self.tz = tz
        self.clock = clock

    def install(self, sender: Sender) -> None:
        sender.route(notices.KIND, self.deliver, on_blocked=self.blocked)

    async def deliver(self, row: Claimed) -> None:
        event = str(row.payload.get("event", ""))
        order_id = str(row.payload.get("order_id", ""))
        if row.chat_id is None or event not in notices.EVENTS or not order_id:
            raise ObsoleteRow(f"not an order update: {row.payload!r}")
        async with self.sf() as s:
            order = await order_for(s, row.chat_id, order_id)
            found = (
                await s.execute(
                    select(User.language, User.language_code).where(User.id == row.chat_id)
                )
            ).first()
            await s.commit()  # ends the read; the rows stay usable
        if order is None:
            raise ObsoleteRow("the order is gone or no longer the customer's")
        if event == notices.LATE and (
            order.status in notices.SETTLED or (order.eta is not None and order.eta > self.clock())
        ):
            raise ObsoleteRow(f"no longer late: {order.status}, expected {order.eta}")
        lang, tg_lang = found if found is not None else (None, None)
        t = self.catalogue.for_lang(
            self.catalogue.resolve_language(lang, tg_lang, self.default_language)
        )
        await self.bot.send_message(
            row.chat_id,
            render_update(t, order, event, self.tz),
            reply_markup=(
                delivered_keyboard(t, order.order_id)
                if event == notices.DELIVERED
                else update_keyboard(t, order, event)
            ),
        )

    async def blocked(self, row: Claimed, error: str) -> None:
        if row.chat_id is None:
            return
        async with self.sf() as s:
            await set_blocked(s, user_id=row.chat_id, blocked=True, now=self.clock())
            await s.commit()
