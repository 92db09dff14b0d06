"""Delivering the support desk's outbox rows: topics, cards, relays, notes, renames.

The domain (support/) decides what must be sent and stores it; this module turns a row
into Telegram calls at send time, from the current state of the database, so a card or a
topic name is always drawn as it is now, and a queued row never holds a stale thread id.

A topic that was deleted (or closed) by an operator is re-created on the next send; the
card and the conversation so far are posted again before the message that found it gone.
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, MessageEntity, ReplyParameters
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sender import ObsoleteRow, Pacer, RetryLater, Sender
from orders.ownership import orders_of
from storage import outbox
from storage.models import (
    Agent,
    CustomerTopic,
    Ticket,
    TicketMessage,
    User,
)
from storage.outbox import Claimed
from support import board, relay
from support.cards import card_facts
from support.tickets import DeskPolicy, Kind, group_lane, refresh_board
from views import keyboards as kb
from views.desk import (
    clip,
    customer_name,
    customer_texts,
    render_board,
    render_card,
    topic_name,
)
from views.texts import Catalogue

log = logging.getLogger(__name__)

TOPIC_GONE = ("thread not found", "topic_deleted", "topic_id_invalid", "topic not found")
TOPIC_CLOSED = "topic_closed"
HISTORY_MESSAGES = 15
SHOP_ORDERS_ON_CARD = 3  # the customer's last orders from the shop, on the ticket card


@dataclass(frozen=True, slots=True)
class Target:
    chat_id: int
    thread_id: int | None
    reply_to: int | None  # reply mode: messages answer the ticket's card

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.thread_id is not None:
            out["message_thread_id"] = self.thread_id
        if self.reply_to is not None:
            out["reply_parameters"] = ReplyParameters(
                message_id=self.reply_to, allow_sending_without_reply=True
            )
        return out


def _entities(raw: Any) -> list[MessageEntity] | None:
    if not isinstance(raw, list) or not raw:
        return None
    return [MessageEntity.model_validate(e) for e in raw]


class Desk:
    """Delivers the desk's outbox kinds; registered on the Sender by `install`."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        catalogue: Catalogue,
        policy: DeskPolicy,
        *,
        topics: bool,
        agents_language: str,
        signature: bool,
        clock: Any,
        tz: ZoneInfo,
    ) -> None:
        assert policy.chat_id is not None
        self.tz = tz  # TIMEZONE: the days shown on cards
        self.bot = bot
        self.sf = session_factory
        self.catalogue = catalogue
        self.policy = policy
        self.chat_id: int = policy.chat_id
        self.topics = topics
        self.t = catalogue.for_lang(agents_language)
        self.signature = signature
        self.clock = clock
        self.pacer: Pacer | None = None

    def install(self, sender: Sender) -> None:
        self.pacer = sender.pacer
        group = {"on_failed": self.on_group_failed}
        sender.route(Kind.CARD, self.send_card)
        sender.route(Kind.CARD_EDIT, self.edit_card)
        sender.route(Kind.RELAY_IN, self.relay_in, **group)
        sender.route(Kind.ALBUM_IN, self.album_in, **group)
        sender.route(Kind.EDIT_IN, self.edit_in)
        sender.route(Kind.GROUP_NOTE, self.group_note)
        sender.route(Kind.TOPIC_NAME, self.rename_topic)
        sender.route(Kind.HISTORY, self.history)
        sender.route(Kind.BOARD, self.board)
        customer = {"on_blocked": self.on_customer_blocked, "on_failed": self.on_customer_failed}
        sender.route(Kind.RELAY_OUT, self.relay_out, **customer)
        sender.route(Kind.EDIT_OUT, self.edit_out, **customer)
        sender.route(Kind.CUSTOMER_NOTE, self.customer_note, **customer)

    # --- where group-side messages go ---------------------------------------------------

    async def _ticket(self, session: AsyncSession, row: Claimed) -> Ticket:
        ticket = await session.get(Ticket, row.ticket_id) if row.ticket_id else None
        if ticket is None:
            raise ObsoleteRow("ticket gone")
        return ticket

    async def target(self, row: Claimed, *, for_card: bool = False) -> Target:
        """The customer's thread (created or re-created as needed), or the card to reply to."""
        user_id = int(row.lane.split(":", 1)[1])
        if not self.topics:
            reply_to = None
            if not for_card and row.ticket_id is not None:
                async with self.sf() as s:
                    reply_to = await s.scalar(
                        select(Ticket.card_message_id).where(Ticket.id == row.ticket_id)
                    )
            return Target(self.chat_id, None, reply_to)
        async with self.sf() as s:
            topic = await s.get(CustomerTopic, user_id)
            if topic is not None and topic.status == "ok" and topic.chat_id == self.chat_id:
                return Target(self.chat_id, topic.thread_id, None)
            user = await s.get(User, user_id)
            ticket = await s.scalar(
                select(Ticket).where(Ticket.user_id == user_id).order_by(Ticket.id.desc()).limit(1)
            )
            # No ticket yet (a return case's card): the customer's name until one opens.
            name = (
                topic_name(self.t, ticket, user)
                if ticket
                else clip(customer_name(user, user_id), 128)
            )
            await s.commit()  # ends the read; loaded rows stay usable
        created = await self.bot.create_forum_topic(self.chat_id, name=name)
        now = self.clock()
        async with self.sf() as s:
            topic = await s.get(CustomerTopic, user_id)
            if topic is None:
                topic = CustomerTopic(user_id=user_id, chat_id=self.chat_id, generation=0)
                s.add(topic)
            topic.chat_id, topic.thread_id = self.chat_id, created.message_thread_id
            topic.status, topic.shown_name, topic.updated_at = "ok", name, now
            topic.generation += 1
            recreated = topic.generation > 1
            if recreated and ticket is not None:
                log.warning("topic of customer %s was gone; re-created it", user_id)
                lane = group_lane(user_id)
                if row.kind != Kind.CARD:
                    await outbox.enqueue(
                        s,
                        kind=Kind.CARD,
                        lane=lane,
                        lane_order=0,
                        chat_id=self.chat_id,
                        ticket_id=ticket.id,
                        dedupe_key=f"card:{ticket.id}:g{topic.generation}",
                        now=now,
                    )
                await outbox.enqueue(
                    s,
                    kind=Kind.HISTORY,
                    lane=lane,
                    lane_order=0 if row.kind != Kind.CARD else 1,
                    chat_id=self.chat_id,
                    ticket_id=ticket.id,
                    dedupe_key=f"history:{user_id}:{topic.generation}",
                    now=now,
                )
            await s.commit()
        if recreated and row.kind != Kind.CARD:
            raise RetryLater("topic re-created; card and history first")
        # Creating the topic used this row's turn in the group's budget (it counts like a
        # message); the row itself goes out with the next one.
        raise RetryLater("topic created")

    async def _group_call(self, row: Claimed, target: Target, call: Any) -> Any:
        """Run a group call; a gone or closed topic is marked lost and the row retried."""
        try:
            return await call
        except TelegramBadRequest as exc:
            msg = exc.message.lower()
            if target.thread_id is None:
                raise
            if TOPIC_CLOSED in msg:
                try:
                    await self.bot.reopen_forum_topic(self.chat_id, target.thread_id)
                    raise RetryLater("topic reopened") from exc
                except TelegramBadRequest:
                    pass
            elif not any(s in msg for s in TOPIC_GONE):
                raise
            await self._lose_topic(row, target.thread_id)
            raise RetryLater("topic gone; re-creating") from exc

    async def _lose_topic(self, row: Claimed, thread_id: int) -> None:
        user_id = int(row.lane.split(":", 1)[1])
        async with self.sf() as s:
            await s.execute(
                update(CustomerTopic)
                .where(CustomerTopic.user_id == user_id, CustomerTopic.thread_id == thread_id)
                .values(status="lost", updated_at=self.clock())
            )
            await s.commit()

    # --- group side -----------------------------------------------------------------------

    async def _card(self, row: Claimed) -> tuple[Ticket, str, InlineKeyboardMarkup | None]:
        """The ticket's card as it is now: text and buttons."""
        async with self.sf() as s:
            ticket = await self._ticket(s, row)
            text = render_card(
                self.t,
                await card_facts(
                    s,
                    ticket,
                    shop_orders=await orders_of(s, ticket.user_id, limit=SHOP_ORDERS_ON_CARD),
                ),
                reply_mode=not self.topics,
                tz=self.tz,
                tier_names=self.policy.tier_names,
            )
            await s.commit()  # ends the read; loaded rows stay usable
        markup = kb.ticket_card(
            self.t, ticket.id, open_=ticket.state != "closed", taken=ticket.assignee_id is not None
        )
        return ticket, text, markup

    async def send_card(self, row: Claimed) -> None:
        target = await self.target(row, for_card=True)
        ticket, text, markup = await self._card(row)
        sent = await self._group_call(
            row,
            target,
            self.bot.send_message(self.chat_id, text, reply_markup=markup, **target.kwargs()),
        )
        async with self.sf() as s:
            await s.execute(
                update(Ticket)
                .where(Ticket.id == ticket.id)
                .values(card_chat_id=self.chat_id, card_message_id=sent.message_id)
            )
            if ticket.assignee_id is None and ticket.state == "new":
                # It was on the queue board: it leaves it at the next (unhurried) redraw.
                await refresh_board(s, self.policy, self.clock(), tidy=True)
            await s.commit()

    async def board(self, row: Claimed) -> None:
        """Draw the queue board as it is now: edit the message in place, post it the first
        time (in General), and spend nothing when it would show the same."""
        async with self.sf() as s:
            tickets, more = await board.waiting(s)
            current = await board.board_of(s, self.chat_id)
            await s.commit()  # ends the read; loaded rows stay usable
        text, markup = render_board(
            self.t, tickets, more, tz=self.tz, tier_names=self.policy.tier_names
        )
        shown = markup.model_dump_json() if markup is not None else ""
        digest = hashlib.sha256(f"{text}\n{shown}".encode()).hexdigest()
        message_id = current.message_id if current is not None else None
        if current is not None and current.digest == digest:
            return
        if message_id is None:
            if not tickets:
                return  # nothing to show and nothing shown: no board until it is needed
            sent = await self.bot.send_message(self.chat_id, text, reply_markup=markup)
            message_id = sent.message_id
        else:
            try:
                await self.bot.edit_message_text(
                    text=text, chat_id=self.chat_id, message_id=message_id, reply_markup=markup
                )
            except TelegramBadRequest as exc:
                if "not found" not in exc.message.lower():
                    raise
                # Someone deleted the board: post it again at the next turn.
                async with self.sf() as s:
                    await board.shown(
                        s, self.chat_id, message_id=None, digest=None, now=self.clock()
                    )
                raise RetryLater("board deleted; posting it again") from exc
        async with self.sf() as s:
            await board.shown(
                s, self.chat_id, message_id=message_id, digest=digest, now=self.clock()
            )

    async def edit_card(self, row: Claimed) -> None:
        ticket, text, markup = await self._card(row)
        if ticket.card_message_id is None:
            raise ObsoleteRow("no card yet")
        try:
            await self.bot.edit_message_text(
                text=text,
                chat_id=self.chat_id,
                message_id=ticket.card_message_id,
                reply_markup=markup,
            )
        except TelegramBadRequest as exc:
            if "not found" in exc.message.lower():
                raise ObsoleteRow("card deleted") from exc
            raise

    async def rename_topic(self, row: Claimed) -> None:
        if not self.topics:
            raise ObsoleteRow("reply mode has no topics")
        user_id = int(row.lane.split(":", 1)[1])
        async with self.sf() as s:
            ticket = await self._ticket(s, row)
            topic = await s.get(CustomerTopic, user_id)
            user = await s.get(User, user_id)
            await s.commit()  # ends the read; loaded rows stay usable
        if topic is None or topic.status != "ok" or topic.thread_id is None:
            raise ObsoleteRow("no topic")
        name = topic_name(self.t, ticket, user)
        if name == topic.shown_name:
            return
        try:
            await self.bot.edit_forum_topic(self.chat_id, topic.thread_id, name=name)
        except TelegramBadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise ObsoleteRow(f"rename failed: {exc.message}") from exc
        async with self.sf() as s:
            await s.execute(
                update(CustomerTopic)
                .where(
                    CustomerTopic.user_id == user_id, CustomerTopic.thread_id == topic.thread_id
                )
                .values(shown_name=name)
            )
            await s.commit()

    async def _message(self, row: Claimed) -> TicketMessage:
        async with self.sf() as s:
            msg = (
                await s.get(TicketMessage, row.ticket_message_id)
                if row.ticket_message_id
                else None
            )
            await s.commit()  # ends the read; loaded rows stay usable
        if msg is None:
            raise ObsoleteRow("message gone")
        return msg

    async def _record_copy(
        self, rows: Sequence[TicketMessage], chat_id: int, ids: Sequence[int]
    ) -> None:
        async with self.sf() as s:
            for m, dst in zip(rows, ids, strict=False):
                await s.execute(
                    update(TicketMessage)
                    .where(TicketMessage.id == m.id)
                    .values(dst_chat_id=chat_id, dst_message_id=dst, delivery="sent")
                )
            await s.commit()

    async def relay_in(self, row: Claimed) -> None:
        msg = await self._message(row)
        if msg.delivery == "sent":
            return  # went out with its album
        target = await self.target(row)
        try:
            copied = await self._group_call(
                row,
                target,
                self.bot.copy_message(
                    self.chat_id, msg.src_chat_id or 0, msg.src_message_id or 0, **target.kwargs()
                ),
            )
            dst = copied.message_id
        except TelegramBadRequest as exc:
            if "not found" not in exc.message.lower() or "thread" in exc.message.lower():
                raise
            # The customer deleted it before we copied it: send what we stored.
            text = msg.text or self.t("relay-unavailable", kind=msg.kind)
            sent = await self.bot.send_message(self.chat_id, text, **target.kwargs())
            dst = sent.message_id
        await self._record_copy([msg], self.chat_id, [dst])

    async def album_in(self, row: Claimed) -> None:
        from_chat = int(row.payload["from_chat_id"])
        async with self.sf() as s:
            items = list(
                await s.scalars(
                    select(TicketMessage)
                    .where(
                        TicketMessage.src_chat_id == from_chat,
                        TicketMessage.media_group_id == row.payload["media_group_id"],
                        TicketMessage.delivery == "pending",
                    )
                    .order_by(TicketMessage.src_message_id)
                )
            )
            await s.commit()  # ends the read; loaded rows stay usable
        if not items:
            return
        target = await self.target(row)
        copied = await self._group_call(
            row,
            target,
            self.bot.copy_messages(
                self.chat_id,
                from_chat,
                [m.src_message_id or 0 for m in items],
                message_thread_id=target.thread_id,
            ),
        )
        await self._record_copy(items, self.chat_id, [c.message_id for c in copied])

    async def edit_in(self, row: Claimed) -> None:
        msg = await self._message(row)
        if msg.dst_message_id is None:
            raise ObsoleteRow("the original was never delivered")
        text = f"{msg.text or ''}\n\n{self.t('relay-edited-mark')}"
        await self._edit(self.chat_id, msg, text)

    async def _edit(self, chat_id: int, msg: TicketMessage, text: str) -> None:
        assert msg.dst_message_id is not None
        entities = _entities(msg.entities)
        if msg.kind == "text":
            await self.bot.edit_message_text(
                text=text[:4096], chat_id=chat_id, message_id=msg.dst_message_id, entities=entities
            )
        else:
            await self.bot.edit_message_caption(
                chat_id=chat_id,
                message_id=msg.dst_message_id,
                caption=text[:1024],
                caption_entities=entities,
            )

    async def group_note(self, row: Claimed) -> None:
        target = await self.target(row)
        args = dict(row.payload.get("args") or {})
        mention_ids = args.pop("mentions", None) or []
        text = html.escape(self.t(str(row.payload["key"]), mentions="", **args)).rstrip()
        if mention_ids:
            async with self.sf() as s:
                names = dict(
                    (
                        await s.execute(
                            select(Agent.user_id, Agent.name).where(Agent.user_id.in_(mention_ids))
                        )
                    ).all()
                )
                await s.commit()  # ends the read; loaded rows stay usable
            text = (
                text
                + " "
                + " ".join(
                    f'<a href="tg://user?id={int(i)}">{html.escape(names.get(i) or str(i))}</a>'
                    for i in mention_ids
                )
            )
        await self._group_call(
            row,
            target,
            self.bot.send_message(self.chat_id, text[:4096], parse_mode="HTML", **target.kwargs()),
        )

    async def history(self, row: Claimed) -> None:
        target = await self.target(row)
        user_id = int(row.lane.split(":", 1)[1])
        async with self.sf() as s:
            msgs = list(
                await s.scalars(
                    select(TicketMessage)
                    .join(Ticket, Ticket.id == TicketMessage.ticket_id)
                    .where(Ticket.user_id == user_id, TicketMessage.direction != "context")
                    .order_by(TicketMessage.id.desc())
                    .limit(HISTORY_MESSAGES)
                )
            )
            await s.commit()  # ends the read; loaded rows stay usable
        lines = [self.t("history-title")]
        who = {"in": "history-customer", "out": "history-agent", "note": "history-note"}
        for m in reversed(msgs):
            text = m.text or f"[{m.kind}]"
            lines.append(
                self.t(
                    "history-line",
                    time=m.created_at.strftime("%m-%d %H:%M"),
                    who=self.t(who.get(m.direction, "history-note")),
                    text=clip(text, 200),
                )
            )
        if not msgs:
            lines.append(self.t("history-empty"))
        await self._group_call(
            row,
            target,
            self.bot.send_message(self.chat_id, "\n".join(lines)[:4096], **target.kwargs()),
        )

    # --- customer side --------------------------------------------------------------------

    async def relay_out(self, row: Claimed) -> None:
        msg = await self._message(row)
        user_id = row.chat_id
        assert user_id is not None
        signature = None
        if self.signature and msg.author_id is not None:
            async with self.sf() as s:
                agent = await s.get(Agent, msg.author_id)
                signature = (agent.signature or agent.name) if agent else None
                await s.commit()  # ends the read; loaded rows stay usable
        entities = msg.entities if isinstance(msg.entities, list) else None
        if (
            msg.src_message_id is None
            or msg.kind == "canned"
            or (signature and msg.kind == "text")
        ):
            text = msg.text or ""
            if signature:
                text = f"{text}\n— {signature}"
            sent = await self.bot.send_message(user_id, text[:4096], entities=_entities(entities))
            dst = sent.message_id
        elif signature:
            caption = f"{msg.text or ''}\n— {signature}".strip()
            copied = await self.bot.copy_message(
                user_id,
                msg.src_chat_id or 0,
                msg.src_message_id,
                caption=caption[:1024],
                caption_entities=_entities(entities),
            )
            dst = copied.message_id
        else:
            copied = await self.bot.copy_message(user_id, msg.src_chat_id or 0, msg.src_message_id)
            dst = copied.message_id
        await self._record_copy([msg], user_id, [dst])

    async def edit_out(self, row: Claimed) -> None:
        msg = await self._message(row)
        if msg.dst_message_id is None or row.chat_id is None:
            raise ObsoleteRow("the original was never delivered")
        await self._edit(row.chat_id, msg, msg.text or "")

    async def customer_note(self, row: Claimed) -> None:
        async with self.sf() as s:
            ticket = await self._ticket(s, row)
            user = await s.get(User, ticket.user_id)
            await s.commit()  # ends the read; loaded rows stay usable
        t = customer_texts(self.catalogue, user, ticket)
        markup = kb.csat(ticket.id) if row.payload.get("csat") else None
        await self.bot.send_message(
            ticket.user_id,
            t(str(row.payload["key"]), **(row.payload.get("args") or {})),
            reply_markup=markup,
        )

    # --- problems -------------------------------------------------------------------------

    async def on_customer_blocked(self, row: Claimed, error: str) -> None:
        if row.chat_id is None:
            return
        async with self.sf() as s:
            if row.ticket_message_id:
                await s.execute(
                    update(TicketMessage)
                    .where(TicketMessage.id == row.ticket_message_id)
                    .values(delivery="dropped")
                )
                await s.commit()
            await relay.customer_unreachable(s, self.policy, user_id=row.chat_id, now=self.clock())

    async def on_customer_failed(self, row: Claimed, error: str) -> None:
        await self._report(row, error)

    async def on_group_failed(self, row: Claimed, error: str) -> None:
        await self._report(row, error)

    async def _report(self, row: Claimed, error: str) -> None:
        now = self.clock()
        async with self.sf() as s:
            if row.ticket_message_id:
                await s.execute(
                    update(TicketMessage)
                    .where(TicketMessage.id == row.ticket_message_id)
                    .values(delivery="failed")
                )
            ticket = await s.get(Ticket, row.ticket_id) if row.ticket_id else None
            if ticket is not None:
                from support.tickets import group_note

                await group_note(
                    s, self.policy, ticket, "relay-failed", now, priority=1, error=error[:200]
                )
            await s.commit()
