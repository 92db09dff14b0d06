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

from handlers.buttons import StaleButton, Tapped
from handlers.filters import PrivateChat
from support import relay, tickets
from support.tickets import CustomerRoute, DeskPolicy, TicketOutcome
from views import desk as desk_views
from views import keyboards
from views.callbacks import CloseTicket, Rate, SkipComment
from views.render import incoming
from views.texts import Catalogue, Texts

router = Router(name=__name__)
router.message.filter(PrivateChat())
router.edited_message.filter(PrivateChat())
router.callback_query.filter(PrivateChat())


class DeskCustomer(Filter):
    """Passes customers whose message belongs to the desk, with `desk_route`."""

    async def __call__(
        self,
        message: Message,
        session: AsyncSession,
        desk: DeskPolicy,
        catalogue: Catalogue,
        now: datetime,
    ) -> bool | dict[str, Any]:
        if message.from_user is None:
            return False
        text = message.text or ""
        if text.startswith("/") or text in keyboards.menu_labels(catalogue):
            return False
        route = await tickets.route_customer(
            session, desk, user_id=message.from_user.id, has_text=message.text is not None, now=now
        )
        return False if route is None else {"desk_route": route}


@router.message(DeskCustomer())
async def on_message(
    message: Message,
    session: AsyncSession,
    desk_route: CustomerRoute,
    desk: DeskPolicy,
    texts: Texts,
    now: datetime,
) -> None:
    wrote = await relay.customer_wrote(
        session, desk, route=desk_route, msg=incoming(message), lang=texts.lang, now=now
    )
    if wrote.comment:
        await message.answer(texts("csat-comment-thanks"))
        return
    notice = desk_views.follow_up_notice(texts, wrote)
    if notice and wrote.ticket_id is not None:
        await message.answer(notice, reply_markup=keyboards.close_ticket(texts, wrote.ticket_id))


@router.edited_message()
async def on_edit(
    message: Message, session: AsyncSession, desk: DeskPolicy, now: datetime
) -> None:
    """An edited message of the customer's: the agents' copy follows."""
    await relay.edited(session, desk, msg=incoming(message), now=now)


@router.callback_query(Tapped(CloseTicket))
async def cb_close(
    query: CallbackQuery,
    bot: Bot,
    callback_data: CloseTicket,
    session: AsyncSession,
    event_from_user: User,
    desk: DeskPolicy,
    texts: Texts,
    now: datetime,
) -> None:
    result = await tickets.close(
        session,
        desk,
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
        reply_markup=keyboards.csat(callback_data.ticket),
    )


@router.callback_query(Tapped(Rate, score=(1, 5)))
async def cb_rate(
    query: CallbackQuery,
    bot: Bot,
    callback_data: Rate,
    session: AsyncSession,
    event_from_user: User,
    desk: DeskPolicy,
    texts: Texts,
    now: datetime,
) -> None:
    outcome = await tickets.rate(
        session,
        desk,
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
        reply_markup=keyboards.skip_comment(texts, callback_data.ticket),
    )


@router.callback_query(Tapped(SkipComment))
async def cb_skip(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    event_from_user: User,
    desk: DeskPolicy,
    texts: Texts,
    now: datetime,
) -> None:
    outcome = await tickets.comment(session, desk, user_id=event_from_user.id, text=None, now=now)
    await query.answer(texts("csat-skipped") if outcome is TicketOutcome.DONE else None)
    if query.message is not None:
        await bot.edit_message_reply_markup(
            chat_id=query.message.chat.id, message_id=query.message.message_id
        )


@router.callback_query(StaleButton(CloseTicket, Rate, SkipComment))
async def cb_stale(query: CallbackQuery, texts: Texts) -> None:
    """A desk button whose data does not read (forged, or from an older version)."""
    await query.answer(texts("stale-button"), show_alert=True)
