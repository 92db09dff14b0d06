"""The agents' side of the desk, in the support group (SUPPORT_CHAT_ID).

Topics mode: a message in a customer's topic answers that customer. Reply mode: a reply to
the ticket card or to a relayed message answers its customer; other messages are team chat.
`!text` and `/note text` are private notes. Replies to the agents' own actions are short
and, for buttons, toasts: the group can take only about 20 messages a minute.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.filters import InChat
from handlers.support_private import mirror_edit
from storage.models import Agent, Csat, Ticket, TicketMessage
from storage.models import User as UserRow
from support import relay, replies, tickets
from support.canned import MissingVariable, UnknownVariable, find_order_numbers, render
from support.tickets import DeskPolicy, TicketOutcome
from views import keyboards as kb
from views.callbacks import TakeTicket, TransferMenu, TransferTo, UseCanned
from views.render import incoming
from views.texts import Catalogue

SERVICE_KINDS = frozenset({
    "forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened",
    "general_forum_topic_hidden", "general_forum_topic_unhidden", "new_chat_members",
    "left_chat_member", "pinned_message", "new_chat_title", "new_chat_photo",
    "delete_chat_photo", "message_auto_delete_timer_changed", "video_chat_started",
    "video_chat_ended", "video_chat_scheduled", "video_chat_participants_invited",
})  # fmt: skip


ANONYMOUS_ADMIN = 1087968824  # Telegram's GroupAnonymousBot


async def ticket_for_message(
    session: AsyncSession, message: Message, *, topics: bool
) -> Ticket | None:
    """The ticket an agent's message belongs to: its topic, or what it replies to."""
    if topics:
        thread = message.message_thread_id if message.is_topic_message else None
        if thread is None:
            return None
        user_id = await tickets.customer_by_thread(session, message.chat.id, thread)
        return await tickets.ticket_for_customer(session, user_id) if user_id else None
    reply = message.reply_to_message
    if reply is None:
        return None
    ticket_id = await session.scalar(
        select(TicketMessage.ticket_id).where(
            TicketMessage.dst_chat_id == message.chat.id,
            TicketMessage.dst_message_id == reply.message_id,
        )
    )
    if ticket_id is None:
        ticket_id = await session.scalar(
            select(Ticket.id).where(
                Ticket.card_chat_id == message.chat.id,
                Ticket.card_message_id == reply.message_id,
            )
        )
    return await session.get(Ticket, ticket_id) if ticket_id else None


