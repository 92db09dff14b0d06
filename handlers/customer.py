"""The customer's private chat: greeting, menu, free-text questions, feedback, a human."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from faq import Matcher
from handlers.filters import HasText, MenuButton, PrivateChat, SlashCommand
from support import assistant
from support.tickets import DeskPolicy, HandoffReason, open_ticket
from views import keyboards as kb
from views.callbacks import Feedback, PickAnswer, SetLanguage, TalkToHuman
from views.render import render_entry, render_human, render_reply
from views.texts import Catalogue, Texts

# Menu buttons open these FAQ entries (by id in the knowledge base).
MENU_TOPICS = {
    "menu-size": "size_guide",
    "menu-shipping": "shipping_time",
    "menu-returns": "return_policy",
    "menu-orders": "order_tracking",
}


def create_router(
    catalogue: Catalogue, *, misses_before_handoff: int, policy: DeskPolicy
) -> Router:
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    labels = {
        catalogue.get(lang, key): key for key in kb.MENU_KEYS for lang in catalogue.languages
    }

    @router.message(CommandStart())
    async def cmd_start(message: Message, event_from_user: User, texts: Texts) -> None:
        await message.answer(
            texts("start-greeting", name=event_from_user.first_name),
            reply_markup=kb.main_menu(texts),
        )

    @router.message(Command("help"))
    async def cmd_help(message: Message, texts: Texts) -> None:
        await message.answer(texts("help-text"), reply_markup=kb.main_menu(texts))

    @router.message(Command("language"))
    async def cmd_language(message: Message, texts: Texts) -> None:
        await message.answer(texts("language-choose"), reply_markup=kb.languages())

    async def hand_off(
        session: AsyncSession, user_id: int, reason: HandoffReason, texts: Texts, now: datetime
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        result = await open_ticket(
            session,
            policy,
            user_id=user_id,
            reason=reason,
            question=None,
            lang=texts.lang,
            now=now,
        )
        text = render_human(texts, result, reason, desk=policy.enabled)
        return text, kb.close_ticket(texts, result.ticket_id) if policy.enabled else None

    @router.message(Command("human"))
    async def cmd_human(
        message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
    ) -> None:
        text, markup = await hand_off(
            session, event_from_user.id, HandoffReason.COMMAND, texts, now
        )
        await message.answer(text, reply_markup=markup)

    @router.message(MenuButton(labels))
    async def on_menu(
        message: Message,
        menu_action: str,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        matcher: Matcher,
        now: datetime,
    ) -> None:
        if menu_action == "menu-language":
            await message.answer(texts("language-choose"), reply_markup=kb.languages())
            return
        if menu_action == "menu-human":
            text, markup = await hand_off(
                session, event_from_user.id, HandoffReason.BUTTON, texts, now
            )
            await message.answer(text, reply_markup=markup)
            return
        shown = await assistant.show_topic(
            session,
            matcher=matcher,
            user_id=event_from_user.id,
            entry_id=MENU_TOPICS[menu_action],
            lang=texts.lang,
            now=now,
        )
        if shown.entry is None or shown.interaction_id is None:
            await message.answer(texts("menu-topic-missing"), reply_markup=kb.human_button(texts))
            return
        await message.answer(
            render_entry(shown.entry, texts.lang),
            reply_markup=kb.feedback(texts, shown.interaction_id),
        )

    @router.message(SlashCommand())
    async def on_unknown_command(message: Message, texts: Texts) -> None:
        await message.answer(texts("unknown-command"))

    @router.message(HasText())
    async def on_question(
        message: Message,
        session: AsyncSession,
        event_from_user: User,
        matcher: Matcher,
        texts: Texts,
        lang_override: str | None,
        now: datetime,
    ) -> None:
        reply = await assistant.ask(
            session,
            matcher=matcher,
            user_id=event_from_user.id,
            text=message.text or "",
            now=now,
            policy=policy,
            lang=lang_override,
            misses_before_handoff=misses_before_handoff,
        )
        # Answer in the customer's chosen language, else in the language they wrote in.
        texts = catalogue.for_lang(lang_override or reply.lang or texts.lang)
        text, markup = render_reply(texts, reply, desk=policy.enabled)
        await message.answer(text, reply_markup=markup)

    @router.message()
    async def on_not_text(message: Message, texts: Texts) -> None:
        """Stickers, photos, voice, files, locations...: we can only read text for now."""
        await message.answer(texts("non-text"), reply_markup=kb.human_button(texts))

    @router.callback_query(Feedback.filter())
    async def cb_feedback(
        query: CallbackQuery,
        bot: Bot,
        callback_data: Feedback,
        session: AsyncSession,
        event_from_user: User,
        matcher: Matcher,
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
        status = result.status
        if status is assistant.FeedbackStatus.NOT_FOUND:
            await query.answer(texts("stale-button"), show_alert=True)
            return
        if status is assistant.FeedbackStatus.ALREADY:
            await query.answer(texts("feedback-already"))
            return
        await query.answer(texts("feedback-thanks"))
        if query.message is not None:
            await bot.edit_message_reply_markup(
                chat_id=query.message.chat.id, message_id=query.message.message_id
            )
        if status is assistant.FeedbackStatus.ALTERNATIVES and result.interaction_id:
            await bot.send_message(
                event_from_user.id,
                texts("feedback-sorry-alternatives"),
                reply_markup=kb.candidates(
                    texts, result.interaction_id, result.alternatives, texts.lang
                ),
            )
        elif status is assistant.FeedbackStatus.NO_ALTERNATIVE:
            await bot.send_message(
                event_from_user.id,
                texts("feedback-sorry-human"),
                reply_markup=kb.human_button(texts, "feedback"),
            )

    @router.callback_query(PickAnswer.filter())
    async def cb_pick(
        query: CallbackQuery,
        bot: Bot,
        callback_data: PickAnswer,
        session: AsyncSession,
        event_from_user: User,
        matcher: Matcher,
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
            reply_markup=kb.feedback(texts, picked.interaction_id),
        )

    @router.callback_query(TalkToHuman.filter())
    async def cb_human(
        query: CallbackQuery,
        bot: Bot,
        callback_data: TalkToHuman,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        reason = (
            HandoffReason.FEEDBACK if callback_data.source == "feedback" else HandoffReason.BUTTON
        )
        text, markup = await hand_off(session, event_from_user.id, reason, texts, now)
        await query.answer()
        await bot.send_message(event_from_user.id, text, reply_markup=markup)

    @router.callback_query(SetLanguage.filter())
    async def cb_language(
        query: CallbackQuery,
        bot: Bot,
        callback_data: SetLanguage,
        session: AsyncSession,
        event_from_user: User,
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
            event_from_user.id, chosen("language-set"), reply_markup=kb.main_menu(chosen)
        )

    @router.callback_query()
    async def cb_unknown(query: CallbackQuery, texts: Texts) -> None:
        """Old, foreign or forged callback data."""
        await query.answer(texts("stale-button"), show_alert=True)

    return router
