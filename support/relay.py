"""Messages between a customer and the agents: stored first, then queued for the sender.

- A customer message in an open ticket is a `ticket_messages` row before anything is sent;
  the unique (src_chat_id, src_message_id) makes a replayed update store nothing twice.
- An album is one outbox row: the first item waits `album_wait` for the others, which
  join it while it is still pending; an item that comes too late is sent on its own.
- An agent message claims a new ticket for its writer and records the first response once.
- Notes (`!text`, `/note`) are stored and never sent to the customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from faq.smalltalk import is_complaint
from storage import outbox
from storage.models import OutboxMessage, Ticket, TicketMessage, User
from support.tickets import (
    CustomerRoute,
    DeskPolicy,
    HandoffReason,
    Kind,
    OpenResult,
    comment,
    customer_lane,
    event,
    group_lane,
    group_note,
    latest_ticket,
    mark_complaint,
    open_uncommitted,
    refresh_card,
    reopen_for_message,
)


@dataclass(frozen=True, slots=True)
class Incoming:
    """A Telegram message reduced to what the desk stores (no aiogram types here)."""

    chat_id: int
    message_id: int | None  # None: composed by the bot (a canned reply from a button)
    author_id: int
    kind: str  # aiogram content_type: text, photo, document, voice, video, sticker, ...
    text: str | None = None  # text or caption
    entities: list[dict[str, Any]] | None = None
    file_id: str | None = None
    media_group_id: str | None = None


class RelayStatus(StrEnum):
    QUEUED = "queued"
    REPLAY = "replay"  # this message was stored before (a repeated update)
    NO_TICKET = "no_ticket"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class RelayResult:
    status: RelayStatus
    ticket_id: int | None = None
    first_response: bool = False
    claimed: bool = False


def _message_row(ticket_id: int, direction: str, msg: Incoming, now: datetime) -> TicketMessage:
    return TicketMessage(
        ticket_id=ticket_id,
        direction=direction,
        author_id=msg.author_id,
        kind=msg.kind,
        text=msg.text,
        entities=msg.entities,
        file_id=msg.file_id,
        media_group_id=msg.media_group_id,
        src_chat_id=msg.chat_id if msg.message_id is not None else None,
        src_message_id=msg.message_id,
        delivery="pending" if direction in ("in", "out") else "none",
        created_at=now,
    )


async def _store(session: AsyncSession, row: TicketMessage) -> bool:
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def _store_in_open_ticket(
    session: AsyncSession, ticket_id: int, direction: str, msg: Incoming, now: datetime
) -> tuple[Ticket, TicketMessage] | RelayResult:
    """The ticket and the stored message, or why nothing was stored."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        await session.rollback()
        return RelayResult(RelayStatus.NO_TICKET)
    if ticket.state == "closed":
        await session.rollback()
        return RelayResult(RelayStatus.CLOSED, ticket_id)
    row = _message_row(ticket_id, direction, msg, now)
    if not await _store(session, row):
        return RelayResult(RelayStatus.REPLAY, ticket_id)
    return ticket, row


async def from_customer(
    session: AsyncSession, policy: DeskPolicy, *, ticket_id: int, msg: Incoming, now: datetime
) -> RelayResult:
    """Store a customer's message in their open ticket and queue it for the agents."""
    result = await _relay_in(session, policy, ticket_id=ticket_id, msg=msg, now=now)
    if result.status is RelayStatus.QUEUED:
        await session.commit()
    return result


@dataclass(frozen=True, slots=True)
class CustomerWrote:
    ticket_id: int | None  # None: nothing relayed
    comment: bool = False  # it was the comment after a rating
    reopened: bool = False  # it reopened the ticket closed moments ago
    opened: OpenResult | None = None  # it opened a new ticket a while after a close


