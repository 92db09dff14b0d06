"""Delivering broadcasts: each recipient's message, the manager's progress edits, the report.

A recipient's send is bracketed by `begin_send` (committed before the Telegram call) and
`finish_send`, so a restart never sends anyone the same broadcast twice (see
campaigns/broadcasts.py). Errors that may be retried put the recipient back in the queue
before the sender retries the row; a 403 marks the user blocked; any other 400 fails them.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
)
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import ObsoleteRow, RetryLater, Sender
from campaigns import broadcasts
from campaigns.broadcasts import Progress
from campaigns.policy import CampaignPolicy
from storage.models import Broadcast, CouponDrop, User
from storage.outbox import Claimed
from storage.queries import set_blocked
from views.broadcasts import render_progress, render_report, with_footer
from views.keyboards import cancel_keyboard, message_keyboard
from views.texts import Catalogue, Texts


class Content(NamedTuple):
    """What every recipient of a broadcast gets (the text still to be localised)."""

    kind: str
    text: str
    photo: str | None
    buttons: Any
    drop_id: int | None
    discount: str | None


class BroadcastDelivery:
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
        self.clock = clock
        # A broadcast's content never changes once it is sent: read it once per process.
        self._content: dict[int, Content] = {}

    def install(self, sender: Sender) -> None:
        sender.route(
            broadcasts.KIND, self.deliver, on_blocked=self.on_blocked, on_failed=self.on_failed
        )
        sender.route(broadcasts.PROGRESS, self.progress)
        sender.route(broadcasts.REPORT, self.report)

    def _texts(self, language: str | None, language_code: str | None) -> Texts:
        lang = self.catalogue.resolve_language(language, language_code, self.policy.group_language)
        return self.catalogue.for_lang(lang)

    async def _load(self, s: AsyncSession, broadcast_id: int) -> Content:
        found = self._content.get(broadcast_id)
        if found is None:
            row = (
                await s.execute(
                    select(
                        Broadcast.kind,
                        Broadcast.text,
                        Broadcast.photo_file_id,
                        Broadcast.buttons,
                        Broadcast.drop_id,
                        CouponDrop.discount,
                    )
                    .outerjoin(CouponDrop, CouponDrop.id == Broadcast.drop_id)
                    .where(Broadcast.id == broadcast_id)
                )
            ).one_or_none()
            if row is None:
                raise ObsoleteRow("broadcast gone")
            found = Content(
                str(row.kind),
                str(row.text),
                row.photo_file_id,
                row.buttons,
                row.drop_id,
                row.discount,
            )
            if len(self._content) > 1000:
                self._content.clear()
            self._content[broadcast_id] = found
        return found

    # --- one recipient ---------------------------------------------------------------------

    async def deliver(self, row: Claimed) -> None:
        broadcast_id = int(row.payload["broadcast_id"])
        user_id = int(row.chat_id or 0)
        now = self.clock()
        quiet = self.policy.marketing.quiet_until(now)
        if quiet is not None:
            raise RetryLater("quiet hours", after=(quiet - now).total_seconds())
        async with self.sf() as s:
            verdict = await broadcasts.begin_send(s, broadcast_id, user_id, now=now)
        if verdict != "go":
            raise ObsoleteRow(verdict)
        try:
            async with self.sf() as s:
                content = await self._load(s, broadcast_id)
                lang = (
                    await s.execute(
                        select(User.language, User.language_code).where(User.id == user_id)
                    )
                ).one_or_none()
                await s.commit()
            t = self._texts(*(lang or (None, None)))
            body = with_footer(t, self._text(t, content))
            markup = message_keyboard(t, content.buttons, content.drop_id)
            if content.photo is not None:
                await self.bot.send_photo(
                    user_id, content.photo, caption=body, parse_mode="HTML", reply_markup=markup
                )
            else:
                await self.bot.send_message(user_id, body, parse_mode="HTML", reply_markup=markup)
        except (TelegramBadRequest, TelegramForbiddenError, TelegramMigrateToChat):
            raise  # for good: the sender calls on_failed / on_blocked
        except ObsoleteRow:
            await self._finish(row, "failed", "broadcast gone")
            raise
        except Exception as exc:
            # 429, network, 5xx or anything unexpected: nothing was delivered, or we cannot
            # know; back in the queue, so the sender's retry sends it.
            await self._finish(row, broadcasts.QUEUED, f"{type(exc).__name__}: {exc}")
            raise
        await self._finish(row, broadcasts.SENT, None)

    def _text(self, t: Texts, content: Content) -> str:
        """The broadcast's own text; an automation's comes from the catalogue."""
        if content.text.strip() or content.kind == "manual":
            return content.text
        return t(
            f"auto-{content.kind}",
            coupon=html.escape(content.discount or ""),
            days=self.policy.automations.coupon_days,
        )

    async def _finish(self, row: Claimed, status: str, error: str | None) -> None:
        async with self.sf() as s:
            await broadcasts.finish_send(
                s,
                int(row.payload["broadcast_id"]),
                int(row.chat_id or 0),
                status=status,
                now=self.clock(),
                error=error[:500] if error else None,
            )

    async def on_blocked(self, row: Claimed, error: str) -> None:
        await self._finish(row, broadcasts.BLOCKED, error)
        async with self.sf() as s:
            await set_blocked(s, user_id=int(row.chat_id or 0), blocked=True, now=self.clock())
            await s.commit()

    async def on_failed(self, row: Claimed, error: str) -> None:
        await self._finish(row, broadcasts.FAILED, error)

    # --- the manager's progress message and report -----------------------------------------

    async def _state(self, row: Claimed) -> tuple[int, Progress, Broadcast, Texts]:
        broadcast_id = int(row.payload["broadcast_id"])
        async with self.sf() as s:
            state = await broadcasts.progress(s, broadcast_id)
            bc = await s.get(Broadcast, broadcast_id)
            lang = None
            if bc is not None and bc.created_by is not None:
                lang = (
                    await s.execute(
                        select(User.language, User.language_code).where(User.id == bc.created_by)
                    )
                ).one_or_none()
            await s.commit()
        if state is None or bc is None:
            raise ObsoleteRow("broadcast gone")
        return broadcast_id, state, bc, self._texts(*(lang or (None, None)))

    async def progress(self, row: Claimed) -> None:
        broadcast_id, state, bc, t = await self._state(row)
        if state.status != broadcasts.SENDING:
            raise ObsoleteRow("finished: the report follows")
        text = render_progress(t, broadcast_id, state, self.clock())
        await self._show(row, bc, text, cancel_keyboard(t, broadcast_id))

    async def report(self, row: Claimed) -> None:
        broadcast_id, state, bc, t = await self._state(row)
        await self._show(row, bc, render_report(t, broadcast_id, state), None)

    async def _show(
        self, row: Claimed, bc: Broadcast, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Edit the progress message; send one when there is none (or it was deleted)."""
        assert row.chat_id is not None
        if bc.progress_message_id is not None:
            try:
                await self.bot.edit_message_text(
                    text=text,
                    chat_id=row.chat_id,
                    message_id=bc.progress_message_id,
                    reply_markup=markup,
                )
                return
            except TelegramBadRequest as exc:
                if "not found" not in exc.message.lower():
                    raise
        sent = await self.bot.send_message(row.chat_id, text, reply_markup=markup)
        async with self.sf() as s:
            await s.execute(
                update(Broadcast)
                .where(Broadcast.id == bc.id)
                .values(progress_message_id=sent.message_id)
            )
            await s.commit()
