"""Delivering flash sales: the lifecycle posts, the members' reminders, the manager's notices.

Everything is drawn from the database when it is sent, so a post shows the sale as it is
then (an edit made after planning, a cancellation). Posts are written in the group's
language (`policy.group_language`), private messages in their reader's.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import ObsoleteRow, Sender
from campaigns import sales
from campaigns.policy import CampaignPolicy
from storage.models import Sale, SalePost, User
from storage.outbox import Claimed
from storage.queries import set_blocked
from views.keyboards import buy_keyboard, post_keyboard
from views.sales import chat_name, local, render_post, render_reminder, stage_name
from views.texts import Catalogue, Texts


class SaleDelivery:
    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        catalogue: Catalogue,
        policy: CampaignPolicy,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.bot = bot
        self.sf = session_factory
        self.catalogue = catalogue
        self.policy = policy
        self.t = catalogue.for_lang(policy.group_language)
        self.tz = policy.tz
        self.clock = clock

    def install(self, sender: Sender) -> None:
        sender.route(sales.POST, self.post, on_failed=self.failed)
        sender.route(sales.REMINDER, self.remind, on_blocked=self.blocked)
        sender.route(sales.NOTICE, self.notice)

    async def _texts_for(self, s: AsyncSession, user_id: int) -> Texts:
        found = (
            await s.execute(select(User.language, User.language_code).where(User.id == user_id))
        ).first()
        lang, tg_lang = found if found is not None else (None, None)
        return self.catalogue.for_lang(self.catalogue.resolve_language(lang, tg_lang, self.t.lang))

    async def post(self, row: Claimed) -> None:
        async with self.sf() as s:
            found = (
                await s.execute(
                    select(SalePost, Sale)
                    .join(Sale, Sale.id == SalePost.sale_id)
                    .where(SalePost.id == int(row.payload["post_id"]))
                )
            ).first()
            start_message: int | None = None
            if found is not None and found[0].stage in (sales.END, sales.CANCEL):
                start_message = await s.scalar(
                    select(SalePost.message_id).where(
                        SalePost.sale_id == found[0].sale_id,
                        SalePost.chat_id == found[0].chat_id,
                        SalePost.stage == sales.START,
                    )
                )
            await s.commit()  # ends the read; the rows stay usable
        if found is None:
            raise ObsoleteRow("sale gone")
        post, sale = found
        if sale.status == sales.CANCELLED and post.stage != sales.CANCEL:
            raise ObsoleteRow("sale cancelled")
        text = render_post(self.t, sale, post.stage, self.tz)
        markup = post_keyboard(self.t, sale, post.stage)
        if post.stage in (sales.END, sales.CANCEL):
            if start_message is None:
                raise ObsoleteRow("no start post to edit")
            await self._edit(post.chat_id, start_message, text, photo=bool(sale.image_file_id))
            message_id: int | None = start_message
        elif sale.image_file_id:
            sent = await self.bot.send_photo(
                post.chat_id,
                sale.image_file_id,
                caption=text,
                parse_mode="HTML",
                reply_markup=markup,
            )
            message_id = sent.message_id
        else:
            sent = await self.bot.send_message(
                post.chat_id, text, parse_mode="HTML", reply_markup=markup
            )
            message_id = sent.message_id
        async with self.sf() as s:
            await sales.set_post_message(
                s, post_id=post.id, message_id=message_id, now=self.clock()
            )

    async def failed(self, row: Claimed, error: str) -> None:
        async with self.sf() as s:
            await sales.post_failed(
                s, post_id=int(row.payload["post_id"]), error=error, now=self.clock()
            )

    async def _edit(self, chat_id: int, message_id: int, text: str, *, photo: bool) -> None:
        try:
            if photo:
                await self.bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=message_id,
                    caption=text,
                    parse_mode="HTML",
                    reply_markup=None,
                )
            else:
                await self.bot.edit_message_text(
                    text=text,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode="HTML",
                    reply_markup=None,
                )
        except TelegramBadRequest as exc:
            if "not found" in exc.message.lower():  # "message to edit not found": deleted
                raise ObsoleteRow("the start post was deleted") from exc
            raise

    async def remind(self, row: Claimed) -> None:
        assert row.chat_id is not None
        async with self.sf() as s:
            sale = await s.get(Sale, int(row.payload["sale_id"]))
            t = await self._texts_for(s, row.chat_id)
            await s.commit()
        if sale is None or sales.phase(sale, self.clock()) in (sales.CANCELLED, sales.ENDED):
            raise ObsoleteRow("the sale is over")
        await self.bot.send_message(
            row.chat_id,
            render_reminder(t, sale, self.tz),
            parse_mode="HTML",
            reply_markup=buy_keyboard(t, sale),
        )

    async def blocked(self, row: Claimed, error: str) -> None:
        if row.chat_id is None:
            return
        async with self.sf() as s:
            await set_blocked(s, user_id=row.chat_id, blocked=True, now=self.clock())
            await s.commit()

    async def notice(self, row: Claimed) -> None:
        assert row.chat_id is not None
        ids = [int(i) for i in row.payload.get("post_ids", [])]
        async with self.sf() as s:
            sale = await s.get(Sale, int(row.payload["sale_id"]))
            skipped = list(
                await s.scalars(select(SalePost).where(SalePost.id.in_(ids)).order_by(SalePost.id))
            )
            t = await self._texts_for(s, row.chat_id)
            await s.commit()
        if sale is None or not skipped:
            raise ObsoleteRow("nothing to report")
        lines = [
            t(
                "sale-notice-line",
                stage=stage_name(t, p.stage),
                chat=chat_name(t, self.policy, p.chat_id),
                due=local(p.due_at, self.tz),
            )
            for p in skipped
        ]
        error = row.payload.get("error")
        text = t(
            "sale-notice-failed" if error else "sale-notice-skipped",
            id=sale.id,
            product=html.escape(sale.product),
            count=len(skipped),
            list="\n".join(lines),
            error=html.escape(str(error or "")),
        )
        await self.bot.send_message(row.chat_id, text, parse_mode="HTML")
