"""The customer's side of the desk: while a ticket is open, everything goes to the agents.

This router sits before the FAQ router. Its filter lets a message through only when the
customer has an open ticket, a recently closed one (reopen or new ticket), or a rating
comment is awaited; commands and menu buttons always go on to the FAQ router.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.filters import PrivateChat
from support import relay, tickets
from support.tickets import DeskPolicy, HandoffReason, TicketOutcome
from views import keyboards as kb
from views.callbacks import CloseTicket, Rate, SkipComment
from views.render import incoming, render_human
from views.texts import Catalogue, Texts


class DeskCustomer(Filter):
    """Passes customers whose message belongs to the desk, with `desk_ticket` and `follow`."""

    def __init__(self, policy: DeskPolicy, labels: frozenset[str]) -> None:
        self.policy = policy
        self.labels = labels

    async def __call__(
        self, message: Message, session: AsyncSession, now: datetime
    ) -> bool | dict[str, Any]:
        if not self.policy.enabled or message.from_user is None:
            return False
        text = message.text or ""
        if text.startswith("/") or text in self.labels:
            return False
        view = await tickets.latest_ticket(session, message.from_user.id, now)
        follow = tickets.follow_up(view, self.policy, now)
        comment = view is not None and view.csat_comment_open and message.text is not None
        if follow is None and not comment:
            await session.rollback()
            return False
        return {"desk_ticket": view, "follow": "comment" if comment else follow}


async def mirror_edit(
    message: Message, session: AsyncSession, policy: DeskPolicy, now: datetime
) -> None:
    """An edited message, from a customer or an agent: the other side's copy follows."""
    msg = incoming(message)
    await relay.edited(
        session,
        policy,
        chat_id=msg.chat_id,
        message_id=message.message_id,
        text=msg.text,
        entities=msg.entities,
        now=now,
    )


def create_router(catalogue: Catalogue, policy: DeskPolicy) -> Router:
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    labels = frozenset(
        catalogue.get(lang, key) for key in kb.MENU_KEYS for lang in catalogue.languages
    )

    @router.message(DeskCustomer(policy, labels))
    async def on_message(
        message: Message,
        session: AsyncSession,
        event_from_user: User,
        desk_ticket: tickets.TicketView,
        follow: str,
        texts: Texts,
        now: datetime,
    ) -> None:
        user_id = event_from_user.id
        if follow == "comment":
            await tickets.comment(session, policy, user_id=user_id, text=message.text, now=now)
            await message.answer(texts("csat-comment-thanks"))
            return
        ticket_id: int | None = desk_ticket.id
        notice: str | None = None
        if follow == "reopen":
            ticket_id = await tickets.reopen_for_message(session, policy, user_id=user_id, now=now)
            notice = texts("ticket-reopened")
        elif follow == "new":
            opened = await tickets.open_ticket(
                session,
                policy,
                user_id=user_id,
                reason=HandoffReason.FOLLOWUP,
                question=message.text or message.caption,
                lang=texts.lang,
                now=now,
            )
            ticket_id = opened.ticket_id
            notice = (
                texts("ticket-new-after-close")
                + "\n"
                + render_human(texts, opened, HandoffReason.FOLLOWUP, desk=True)
            )
        if ticket_id is None:  # the reopen lost a race with a new ticket: use the latest
            view = await tickets.latest_ticket(session, user_id, now)
            ticket_id = view.id if view else None
        if ticket_id is None:
            return
        await relay.from_customer(
            session, policy, ticket_id=ticket_id, msg=incoming(message), now=now
        )
        if notice:
            await message.answer(notice, reply_markup=kb.close_ticket(texts, ticket_id))

    @router.edited_message()
    async def on_edit(message: Message, session: AsyncSession, now: datetime) -> None:
        await mirror_edit(message, session, policy, now)

    @router.callback_query(CloseTicket.filter())
    async def cb_close(
        query: CallbackQuery,
        bot: Bot,
        callback_data: CloseTicket,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        result = await tickets.close(
            session,
            policy,
            ticket_id=callback_data.ticket,
            by_kind="customer",
            by_id=event_from_user.id,
            note=None,
            now=now,
            customer_id=event_from_user.id,
        )
        if result.outcome is TicketOutcome.NOT_FOUND:
            await query.answer(texts("stale-button"), show_alert=True)
            return
        if result.outcome is TicketOutcome.ALREADY:
            await query.answer(texts("ticket-close-already"))
            return
        await query.answer()
        await bot.send_message(
            event_from_user.id,
            texts("ticket-closed-by-you"),
            reply_markup=kb.csat(callback_data.ticket),
        )

    @router.callback_query(Rate.filter())
    async def cb_rate(
        query: CallbackQuery,
        bot: Bot,
        callback_data: Rate,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        outcome = await tickets.rate(
            session,
            policy,
            ticket_id=callback_data.ticket,
            user_id=event_from_user.id,
            score=callback_data.score,
            now=now,
        )
        if outcome is TicketOutcome.NOT_FOUND:
            await query.answer(texts("stale-button"), show_alert=True)
            return
        if outcome is TicketOutcome.ALREADY:
            await query.answer(texts("csat-already"))
            return
        await query.answer("⭐" * callback_data.score)
        if query.message is not None:
            await bot.edit_message_reply_markup(
                chat_id=query.message.chat.id, message_id=query.message.message_id
            )
        await bot.send_message(
            event_from_user.id,
            texts("csat-thanks"),
            reply_markup=kb.skip_comment(texts, callback_data.ticket),
        )

    @router.callback_query(SkipComment.filter())
    async def cb_skip(
        query: CallbackQuery,
        bot: Bot,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        outcome = await tickets.comment(
            session, policy, user_id=event_from_user.id, text=None, now=now
        )
        await query.answer(texts("csat-skipped") if outcome is TicketOutcome.DONE else None)
        if query.message is not None:
            await bot.edit_message_reply_markup(
                chat_id=query.message.chat.id, message_id=query.message.message_id
            )

    return router