async def customer_wrote(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    route: CustomerRoute,
    msg: Incoming,
    lang: str,
    now: datetime,
) -> CustomerWrote:
    """A customer's message routed to the desk (`tickets.route_customer`): the rating
    comment, or relayed to the agents, reopening or opening the ticket first; one commit."""
    user_id = msg.author_id
    if route.follow == "comment":
        await comment(session, policy, user_id=user_id, text=msg.text, now=now)
        return CustomerWrote(None, comment=True)
    ticket_id: int | None = route.ticket.id
    opened = None
    if route.follow == "reopen":
        ticket_id = await reopen_for_message(session, policy, user_id=user_id, now=now)
    elif route.follow == "new":
        opened = await open_uncommitted(
            session,
            policy,
            user_id=user_id,
            reason=HandoffReason.FOLLOWUP,
            question=msg.text,
            lang=lang,
            now=now,
        )
        ticket_id = opened.ticket_id
    if ticket_id is None:  # the reopen lost a race with a new ticket: use the latest
        view = await latest_ticket(session, user_id, now)
        ticket_id = view.id if view else None
    if ticket_id is None:
        await session.rollback()
        return CustomerWrote(None)
    result = await _relay_in(session, policy, ticket_id=ticket_id, msg=msg, now=now)
    if result.status is RelayStatus.QUEUED:
        await session.commit()
    return CustomerWrote(ticket_id, reopened=route.follow == "reopen", opened=opened)


async def _relay_in(
    session: AsyncSession, policy: DeskPolicy, *, ticket_id: int, msg: Incoming, now: datetime
) -> RelayResult:
    stored = await _store_in_open_ticket(session, ticket_id, "in", msg, now)
    if isinstance(stored, RelayResult):
        return stored
    ticket, row = stored
    if msg.text and not ticket.complaint and is_complaint(msg.text):
        await mark_complaint(session, policy, ticket, now)
    was_answered = ticket.state == "answered"
    values: dict[str, Any] = {"last_customer_at": now}
    if was_answered:  # the customer is waiting for an answer again
        due = policy.next_open(now) + timedelta(seconds=policy.sla_seconds)
        values.update(state="waiting", sla_due_at=due, next_alert_at=due, sla_alert_level=0)
    await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(**values))
    if policy.enabled:
        await _queue_in(session, policy, ticket, row, msg, now)
        if was_answered:
            await refresh_card(session, policy, ticket, now)
    return RelayResult(RelayStatus.QUEUED, ticket_id)


async def _queue_in(
    session: AsyncSession,
    policy: DeskPolicy,
    ticket: Ticket,
    row: TicketMessage,
    msg: Incoming,
    now: datetime,
) -> None:
    lane = group_lane(ticket.user_id)
    if msg.media_group_id:
        key = f"album:{msg.chat_id}:{msg.media_group_id}"
        # Join the album's pending row. The UPDATE takes the row lock, so a sender claiming
        # it either waits for this commit (and sees this item) or has already claimed it
        # (then nothing matches here and this item goes on its own).
        joined = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.dedupe_key == key, OutboxMessage.status == "pending")
            .values(attempts=OutboxMessage.attempts)
        )
        if joined.rowcount:  # type: ignore[attr-defined]
            return
        created = await outbox.enqueue(
            session,
            kind=Kind.ALBUM_IN,
            lane=lane,
            chat_id=policy.chat_id,
            ticket_id=ticket.id,
            ticket_message_id=row.id,
            payload={"media_group_id": msg.media_group_id, "from_chat_id": msg.chat_id},
            dedupe_key=key,
            delay=policy.album_wait,
            now=now,
        )
        if created is not None:
            return
    await outbox.enqueue(
        session,
        kind=Kind.RELAY_IN,
        lane=lane,
        chat_id=policy.chat_id,
        ticket_id=ticket.id,
        ticket_message_id=row.id,
        dedupe_key=f"in:{msg.chat_id}:{msg.message_id}",
        now=now,
    )


async def edited(
    session: AsyncSession, policy: DeskPolicy, *, msg: Incoming, now: datetime
) -> bool:
    """Mirror an edit of a stored message (customer or agent) to the other side."""
    row = await session.scalar(
        select(TicketMessage).where(
            TicketMessage.src_chat_id == msg.chat_id,
            TicketMessage.src_message_id == msg.message_id,
        )
    )
    if row is None or row.direction not in ("in", "out"):
        await session.rollback()
        return False
    ticket = await session.get(Ticket, row.ticket_id)
    assert ticket is not None
    row.text, row.entities, row.edited_at = msg.text, msg.entities, now
    if row.direction == "in":
        lane, chat, kind = group_lane(ticket.user_id), policy.chat_id, Kind.EDIT_IN
    else:
        lane, chat, kind = customer_lane(ticket.user_id), ticket.user_id, Kind.EDIT_OUT
    if policy.enabled:
        await outbox.enqueue(
            session,
            kind=kind,
            lane=lane,
            chat_id=chat,
            ticket_id=ticket.id,
            ticket_message_id=row.id,
            now=now,
        )
    await session.commit()
    return True


