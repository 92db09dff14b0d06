"""Taps that teach the FAQ (support.learning): in the support group, the offer a ticket's
close made to its agents; in an admin's private chat, /unanswered triage.

Each tap calls one use case, which stores what was learned and rebuilds the matcher in use
before the message is edited into what happened. Forged or stale data gets a polite alert:
data that does not read (StaleButton), and ids or entries the database does not know
(the use case's status)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, User
from sqlalchemy.ext.asyncio import AsyncSession

from faq import LiveMatcher
from handlers.buttons import StaleButton, Tapped
from handlers.deps import ChatOptions
from handlers.filters import IsAdmin, PrivateChat, SupportChat
from handlers.support_group import agent_of, agents_texts
from support import learning
from support.learning import LearnResult, LearnStatus
from support.tickets import DeskPolicy
from views import learning as learning_views
from views.callbacks import (
    AttachQuestion,
    HandQuestion,
    IgnoreQuestion,
    MoreQuestions,
    TeachEntry,
    TeachNew,
)
from views.texts import Catalogue, Texts

TRIAGE_SHOWN = 5  # questions per /unanswered page: one message each
TRIAGE_DAYS = 7
DONE = frozenset({LearnStatus.LEARNED, LearnStatus.IGNORED, LearnStatus.HANDED})

router = Router(name=__name__)
desk = Router(name=f"{__name__}.desk")
desk.callback_query.filter(SupportChat())
triage = Router(name=f"{__name__}.triage")
triage.callback_query.filter(PrivateChat(), IsAdmin())
router.include_routers(desk, triage)


async def show(query: CallbackQuery, bot: Bot, text: str, result: LearnResult) -> None:
    """What a tap did is edited into the message (its buttons go); anything else (done
    before, stale, refused) is an alert, and the message stays as it is."""
    if result.status not in DONE or query.message is None:
        await query.answer(text[:200], show_alert=True)
        return
    await query.answer()
    try:
        await bot.edit_message_text(
            text, chat_id=query.message.chat.id, message_id=query.message.message_id
        )
    except TelegramBadRequest:  # the message is too old to edit, or says this already
        await bot.send_message(query.message.chat.id, text)


# --- the desk ----------------------------------------------------------------------------


@desk.callback_query(Tapped(TeachEntry))
async def cb_teach_entry(
    query: CallbackQuery,
    bot: Bot,
    callback_data: TeachEntry,
    session: AsyncSession,
    event_from_user: User,
    matcher: LiveMatcher,
    catalogue: Catalogue,
    options: ChatOptions,
    now: datetime,
) -> None:
    result = await learning.attach_from_ticket(
        session,
        matcher,
        ticket_id=callback_data.ticket,
        entry_id=callback_data.entry,
        agent=agent_of(event_from_user),
        now=now,
    )
    t = agents_texts(catalogue, options)
    await show(query, bot, learning_views.learn_answer(t, result, matcher.kb), result)


@desk.callback_query(Tapped(TeachNew))
async def cb_teach_new(
    query: CallbackQuery,
    bot: Bot,
    callback_data: TeachNew,
    session: AsyncSession,
    event_from_user: User,
    matcher: LiveMatcher,
    catalogue: Catalogue,
    options: ChatOptions,
    now: datetime,
) -> None:
    result = await learning.entry_from_ticket(
        session,
        matcher,
        ticket_id=callback_data.ticket,
        agent=agent_of(event_from_user),
        now=now,
    )
    t = agents_texts(catalogue, options)
    await show(query, bot, learning_views.learn_answer(t, result, matcher.kb), result)


@desk.callback_query(StaleButton(TeachEntry, TeachNew))
async def cb_desk_stale(query: CallbackQuery, catalogue: Catalogue, options: ChatOptions) -> None:
    await query.answer(agents_texts(catalogue, options)("learn-stale-button"), show_alert=True)


# --- /unanswered triage (admins, private chat) ---------------------------------------------


async def send_page(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    matcher: LiveMatcher,
    t: Texts,
    now: datetime,
    offset: int,
) -> None:
    """A title, then one message per question with its buttons (the last one offers more)."""
    page = await learning.triage_page(
        session,
        matcher,
        since=now - timedelta(days=TRIAGE_DAYS),
        limit=TRIAGE_SHOWN,
        offset=offset,
    )
    await bot.send_message(chat_id, learning_views.triage_title(t, page))
    shown = page.offset + len(page.items)
    for i, item in enumerate(page.items):
        last = i == len(page.items) - 1
        more = shown if last and shown < page.total else None
        text, markup = learning_views.triage_item(t, item, more=more)
        await bot.send_message(chat_id, text, reply_markup=markup)


@triage.callback_query(Tapped(MoreQuestions, offset=(0, 1_000_000)))
async def cb_more(
    query: CallbackQuery,
    bot: Bot,
    callback_data: MoreQuestions,
    session: AsyncSession,
    matcher: LiveMatcher,
    texts: Texts,
    now: datetime,
) -> None:
    await query.answer()
    if query.message is not None:
        await send_page(
            bot, query.message.chat.id, session, matcher, texts, now, callback_data.offset
        )


@triage.callback_query(Tapped(AttachQuestion))
async def cb_attach(
    query: CallbackQuery,
    bot: Bot,
    callback_data: AttachQuestion,
    session: AsyncSession,
    event_from_user: User,
    matcher: LiveMatcher,
    texts: Texts,
    now: datetime,
) -> None:
    result = await learning.attach_question(
        session,
        matcher,
        question_id=callback_data.question,
        entry_id=callback_data.entry,
        admin_id=event_from_user.id,
        now=now,
    )
    await show(query, bot, learning_views.learn_answer(texts, result, matcher.kb), result)


@triage.callback_query(Tapped(IgnoreQuestion))
async def cb_ignore(
    query: CallbackQuery,
    bot: Bot,
    callback_data: IgnoreQuestion,
    session: AsyncSession,
    event_from_user: User,
    matcher: LiveMatcher,
    texts: Texts,
    now: datetime,
) -> None:
    result = await learning.ignore_question(
        session, question_id=callback_data.question, admin_id=event_from_user.id, now=now
    )
    await show(query, bot, learning_views.learn_answer(texts, result, matcher.kb), result)


@triage.callback_query(Tapped(HandQuestion))
async def cb_hand(
    query: CallbackQuery,
    bot: Bot,
    callback_data: HandQuestion,
    session: AsyncSession,
    event_from_user: User,
    matcher: LiveMatcher,
    desk: DeskPolicy,
    texts: Texts,
    now: datetime,
) -> None:
    result = await learning.hand_question(
        session, desk, question_id=callback_data.question, admin_id=event_from_user.id, now=now
    )
    await show(query, bot, learning_views.learn_answer(texts, result, matcher.kb), result)


@triage.callback_query(StaleButton(AttachQuestion, IgnoreQuestion, HandQuestion, MoreQuestions))
async def cb_triage_stale(query: CallbackQuery, texts: Texts) -> None:
    await query.answer(texts("learn-stale-button"), show_alert=True)
