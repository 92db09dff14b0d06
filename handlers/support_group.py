"""The agents' side of the desk, in the support group (SUPPORT_CHAT_ID).

Topics mode: a message in a customer's topic answers that customer. Reply mode: a reply to
the ticket card or to a relayed message answers its customer; other messages are team chat.
`!text` and `/note text` are private notes. Replies to the agents' own actions are short
and, for buttons, toasts: the group can take only about 20 messages a minute.
Each handler calls one use case of support.agents (or support.relay / tickets / replies).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message, ReactionTypeEmoji, ReplyParameters, User
from sqlalchemy.ext.asyncio import AsyncSession

from faq import LiveMatcher
from handlers.buttons import StaleButton, Tapped
from handlers.deps import ChatOptions
from handlers.filters import SupportChat
from storage.numbers import INT64_MAX, NumberError, read_id
from support import agents, learning, relay, replies, tickets
from support.agents import AgentOutcome, AgentRef, AgentWrote, CannedStatus, Place
from support.canned import BadKey, UnknownVariable
from support.tickets import DeskPolicy, TicketOutcome
from views import desk as desk_views
from views import keyboards
from views import learning as learning_views
from views.callbacks import TakeTicket, TransferMenu, TransferTo, UseCanned
from views.render import incoming
from views.texts import Catalogue, Texts

SERVICE_KINDS = frozenset({
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
    "general_forum_topic_hidden", "general_forum_topic_unhidden", "new_chat_members",
    "left_chat_member", "pinned_message", "new_chat_title", "new_chat_photo",
    "delete_chat_photo", "message_auto_delete_timer_changed", "video_chat_started",
    "video_chat_ended", "video_chat_scheduled", "video_chat_participants_invited",
})  # fmt: skip


ANONYMOUS_ADMIN = 1087968824  # Telegram's GroupAnonymousBot
NOTE_REACTION = "✍"  # a saved note

router = Router(name=__name__)
router.message.filter(SupportChat())
router.edited_message.filter(SupportChat())
router.callback_query.filter(SupportChat())


def agents_texts(catalogue: Catalogue, options: ChatOptions) -> Texts:
    """Agents read the desk in SUPPORT_LANGUAGE, whoever the customer is."""
    return catalogue.for_lang(options.agents_language)


def agent_of(user: User) -> AgentRef:
    return AgentRef(user_id=user.id, name=user.full_name or str(user.id), username=user.username)


def place_of(message: Message, options: ChatOptions) -> Place:
    """Where the message was written: its topic (topics mode) or what it replies to."""
    if options.topics:
        thread = message.message_thread_id if message.is_topic_message else None
        return Place(message.chat.id, thread_id=thread)
    reply = message.reply_to_message
    return Place(message.chat.id, reply_to=reply.message_id if reply else None)


# --- canned replies (admins manage, agents use) --------------------------------------------


@router.message(Command("canned"))
async def cmd_canned(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    admin_ids: tuple[int, ...],
    now: datetime,
) -> None:
    t = agents_texts(catalogue, options)
    parts = (command.args or "").split(maxsplit=1)
    action = parts[0].lower() if parts else "list"
    rest = parts[1] if len(parts) > 1 else ""
    if action == "list":
        rows = await replies.all_replies(session)
        await message.reply(desk_views.canned_list(t, rows) if rows else t("canned-none"))
    elif event_from_user.id not in admin_ids:
        await message.reply(t("canned-admins-only"))
    elif action == "remove" and rest.strip():
        await message.reply(await canned_remove(session, t, rest.split()[0]))
    elif action == "add" and len(rest.split(maxsplit=1)) == 2:
        await message.reply(await canned_add(session, t, rest, event_from_user.id, now))
    else:
        await message.reply(t("canned-usage"))


async def canned_add(session: AsyncSession, t: Texts, rest: str, by: int, now: datetime) -> str:
    """`/canned add key [zh|en|*] text`: what the admin is told."""
    words = rest.split(maxsplit=2)
    key, lang, text = words[0], replies.ANY_LANG, rest.split(maxsplit=1)[1]
    if words[1] in ("zh", "en", "*") and len(words) == 3:
        lang, text = words[1], words[2]
    try:
        key = await replies.save(session, key=key, lang=lang, text=text, by=by, now=now)
    except BadKey:
        return t("canned-bad-key", code=key[:40])
    except UnknownVariable as exc:
        return t("canned-unknown-var", names=", ".join(exc.names))
    except ValueError as exc:
        return f"{t('canned-usage')}\n{exc}"
    return t("canned-added", code=key, language=lang)


async def canned_remove(session: AsyncSession, t: Texts, key: str) -> str:
    try:
        await replies.remove(session, key=key)
    except BadKey:
        return t("canned-bad-key", code=key[:40])
    return t("canned-removed", code=key.lower())


@router.message(Command("c"))
async def cmd_c(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    t = agents_texts(catalogue, options)
    key = (command.args or "").strip()
    place = place_of(message, options)
    if not key:
        menu = await agents.canned_menu(session, place)
        if menu.ticket_id is None:
            await message.reply(t("desk-command-here"))
        elif not menu.keys:
            await message.reply(t("canned-none"))
        else:
            markup = keyboards.canned_choices(menu.ticket_id, list(menu.keys))
            await message.reply(t("canned-choose"), reply_markup=markup)
        return
    result = await agents.send_canned(
        session,
        desk,
        where=place,
        key=key,
        agent=agent_of(event_from_user),
        source=(message.chat.id, message.message_id),
        shop_name=options.shop_name,
        now=now,
    )
    await message.reply(desk_views.canned_answer(t, result))


@router.callback_query(Tapped(UseCanned))
async def cb_canned(
    query: CallbackQuery,
    callback_data: UseCanned,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    t = agents_texts(catalogue, options)
    if query.message is None:
        await query.answer(t("ticket-not-found"), show_alert=True)
        return
    result = await agents.send_canned(
        session,
        desk,
        where=callback_data.ticket,
        key=callback_data.key,
        agent=agent_of(event_from_user),
        source=(query.message.chat.id, None),  # a tap: nothing to copy or de-duplicate
        shop_name=options.shop_name,
        now=now,
    )
    if result.status is CannedStatus.BAD_KEY:  # no button carries such a key
        await query.answer(t("desk-stale-button"), show_alert=True)
        return
    answer = desk_views.canned_answer(t, result)
    await query.answer(answer[:200], show_alert=result.status is CannedStatus.NOT_FOUND)


# --- ticket actions ------------------------------------------------------------------------


@router.message(Command("note"))
async def cmd_note(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    now: datetime,
) -> None:
    t = agents_texts(catalogue, options)
    if not (command.args or "").strip():
        await message.reply(t("note-usage"))
        return
    msg = dataclasses.replace(incoming(message), text=command.args)
    wrote = await agents.agent_note(
        session,
        place=place_of(message, options),
        msg=msg,
        agent=agent_of(event_from_user),
        now=now,
    )
    if wrote is AgentWrote.TEAM_CHAT:
        await message.reply(t("desk-command-here"))
    elif wrote is AgentWrote.NOTED:
        await confirm_note(message, t)


async def confirm_note(message: Message, t: Texts) -> None:
    """A ✍ reaction on the note itself: nothing added to a busy topic, none of the group's
    ~20 messages a minute spent. Bots may react only with Telegram's fixed set (✅ is not in
    it); a group that allows no such reaction gets a short reply instead."""
    try:
        await message.react([ReactionTypeEmoji(emoji=NOTE_REACTION)])
    except TelegramBadRequest:
        await message.reply(t("note-saved"))


@router.message(Command("take"))
async def cmd_take(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    result = await agents.take(
        session, desk, where=place_of(message, options), agent=agent_of(event_from_user), now=now
    )
    await message.reply(desk_views.take_answer(agents_texts(catalogue, options), result))


@router.message(Command("close"))
async def cmd_close(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    event_from_user: User,
    matcher: LiveMatcher,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    me = agent_of(event_from_user)
    closed = await learning.close_and_offer(
        session,
        desk,
        matcher,
        where=place_of(message, options),
        agent=me,
        note=(command.args or "").strip() or None,
        now=now,
    )
    t = agents_texts(catalogue, options)
    answer = desk_views.close_answer(t, closed.action, me.name)
    if closed.offer is None:
        await message.reply(answer)
        return
    lesson, markup = learning_views.learn_offer(t, closed.offer)
    await message.reply(f"{answer}\n\n{lesson}", reply_markup=markup)


@router.message(Command("reopen"))
async def cmd_reopen(
    message: Message,
    session: AsyncSession,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    result = await agents.reopen(session, desk, place=place_of(message, options), now=now)
    await message.reply(desk_views.reopen_answer(agents_texts(catalogue, options), result))


def transfer_target(arg: str) -> int | str | None:
    """`/transfer queue` (None), @username (or a name: usernames start with a letter), or
    else a Telegram id, read by storage.numbers (NumberError)."""
    if arg.lower() == "queue":
        return None
    if arg.startswith("@"):
        return arg[1:]
    if arg[:1].isascii() and arg[:1].isalpha():
        return arg
    return read_id(arg)


@router.message(Command("transfer"))
async def cmd_transfer(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    t = agents_texts(catalogue, options)
    me, place, arg = agent_of(event_from_user), place_of(message, options), command.args or ""
    if not arg.strip():
        choices = await agents.transfer_choices(session, where=place, agent=me, now=now)
        text, markup = desk_views.transfer_menu(t, choices)
        await message.reply(text, reply_markup=markup)
        return
    try:
        target = transfer_target(arg.strip())
    except NumberError:
        await message.reply(t("transfer-bad-target", given=arg.strip()[:40]))
        return
    result = await agents.transfer(session, desk, place=place, agent=me, to=target, now=now)
    answer = desk_views.transfer_answer(t, result, arg.strip())
    if answer is not None:
        await message.reply(answer)


@router.message(Command("history"))
async def cmd_history(
    message: Message, session: AsyncSession, catalogue: Catalogue, options: ChatOptions
) -> None:
    t = agents_texts(catalogue, options)
    rows = await agents.customer_history(session, place_of(message, options))
    await message.reply(
        t("desk-command-here") if rows is None else desk_views.ticket_history(t, rows)
    )


@router.message(Command("online", "offline"))
async def cmd_presence(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    now: datetime,
) -> None:
    me = agent_of(event_from_user)
    online = command.command == "online"
    await agents.set_presence(session, agent=me, online=online, now=now)
    t = agents_texts(catalogue, options)
    await message.reply(t("agent-online" if online else "agent-offline", name=me.name))


# --- card buttons --------------------------------------------------------------------------


@router.callback_query(Tapped(TakeTicket))
async def cb_card(
    query: CallbackQuery,
    bot: Bot,
    callback_data: TakeTicket,
    session: AsyncSession,
    event_from_user: User,
    matcher: LiveMatcher,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    t = agents_texts(catalogue, options)
    me = agent_of(event_from_user)
    if callback_data.action not in ("take", "close"):
        await query.answer(t("desk-stale-button"), show_alert=True)
        return
    if callback_data.action == "close":
        closed = await learning.close_and_offer(
            session, desk, matcher, where=callback_data.ticket, agent=me, note=None, now=now
        )
        await query.answer(desk_views.close_answer(t, closed.action, me.name))
        if closed.offer is not None and query.message is not None:
            # The lesson goes where the agents are: the topic, or under the card.
            lesson, markup = learning_views.learn_offer(t, closed.offer)
            thread = getattr(query.message, "message_thread_id", None)
            await bot.send_message(
                query.message.chat.id,
                lesson,
                reply_markup=markup,
                message_thread_id=thread if options.topics else None,
                reply_parameters=None
                if options.topics
                else ReplyParameters(
                    message_id=query.message.message_id, allow_sending_without_reply=True
                ),
            )
        return
    taken = await agents.take(session, desk, where=callback_data.ticket, agent=me, now=now)
    done = taken.outcome is AgentOutcome.DONE
    await query.answer(desk_views.take_answer(t, taken), show_alert=not done)


@router.callback_query(Tapped(TransferMenu))
async def cb_transfer_menu(
    query: CallbackQuery,
    bot: Bot,
    callback_data: TransferMenu,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    now: datetime,
) -> None:
    t = agents_texts(catalogue, options)
    choices = await agents.transfer_choices(
        session, where=callback_data.ticket, agent=agent_of(event_from_user), now=now
    )
    if choices.outcome is not AgentOutcome.DONE:
        await query.answer(t("ticket-not-found"), show_alert=True)
        return
    await query.answer()
    if query.message is not None:
        text, markup = desk_views.transfer_menu(t, choices)
        thread = getattr(query.message, "message_thread_id", None)
        await bot.send_message(
            query.message.chat.id,
            text,
            reply_markup=markup,
            message_thread_id=thread if options.topics else None,
        )


@router.callback_query(Tapped(TransferTo, agent=(0, INT64_MAX)))  # 0: the queue
async def cb_transfer(
    query: CallbackQuery,
    bot: Bot,
    callback_data: TransferTo,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    result = await tickets.transfer(
        session,
        desk,
        ticket_id=callback_data.ticket,
        by_id=event_from_user.id,
        to_agent_id=callback_data.agent or None,
        now=now,
    )
    if result.outcome is not TicketOutcome.DONE:
        closed = result.outcome is TicketOutcome.CLOSED
        t = agents_texts(catalogue, options)
        await query.answer(
            t("ticket-is-closed" if closed else "ticket-not-found"), show_alert=True
        )
        return
    await query.answer()
    if query.message is not None:
        await bot.delete_message(query.message.chat.id, query.message.message_id)


@router.callback_query(StaleButton(TakeTicket, TransferMenu, TransferTo, UseCanned))
async def cb_stale(query: CallbackQuery, catalogue: Catalogue, options: ChatOptions) -> None:
    """A desk button whose data does not read (forged, or from an older version)."""
    t = agents_texts(catalogue, options)
    await query.answer(t("desk-stale-button"), show_alert=True)


# --- messages and edits (last: every other message in the group) ---------------------------


@router.message()
async def on_message(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
) -> None:
    # Anonymous group admins write as GroupAnonymousBot: relayed, credited to that id.
    bot_author = event_from_user.is_bot and event_from_user.id != ANONYMOUS_ADMIN
    if bot_author or message.content_type in SERVICE_KINDS:
        return
    if (message.text or "").startswith("/"):
        return  # another bot's command, or a typo: not for the customer
    wrote = await agents.agent_message(
        session,
        desk,
        place=place_of(message, options),
        msg=incoming(message),
        agent=agent_of(event_from_user),
        now=now,
    )
    t = agents_texts(catalogue, options)
    if wrote is AgentWrote.CLOSED:
        await message.reply(t("agent-ticket-closed"))
    elif wrote is AgentWrote.NOTED:
        await confirm_note(message, t)


@router.edited_message()
async def on_edit(
    message: Message, session: AsyncSession, desk: DeskPolicy, now: datetime
) -> None:
    await relay.edited(session, desk, msg=incoming(message), now=now)