def create_router(
    catalogue: Catalogue,
    policy: DeskPolicy,
    *,
    topics: bool,
    agents_language: str,
    shop_name: str,
) -> Router:
    router = Router(name=__name__)
    router.message.filter(InChat(policy.chat_id))
    router.edited_message.filter(InChat(policy.chat_id))
    router.callback_query.filter(InChat(policy.chat_id))
    t = catalogue.for_lang(agents_language)

    async def agent(session: AsyncSession, user: User, now: datetime) -> Agent:
        return await tickets.register_agent(
            session,
            user_id=user.id,
            name=user.full_name or str(user.id),
            username=user.username,
            now=now,
        )

    async def current(message: Message, session: AsyncSession) -> Ticket | None:
        ticket = await ticket_for_message(session, message, topics=topics)
        if ticket is None:
            await session.rollback()
            await message.reply(t("desk-command-here"))
        return ticket

    # --- canned replies (admins manage, agents use) ------------------------------------

    @router.message(Command("canned"))
    async def cmd_canned(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        event_from_user: User,
        now: datetime,
    ) -> None:
        parts = (command.args or "").split(maxsplit=1)
        action = parts[0].lower() if parts else "list"
        rest = parts[1] if len(parts) > 1 else ""
        if action == "list":
            rows = await replies.all_replies(session)
            if not rows:
                await message.reply(t("canned-none"))
                return
            lines = [t("canned-list")] + [
                t("canned-line", code=r.key, language=r.lang, text=r.text[:80]) for r in rows
            ]
            await message.reply("\n".join(lines)[:4096])
            return
        if event_from_user.id not in policy.admin_ids:
            await message.reply(t("canned-admins-only"))
            return
        if action == "remove" and rest.strip():
            key = rest.strip().split()[0]
            await replies.remove(session, key=key)
            await message.reply(t("canned-removed", code=key))
            return
        if action == "add":
            words = rest.split(maxsplit=2)
            if len(words) >= 2:
                key, lang, text = words[0], replies.ANY_LANG, rest.split(maxsplit=1)[1]
                if words[1] in ("zh", "en", "*") and len(words) == 3:
                    lang, text = words[1], words[2]
                try:
                    key = await replies.save(
                        session, key=key, lang=lang, text=text, by=event_from_user.id, now=now
                    )
                except UnknownVariable as exc:
                    await message.reply(t("canned-unknown-var", names=", ".join(exc.names)))
                    return
                except ValueError as exc:
                    await message.reply(f"{t('canned-usage')}\n{exc}")
                    return
                await message.reply(t("canned-added", code=key, language=lang))
                return
        await message.reply(t("canned-usage"))

    async def send_canned(
        session: AsyncSession,
        ticket: Ticket,
        key: str,
        sender: User,
        chat_id: int,
        message_id: int | None,
        now: datetime,
    ) -> str:
        """Render and send a canned reply; returns what to tell the agent."""
        me = await agent(session, sender, now)
        reply = await replies.find(session, key=key, lang=ticket.lang)
        if reply is None:
            await session.rollback()
            return t("canned-missing", code=key)
        customer = await session.get(UserRow, ticket.user_id)
        texts = list(
            await session.scalars(
                select(TicketMessage.text).where(
                    TicketMessage.ticket_id == ticket.id,
                    TicketMessage.direction.in_(("in", "context")),
                )
            )
        )
        orders = find_order_numbers([x or "" for x in texts] + [ticket.question or ""])
        values = {
            "name": customer.first_name if customer else None,
            "order": orders[-1] if orders else None,
            "agent": me.name,
            "ticket": str(ticket.id),
            "shop": shop_name or None,
        }
        try:
            text = render(reply.text, values)
        except MissingVariable as exc:
            await session.rollback()
            return t("canned-missing-var", names=", ".join(f"{{{n}}}" for n in exc.names))
        result = await relay.from_agent(
            session,
            policy,
            ticket_id=ticket.id,
            msg=relay.Incoming(
                chat_id=chat_id,
                message_id=message_id,
                author_id=sender.id,
                kind="canned",
                text=text,
            ),
            now=now,
        )
        if result.status is relay.RelayStatus.CLOSED:
            return t("agent-ticket-closed")
        return t("canned-sent", text=text[:300])

    @router.message(Command("c"))
    async def cmd_c(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        event_from_user: User,
        now: datetime,
    ) -> None:
        ticket = await current(message, session)
        if ticket is None:
            return
        key = (command.args or "").strip()
        if not key:
            keys = sorted({r.key for r in await replies.all_replies(session)})
            if not keys:
                await message.reply(t("canned-none"))
                return
            await message.reply(
                t("canned-choose"), reply_markup=kb.canned_choices(ticket.id, keys)
            )
            return
        answer = await send_canned(
            session, ticket, key, event_from_user, message.chat.id, message.message_id, now
        )
        await message.reply(answer)

    @router.callback_query(UseCanned.filter())
    async def cb_canned(
        query: CallbackQuery,
        callback_data: UseCanned,
        session: AsyncSession,
        event_from_user: User,
        now: datetime,
    ) -> None:
        ticket = await session.get(Ticket, callback_data.ticket)
        if ticket is None or query.message is None:
            await session.rollback()
            await query.answer(t("ticket-not-found"), show_alert=True)
            return
        answer = await send_canned(
            session,
            ticket,
            callback_data.key,
            event_from_user,
            query.message.chat.id,
            None,  # nothing to copy or de-duplicate: a button tap is answered once
            now,
        )
        await query.answer(answer[:200])

    # --- ticket actions ------------------------------------------------------------------

    @router.message(Command("note"))
    async def cmd_note(
        message: Message, command: CommandObject, session: AsyncSession, now: datetime
    ) -> None:
        ticket = await current(message, session)
        if ticket is not None and (command.args or "").strip():
            msg = dataclasses.replace(incoming(message), text=command.args)
            await relay.note(session, ticket_id=ticket.id, msg=msg, now=now)

    @router.message(Command("take"))
    async def cmd_take(
        message: Message, session: AsyncSession, event_from_user: User, now: datetime
    ) -> None:
        ticket = await current(message, session)
        if ticket is None:
            return
        await agent(session, event_from_user, now)
        result = await tickets.take(
            session, policy, ticket_id=ticket.id, agent_id=event_from_user.id, now=now
        )
        await message.reply(await take_text(session, result, ticket.id))

    async def take_text(
        session: AsyncSession, result: tickets.ActionResult, ticket_id: int
    ) -> str:
        if result.outcome is TicketOutcome.DONE:
            return t("ticket-taken", id=ticket_id)
        if result.outcome is TicketOutcome.CLOSED:
            return t("ticket-is-closed")
        if result.outcome is TicketOutcome.ALREADY and result.other is not None:
            name = await session.scalar(select(Agent.name).where(Agent.user_id == result.other))
            await session.rollback()
            return t("ticket-already-taken", agent=name or result.other)
        return t("ticket-not-found")

    @router.message(Command("close"))
    async def cmd_close(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        event_from_user: User,
        now: datetime,
    ) -> None:
        ticket = await current(message, session)
        if ticket is None:
            return
        me = await agent(session, event_from_user, now)
        result = await tickets.close(
            session,
            policy,
            ticket_id=ticket.id,
            by_kind="agent",
            by_id=event_from_user.id,
            note=(command.args or "").strip() or None,
            now=now,
        )
        if result.outcome is TicketOutcome.DONE:
            await message.reply(t("ticket-closed-note", agent=me.name))
        else:
            await message.reply(t("ticket-is-closed"))

    @router.message(Command("reopen"))
    async def cmd_reopen(
        message: Message, session: AsyncSession, event_from_user: User, now: datetime
    ) -> None:
        ticket = await current(message, session)
        if ticket is None:
            return
        reopened = ticket.state != "closed" or await tickets.reopen_for_message(
            session, policy, user_id=ticket.user_id, now=now
        )
        await session.commit()
        await message.reply(
            t("agent-ticket-reopened", id=ticket.id) if reopened else t("ticket-not-found")
        )

    @router.message(Command("transfer"))
    async def cmd_transfer(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        event_from_user: User,
        now: datetime,
    ) -> None:
        ticket = await current(message, session)
        if ticket is None:
            return
        await agent(session, event_from_user, now)
        arg = (command.args or "").strip().lstrip("@")
        if arg.lower() == "queue":
            await tickets.transfer(
                session,
                policy,
                ticket_id=ticket.id,
                by_id=event_from_user.id,
                to_agent_id=None,
                now=now,
            )
            return
        if arg:
            target = await session.scalar(
                select(Agent.user_id).where(
                    or_(
                        Agent.username == arg, Agent.user_id == (int(arg) if arg.isdigit() else -1)
                    )
                )
            )
            if target is None:
                await session.rollback()
                await message.reply(t("ticket-not-found"))
                return
            await tickets.transfer(
                session,
                policy,
                ticket_id=ticket.id,
                by_id=event_from_user.id,
                to_agent_id=target,
                now=now,
            )
            return
        await message.reply(**await transfer_menu(session, ticket.id, event_from_user.id))

    async def transfer_menu(session: AsyncSession, ticket_id: int, me: int) -> dict[str, Any]:
        others = [
            (a.user_id, a.name) for a in await tickets.online_agents(session) if a.user_id != me
        ]
        await session.rollback()
        if not others:
            return {
                "text": t("transfer-nobody"),
                "reply_markup": kb.transfer_targets(t, ticket_id, []),
            }
        return {
            "text": t("transfer-choose", id=ticket_id),
            "reply_markup": kb.transfer_targets(t, ticket_id, others),
        }

    @router.message(Command("history"))
    async def cmd_history(message: Message, session: AsyncSession) -> None:
        ticket = await current(message, session)
        if ticket is None:
            return
        rows = (
            await session.execute(
                select(Ticket.id, Ticket.opened_at, Ticket.state, Csat.score)
                .outerjoin(Csat, Csat.ticket_id == Ticket.id)
                .where(Ticket.user_id == ticket.user_id)
                .order_by(Ticket.id.desc())
                .limit(20)
            )
        ).all()
        await session.rollback()
        lines = [t("history-tickets")] + [
            t(
                "history-ticket-line",
                id=r.id,
                opened=r.opened_at.strftime("%Y-%m-%d %H:%M"),
                state=t(f"state-{r.state}"),
                rating=f" · {r.score}★" if r.score else "",
            )
            for r in rows
        ]
        await message.reply("\n".join(lines)[:4096])

    @router.message(Command("online", "offline"))
    async def cmd_presence(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        event_from_user: User,
        now: datetime,
    ) -> None:
        me = await agent(session, event_from_user, now)
        online = command.command == "online"
        await tickets.set_presence(session, agent_id=me.user_id, online=online, now=now)
        await message.reply(t("agent-online" if online else "agent-offline", name=me.name))

    # --- messages and edits --------------------------------------------------------------

    @router.message()
    async def on_message(
        message: Message, session: AsyncSession, event_from_user: User, now: datetime
    ) -> None:
        # Anonymous group admins write as GroupAnonymousBot: relayed, credited to that id.
        bot_author = event_from_user.is_bot and event_from_user.id != ANONYMOUS_ADMIN
        if bot_author or message.content_type in SERVICE_KINDS:
            return
        if (message.text or "").startswith("/"):
            return  # another bot's command, or a typo: not for the customer
        ticket = await ticket_for_message(session, message, topics=topics)
        if ticket is None:
            await session.rollback()
            return  # team chat (General, or not a reply in reply mode)
        await agent(session, event_from_user, now)
        msg = incoming(message)
        if (message.text or "").startswith("!"):
            await relay.note(session, ticket_id=ticket.id, msg=msg, now=now)
            return
        result = await relay.from_agent(session, policy, ticket_id=ticket.id, msg=msg, now=now)
        if result.status is relay.RelayStatus.CLOSED:
            await message.reply(t("agent-ticket-closed"))

    @router.edited_message()
    async def on_edit(message: Message, session: AsyncSession, now: datetime) -> None:
        await mirror_edit(message, session, policy, now)

    # --- card buttons --------------------------------------------------------------------

    @router.callback_query(TakeTicket.filter())
    async def cb_card(
        query: CallbackQuery,
        callback_data: TakeTicket,
        session: AsyncSession,
        event_from_user: User,
        now: datetime,
    ) -> None:
        me = await agent(session, event_from_user, now)
        if callback_data.action == "close":
            result = await tickets.close(
                session,
                policy,
                ticket_id=callback_data.ticket,
                by_kind="agent",
                by_id=me.user_id,
                note=None,
                now=now,
            )
            done = result.outcome is TicketOutcome.DONE
            await query.answer(
                t("ticket-closed-note", agent=me.name) if done else t("ticket-is-closed")
            )
            return
        result = await tickets.take(
            session, policy, ticket_id=callback_data.ticket, agent_id=me.user_id, now=now
        )
        text = await take_text(session, result, callback_data.ticket)
        await query.answer(text, show_alert=result.outcome is not TicketOutcome.DONE)

    @router.callback_query(TransferMenu.filter())
    async def cb_transfer_menu(
        query: CallbackQuery,
        bot: Bot,
        callback_data: TransferMenu,
        session: AsyncSession,
        event_from_user: User,
        now: datetime,
    ) -> None:
        await agent(session, event_from_user, now)
        await session.commit()
        menu = await transfer_menu(session, callback_data.ticket, event_from_user.id)
        await query.answer()
        if query.message is not None:
            thread = getattr(query.message, "message_thread_id", None)
            await bot.send_message(
                query.message.chat.id,
                menu["text"],
                reply_markup=menu["reply_markup"],
                message_thread_id=thread if topics else None,
            )

    @router.callback_query(TransferTo.filter())
    async def cb_transfer(
        query: CallbackQuery,
        bot: Bot,
        callback_data: TransferTo,
        session: AsyncSession,
        event_from_user: User,
        now: datetime,
    ) -> None:
        result = await tickets.transfer(
            session,
            policy,
            ticket_id=callback_data.ticket,
            by_id=event_from_user.id,
            to_agent_id=callback_data.agent or None,
            now=now,
        )
        if result.outcome is not TicketOutcome.DONE:
            key = (
                "ticket-is-closed"
                if result.outcome is TicketOutcome.CLOSED
                else "ticket-not-found"
            )
            await query.answer(t(key), show_alert=True)
            return
        await query.answer()
        if query.message is not None:
            await bot.delete_message(query.message.chat.id, query.message.message_id)

    return router