async def from_agent(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    ticket_id: int,
    msg: Incoming,
    now: datetime,
) -> RelayResult:
    """Store an agent's message and queue it for the customer; the first one is the response."""
    stored = await _store_in_open_ticket(session, ticket_id, "out", msg, now)
    if isinstance(stored, RelayResult):
        return stored
    ticket, row = stored
    agent = msg.author_id
    # The first reply claims an unassigned ticket, guarded like Take: never from someone else.
    claim = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None))
        .values(assignee_id=agent, assigned_at=now)
    )
    claimed = bool(claim.rowcount)  # type: ignore[attr-defined]
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(
            state="answered",
            last_agent_at=now,
            sla_due_at=None,
            next_alert_at=None,
            sla_alert_level=0,
        )
    )
    first = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.first_response_at.is_(None))
        .values(first_response_at=now, first_responder_id=agent)
    )
    is_first = bool(first.rowcount)  # type: ignore[attr-defined]
    if claimed:
        event(session, ticket_id, "taken", now, agent, by_reply=True)
    if is_first:
        event(session, ticket_id, "first_response", now, agent)
    blocked = ticket.customer_blocked_at is not None
    if blocked:
        row.delivery = "dropped"
        await group_note(session, policy, ticket, "customer-blocked", now)
    else:
        await outbox.enqueue(
            session,
            kind=Kind.RELAY_OUT,
            lane=customer_lane(ticket.user_id),
            chat_id=ticket.user_id,
            ticket_id=ticket_id,
            ticket_message_id=row.id,
            dedupe_key=f"out:{msg.chat_id}:{msg.message_id}" if msg.message_id else None,
            now=now,
        )
    await refresh_card(session, policy, ticket, now)
    await session.commit()
    return RelayResult(RelayStatus.QUEUED, ticket_id, first_response=is_first, claimed=claimed)


async def note(
    session: AsyncSession, *, ticket_id: int, msg: Incoming, now: datetime
) -> RelayResult:
    """A private note: stored with the ticket, never sent to the customer."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        await session.rollback()
        return RelayResult(RelayStatus.NO_TICKET)
    if not await _store(session, _message_row(ticket_id, "note", msg, now)):
        return RelayResult(RelayStatus.REPLAY, ticket_id)
    await session.commit()
    return RelayResult(RelayStatus.QUEUED, ticket_id)


async def customer_unreachable(
    session: AsyncSession, policy: DeskPolicy, *, user_id: int, now: datetime
) -> bool:
    """The customer blocked the bot: flag it once, drop their queue, tell the agents."""
    flipped = await session.execute(
        update(User)
        .where(User.id == user_id, User.blocked.is_(False))
        .values(blocked=True, blocked_at=now)
    )
    first = bool(flipped.rowcount)  # type: ignore[attr-defined]
    ticket = await session.scalar(
        select(Ticket).where(Ticket.user_id == user_id).order_by(Ticket.id.desc()).limit(1)
    )
    if ticket is not None and ticket.state != "closed" and ticket.customer_blocked_at is None:
        ticket.customer_blocked_at = now
        await session.flush()
        event(session, ticket.id, "blocked", now, user_id)
        await group_note(session, policy, ticket, "customer-blocked", now, priority=1)
    # The flags, the note and the dropped queue commit together (drop_lane commits).
    await outbox.drop_lane(session, customer_lane(user_id), reason="blocked", now=now)
    return first


async def customer_back(
    session: AsyncSession, policy: DeskPolicy, *, user_id: int, now: datetime
) -> bool:
    """The customer unblocked the bot: clear the flags and tell the agents."""
    flipped = await session.execute(
        update(User).where(User.id == user_id, User.blocked.is_(True)).values(blocked=False)
    )
    ticket = await session.scalar(
        select(Ticket).where(Ticket.user_id == user_id).order_by(Ticket.id.desc()).limit(1)
    )
    if ticket is not None and ticket.customer_blocked_at is not None:
        ticket.customer_blocked_at = None
        await session.flush()
        if ticket.state != "closed":
            await group_note(session, policy, ticket, "customer-back", now)
    await session.commit()
    return bool(flipped.rowcount)  # type: ignore[attr-defined]
