"""Delivering coupon drops: the post with its Claim button, the live counter, the codes.

Everything is drawn from the database when it is sent, so a counter edit shows the latest
count and a late final edit is still right.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import ReplyParameters
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import ObsoleteRow, Sender
from community import announce, drops
from storage.models import CouponCode, CouponDrop, User
from storage.outbox import Claimed
from views.drops import render_drop
from views.keyboards import claim_keyboard
from views.render import code_text
from views.texts import Catalogue


class DropDelivery:
    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        catalogue: Catalogue,
        *,
        group_language: str,
        tz: ZoneInfo,
        clock: Callable[[], datetime],
    ) -> None:
        self.bot = bot
        self.sf = session_factory
        self.catalogue = catalogue
        self.t = catalogue.for_lang(group_language)
        self.tz = tz
        self.clock = clock

    def install(self, sender: Sender) -> None:
        sender.route(announce.POST, self.post)
        sender.route(announce.COUNTER, self.redraw)
        sender.route(announce.FINAL, self.redraw)
        sender.route(announce.CODE, self.send_code)
        sender.route(announce.GROUP_REPLY, self.group_reply)
        sender.route(announce.DELETE, self.delete)
        sender.route(announce.NOTICE, self.notice)

    async def _drop(self, row: Claimed) -> CouponDrop:
        async with self.sf() as s:
            drop = await s.get(CouponDrop, int(row.payload["drop_id"]))
            await s.commit()  # ends the read; the row stays usable
        if drop is None:
            raise ObsoleteRow("drop gone")
        return drop

    async def post(self, row: Claimed) -> None:
        drop = await self._drop(row)
        assert row.chat_id is not None
        live = drop.status == "live" and drop.claimed < drop.quantity
        sent = await self.bot.send_message(
            row.chat_id,
            render_drop(self.t, drop, self.tz),
            parse_mode="HTML",
            reply_markup=claim_keyboard(self.t, drop.id, drop.cost_points) if live else None,
        )
        async with self.sf() as s:
            await drops.set_post(
                s, drop_id=drop.id, chat_id=row.chat_id, message_id=sent.message_id
            )

    async def redraw(self, row: Claimed) -> None:
        drop = await self._drop(row)
        if drop.message_id is None or drop.chat_id is None:
            raise ObsoleteRow("not posted")
        live = drop.status == "live" and drop.claimed < drop.quantity
        try:
            await self.bot.edit_message_text(
                text=render_drop(self.t, drop, self.tz),
                chat_id=drop.chat_id,
                message_id=drop.message_id,
                parse_mode="HTML",
                reply_markup=claim_keyboard(self.t, drop.id, drop.cost_points) if live else None,
            )
        except TelegramBadRequest as exc:
            if "not found" in exc.message.lower():
                raise ObsoleteRow("the post was deleted") from exc
            raise

    async def send_code(self, row: Claimed) -> None:
        async with self.sf() as s:
            found = (
                await s.execute(
                    select(CouponCode, CouponDrop, User.language, User.language_code)
                    .join(CouponDrop, CouponDrop.id == CouponCode.drop_id)
                    .join(User, User.id == CouponCode.user_id)
                    .where(CouponCode.id == int(row.payload["code_id"]))
                )
            ).first()
            await s.commit()
        if found is None:
            raise ObsoleteRow("code gone")
        code, drop, lang, tg_lang = found
        if code.delivered_at is not None:
            return
        t = self.catalogue.for_lang(self.catalogue.resolve_language(lang, tg_lang, self.t.lang))
        expires = (
            code.expires_at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
            if code.expires_at
            else None
        )
        await self.bot.send_message(
            code.user_id or 0,
            code_text(t, code.code, drop.title, drop.discount, expires),
            parse_mode="HTML",
            protect_content=True,  # a code is for its member: no forwarding, no saving
        )
        async with self.sf() as s:
            await drops.mark_delivered(s, code_id=code.id, now=self.clock())

    async def group_reply(self, row: Claimed) -> None:
        assert row.chat_id is not None
        p = row.payload
        markup = None
        if p.get("button"):
            label, url = p["button"]
            markup = InlineKeyboardBuilder().button(text=str(label), url=str(url)).as_markup()
        sent = await self.bot.send_message(
            row.chat_id,
            str(p["text"]),
            reply_markup=markup,
            reply_parameters=ReplyParameters(
                message_id=int(p["reply_to"]), allow_sending_without_reply=True
            )
            if p.get("reply_to")
            else None,
        )
        ids = {sent.message_id} | ({int(p["reply_to"])} if p.get("reply_to") else set())
        async with self.sf() as s:
            await announce.queue_delete(
                s,
                chat_id=row.chat_id,
                message_ids=sorted(ids),
                after=timedelta(seconds=float(p["delete_after"])),
                now=self.clock(),
            )
            await s.commit()

    async def delete(self, row: Claimed) -> None:
        p = row.payload
        try:
            await self.bot.delete_messages(int(p["chat_id"]), [int(i) for i in p["message_ids"]])
        except TelegramBadRequest as exc:  # already gone, or too old to delete: nothing to do
            raise ObsoleteRow(exc.message) from exc

    async def notice(self, row: Claimed) -> None:
        assert row.chat_id is not None
        await self.bot.send_message(row.chat_id, str(row.payload["text"]))
