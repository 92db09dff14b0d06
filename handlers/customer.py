"""The customer's private chat: greeting, menu, free-text questions, feedback, a human."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from faq import FaqMatcher
from handlers.deps import ChatOptions, Tally
from handlers.filters import HasText, MenuButton, PrivateChat, SlashCommand
from support import assistant
from support.tickets import DeskPolicy, HandoffReason
from views import keyboards
from views.callbacks import Feedback, PickAnswer, SetLanguage, TalkToHuman
from views.render import render_entry, render_feedback_follow_up, render_handoff, render_reply
from views.texts import Catalogue, Texts

# Menu buttons open these FAQ entries (by id in the knowledge base).
MENU_TOPICS = {
    "menu-size": "size_guide",
    "menu-shipping": "shipping_time",
    "menu-returns": "return_policy",
    "menu-orders": "order_tracking",
}

router = Router(name=__name__)
router.message.filter(PrivateChat())
router.callback_query.filter(PrivateChat())


@router.message(CommandStart())
async def cmd_start(message: Message, event_from_user: User, texts: Texts) -> None:
    await message.answer(
        texts("start-greeting", name=event_from_user.first_name),
        reply_markup=keyboards.main_menu(texts),
    )


@router.message(Command("help"))
async def cmd_help(message: Message, texts: Texts) -> None:
    await message.answer(texts("help-text"), reply_markup=keyboards.main_menu(texts))


@router.message(Command("language"))
async def cmd_language(message: Message, texts: Texts) -> None:
    await message.answer(texts("language-choose"), reply_markup=keyboards.languages())


@router.message(Command("human"))
async def cmd_human(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    reason = HandoffReason.COMMAND
    result = await assistant.request_human(
        session, desk=desk, user_id=event_from_user.id, reason=reason, lang=texts.lang, now=now
    )
    text, markup = render_handoff(texts, result, reason, desk=desk.enabled)
    await message.answer(text, reply_markup=markup)


@router.message(MenuButton())
async def on_menu(
    message: Message,
    menu_action: str,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    matcher: FaqMatcher,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    if menu_action == "menu-language":
        await message.answer(texts("language-choose"), reply_markup=keyboards.languages())
        return
    user_id = event_from_user.id
    if menu_action == "menu-human":
        reason = HandoffReason.BUTTON
        result = await assistant.request_human(
            session, desk=desk, user_id=user_id, reason=reason, lang=texts.lang, now=now
        )
        text, markup = render_handoff(texts, result, reason, desk=desk.enabled)
        await message.answer(text, reply_markup=markup)
        return
    entry_id = MENU_TOPICS[menu_action]
    shown = await assistant.show_topic(
        session, matcher=matcher, user_id=user_id, entry_id=entry_id, lang=texts.lang, now=now
    )
    if shown.entry is None or shown.interaction_id is None:
        missing = texts("menu-topic-missing")
        await message.answer(missing, reply_markup=keyboards.human_button(texts))
        return
    await message.answer(
        render_entry(shown.entry, texts.lang),
        reply_markup=keyboards.feedback(texts, shown.interaction_id),
    )


@router.message(SlashCommand())
async def on_unknown_command(message: Message, texts: Texts) -> None:
    await message.answer(texts("unknown-command"))


@router.message(HasText())
async def on_question(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    matcher: FaqMatcher,
    catalogue: Catalogue,
    desk: DeskPolicy,
    options: ChatOptions,
    texts: Texts,
    lang_override: str | None,
    now: datetime,
    faq_outcomes: Tally,
) -> None:
    reply = await assistant.ask(
        session,
        matcher=matcher,
        user_id=event_from_user.id,
        text=message.text or "",
        now=now,
        desk=desk,
        lang=lang_override,
        usual_lang=texts.lang,
        misses_before_handoff=options.misses_before_handoff,
    )
    faq_outcomes(reply.kind.value)
    # Answer in the customer's chosen language, else in the language they wrote in (a
    # message without words keeps the language they last wrote in).
    texts = catalogue.for_lang(lang_override or reply.lang or texts.lang)
    text, markup = render_reply(texts, reply, desk=desk.enabled)
    await message.answer(text, reply_markup=markup)


@router.message()
async def on_not_text(message: Message, texts: Texts) -> None:
    """Stickers, photos, voice, files, locations...: we can only read text for now."""
    await message.answer(texts("non-text"), reply_markup=keyboards.human_button(texts))


@router.callback_query(Feedback.filter())
async def cb_feedback(
    query: CallbackQuery,
    bot: Bot,
    callback_data: Feedback,
    session: AsyncSession,
    event_from_user: User,
    matcher: FaqMatcher,
    catalogue: Catalogue,
    lang_override: str | None,
    now: datetime,
) -> None:
    result = await assistant.give_feedback(
        session,
        matcher=matcher,
        user_id=event_from_user.id,
        interaction_id=callback_data.interaction,
        helpful=callback_data.helpful,
        now=now,
    )
    texts = catalogue.for_lang(lang_override or result.lang)
    if result.status is assistant.FeedbackStatus.NOT_FOUND:
        await query.answer(texts("stale-button"), show_alert=True)
        return
    if result.status is assistant.FeedbackStatus.ALREADY:
        await query.answer(texts("feedback-already"))
        return
    await query.answer(texts("feedback-thanks"))
    if query.message is not None:
        await bot.edit_message_reply_markup(
            chat_id=query.message.chat.id, message_id=query.message.message_id
        )
    follow_up = render_feedback_follow_up(texts, result)
    if follow_up is not None:
        text, markup = follow_up
        await bot.send_message(event_from_user.id, text, reply_markup=markup)


@router.callback_query(PickAnswer.filter())
async def cb_pick(
    query: CallbackQuery,
    bot: Bot,
    callback_data: PickAnswer,
    session: AsyncSession,
    event_from_user: User,
    matcher: FaqMatcher,
    catalogue: Catalogue,
    lang_override: str | None,
    now: datetime,
) -> None:
    picked = await assistant.pick_candidate(
        session,
        matcher=matcher,
        user_id=event_from_user.id,
        interaction_id=callback_data.interaction,
        entry_id=callback_data.entry,
        now=now,
    )
    texts = catalogue.for_lang(lang_override or picked.lang)
    if picked.entry is None or picked.interaction_id is None:
        await query.answer(texts("stale-button"), show_alert=True)
        return
    await query.answer()
    await bot.send_message(
        event_from_user.id,
        render_entry(picked.entry, texts.lang),
        reply_markup=keyboards.feedback(texts, picked.interaction_id),
    )


@router.callback_query(TalkToHuman.filter())
async def cb_human(
    query: CallbackQuery,
    bot: Bot,
    callback_data: TalkToHuman,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    feedback = callback_data.source == "feedback"
    reason = HandoffReason.FEEDBACK if feedback else HandoffReason.BUTTON
    user_id = event_from_user.id
    result = await assistant.request_human(
        session, desk=desk, user_id=user_id, reason=reason, lang=texts.lang, now=now
    )
    text, markup = render_handoff(texts, result, reason, desk=desk.enabled)
    await query.answer()
    await bot.send_message(user_id, text, reply_markup=markup)


@router.callback_query(SetLanguage.filter())
async def cb_language(
    query: CallbackQuery,
    bot: Bot,
    callback_data: SetLanguage,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    texts: Texts,
) -> None:
    ok = await assistant.choose_language(
        session, user_id=event_from_user.id, lang=callback_data.lang
    )
    if not ok:
        await query.answer(texts("stale-button"), show_alert=True)
        return
    chosen = catalogue.for_lang(callback_data.lang)
    await query.answer()
    await bot.send_message(
        event_from_user.id, chosen("language-set"), reply_markup=keyboards.main_menu(chosen)
    )


@router.callback_query()
async def cb_unknown(query: CallbackQuery, texts: Texts) -> None:
    """Old, foreign or forged callback data."""
    await query.answer(texts("stale-button"), show_alert=True)
