"""What agents do in the support group: each command or message is one use case here.

An agent's message is placed first: in topics mode by its forum topic (the customer's), in
reply mode by what it replies to (a relayed message or the ticket card); a button carries
the ticket id instead. The agent is registered (or renamed) in the same transaction as what
they do, and each use case commits at most once (through the tickets or relay function it
ends with), so the handler talks to Telegram with no database connection held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agent, Csat, Ticket, TicketMessage, User
from support import relay, replies, tickets
from support.canned import MissingVariable, check_key, find_order_numbers, render
from support.tickets import DeskPolicy, TicketOutcome

HISTORY_ROWS = 20


@dataclass(frozen=True, slots=True)
class Place:
    """Where in the support group an agent wrote (no aiogram types here)."""

    chat_id: int
    thread_id: int | None = None  # topics mode: the forum topic of the message
    reply_to: int | None = None  # reply mode: the message it replies to


Where = Place | int  # a place in the group, or the ticket id a button carries


@dataclass(frozen=True, slots=True)
class AgentRef:
    """The agent acting: their Telegram id and how the desk names them."""

    user_id: int
    name: str
    username: str | None = None


class AgentOutcome(StrEnum):
    DONE = "done"
    ALREADY = "already"  # taken by someone else / already closed
    CLOSED = "closed"  # the ticket is closed
    NOT_FOUND = "not_found"  # the ticket a button names is gone (or never was)
    NOT_HERE = "not_here"  # written outside a ticket's topic (or not as a reply to one)
    NO_SUCH_AGENT = "no_such_agent"  # a transfer to someone the desk has never seen


@dataclass(frozen=True, slots=True)
class AgentAction:
    outcome: AgentOutcome
    ticket_id: int | None = None
    holder: str | None = None  # ALREADY (take): who holds the ticket, by name or id


class AgentWrote(StrEnum):
    TEAM_CHAT = "team_chat"  # not in a ticket: nothing stored
    NOTED = "noted"  # a private note, stored
    SENT = "sent"  # stored and queued for the customer
    REPLAY = "replay"  # this message was stored before (a repeated update)
    CLOSED = "closed"  # the ticket is closed: nothing sent


class CannedStatus(StrEnum):
    SENT = "sent"
    NOT_FOUND = "not_found"
    NOT_HERE = "not_here"
    CLOSED = "closed"
    BAD_KEY = "bad_key"  # not 1-32 of a-z, 0-9, _ and -
    NO_SUCH_KEY = "no_such_key"
    MISSING_VALUES = "missing_values"  # the template needs values it lacks (see below)


@dataclass(frozen=True, slots=True)
class CannedResult:
    status: CannedStatus
    key: str = ""
    text: str = ""  # SENT: what the customer gets
    missing: tuple[str, ...] = ()  # MISSING_VALUES: the ticket's variables without a value
    no_shop_name: bool = False  # MISSING_VALUES: {shop} is used and SHOP_NAME is not set


@dataclass(frozen=True, slots=True)
class CannedMenu:
    ticket_id: int | None  # None: not in a ticket
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TransferChoices:
    outcome: AgentOutcome  # DONE, NOT_HERE or NOT_FOUND
    ticket_id: int | None = None
    agents: tuple[tuple[int, str], ...] = ()  # the other agents online: (id, name)


@dataclass(frozen=True, slots=True)
class PastTicket:
    id: int
    opened_at: datetime
    state: str
    score: int | None


# --- finding the ticket ------------------------------------------------------------------


async def locate(session: AsyncSession, where: Where) -> Ticket | None:
    """The ticket a message (its topic, or what it replies to) or a button belongs to."""
    if isinstance(where, int):
        return await session.get(Ticket, where)
    if where.thread_id is not None:
        user_id = await tickets.customer_by_thread(session, where.chat_id, where.thread_id)
        return await tickets.ticket_for_customer(session, user_id) if user_id else None
    if where.reply_to is None:
        return None
    ticket_id = await session.scalar(
        select(TicketMessage.ticket_id).where(
            TicketMessage.dst_chat_id == where.chat_id,
            TicketMessage.dst_message_id == where.reply_to,
        )
    )
    if ticket_id is None:
        ticket_id = await session.scalar(
            select(Ticket.id).where(
                Ticket.card_chat_id == where.chat_id,
                Ticket.card_message_id == where.reply_to,
            )
        )
    return await session.get(Ticket, ticket_id) if ticket_id else None


def _missing(where: Where) -> AgentOutcome:
    return AgentOutcome.NOT_FOUND if isinstance(where, int) else AgentOutcome.NOT_HERE


async def _register(session: AsyncSession, agent: AgentRef, now: datetime) -> Agent:
    return await tickets.register_agent(
        session,
        user_id=agent.user_id,
        name=agent.name[:128],
        username=agent.username,
        now=now,
    )


# --- messages ----------------------------------------------------------------------------


async def agent_message(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    place: Place,
    msg: relay.Incoming,
    agent: AgentRef,
    now: datetime,
) -> AgentWrote:
    """A message in a ticket goes to its customer; `!text` is a private note; elsewhere
    (General, or not a reply in reply mode) it is team chat and nothing is stored."""
    ticket = await locate(session, place)
    if ticket is None:
        await session.rollback()
        return AgentWrote.TEAM_CHAT
    await _register(session, agent, now)
    if (msg.text or "").startswith("!"):
        noted = await relay.note(session, ticket_id=ticket.id, msg=msg, now=now)
        return AgentWrote.NOTED if noted.status is relay.RelayStatus.QUEUED else AgentWrote.REPLAY
    result = await relay.from_agent(session, policy, ticket_id=ticket.id, msg=msg, now=now)
    if result.status is relay.RelayStatus.CLOSED:
        return AgentWrote.CLOSED
    return AgentWrote.REPLAY if result.status is relay.RelayStatus.REPLAY else AgentWrote.SENT


async def agent_note(
    session: AsyncSession, *, place: Place, msg: relay.Incoming, agent: AgentRef, now: datetime
) -> AgentWrote:
    """`/note text`: stored with the ticket, never sent."""
    ticket = await locate(session, place)
    if ticket is None:
        await session.rollback()
        return AgentWrote.TEAM_CHAT
    await _register(session, agent, now)
    noted = await relay.note(session, ticket_id=ticket.id, msg=msg, now=now)
    return AgentWrote.NOTED if noted.status is relay.RelayStatus.QUEUED else AgentWrote.REPLAY


# --- canned replies ----------------------------------------------------------------------


async def canned_menu(session: AsyncSession, place: Place) -> CannedMenu:
    """The ticket here and every canned reply's key, to choose from (read only)."""
    ticket = await locate(session, place)
    ticket_id = ticket.id if ticket is not None else None
    keys: tuple[str, ...] = ()
    if ticket_id is not None:
        keys = tuple(sorted({r.key for r in await replies.all_replies(session)}))
    await session.rollback()
    return CannedMenu(ticket_id, keys)


async def _canned_values(
    session: AsyncSession, ticket: Ticket, agent: AgentRef, shop_name: str
) -> dict[str, str | None]:
    customer = await session.get(User, ticket.user_id)
    said = await session.scalars(
        select(TicketMessage.text).where(
            TicketMessage.ticket_id == ticket.id,
            TicketMessage.direction.in_(("in", "context")),
        )
    )
    orders = find_order_numbers([x or "" for x in said] + [ticket.question or ""])
    return {
        "name": customer.first_name if customer else None,
        "order": orders[-1] if orders else None,
        "agent": agent.name,
        "ticket": str(ticket.id),
        "shop": shop_name or None,
    }


async def send_canned(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    where: Where,
    key: str,
    agent: AgentRef,
    source: tuple[int, int | None],
    shop_name: str,
    now: datetime,
) -> CannedResult:
    """Fill the canned reply `key` (in the customer's language) for the ticket and send it.

    `source` is the chat and message the agent asked from (no message for a button: there
    is nothing to copy or de-duplicate, a tap is answered once)."""
    try:
        key = check_key(key)
    except ValueError:
        return CannedResult(CannedStatus.BAD_KEY, key=key)
    ticket = await locate(session, where)
    if ticket is None:
        await session.rollback()
        return CannedResult(CannedStatus(_missing(where).value), key=key)
    await _register(session, agent, now)
    reply = await replies.find(session, key=key, lang=ticket.lang)
    if reply is None:
        await session.rollback()
        return CannedResult(CannedStatus.NO_SUCH_KEY, key=key)
    values = await _canned_values(session, ticket, agent, shop_name)
    try:
        text = render(reply.text, values)
    except MissingVariable as exc:
        await session.rollback()
        # {shop} is a setting of the shop, not something this ticket lacks.
        missing = tuple(name for name in exc.names if name != "shop")
        return CannedResult(
            CannedStatus.MISSING_VALUES,
            key=key,
            missing=missing,
            no_shop_name="shop" in exc.names,
        )
    chat_id, message_id = source
    msg = relay.Incoming(
        chat_id=chat_id, message_id=message_id, author_id=agent.user_id, kind="canned", text=text
    )
    result = await relay.from_agent(session, policy, ticket_id=ticket.id, msg=msg, now=now)
    if result.status is relay.RelayStatus.CLOSED:
        return CannedResult(CannedStatus.CLOSED, key=key)
    return CannedResult(CannedStatus.SENT, key=key, text=text)


# --- ticket actions ----------------------------------------------------------------------


async def take(
    session: AsyncSession, policy: DeskPolicy, *, where: Where, agent: AgentRef, now: datetime
) -> AgentAction:
    """Take the ticket; the second of two agents learns who has it."""
    ticket = await locate(session, where)
    if ticket is None:
        await session.rollback()
        return AgentAction(_missing(where))
    ticket_id = ticket.id
    await _register(session, agent, now)
    result = await tickets.take(
        session, policy, ticket_id=ticket_id, agent_id=agent.user_id, now=now
    )
    holder = None
    if result.outcome is TicketOutcome.ALREADY and result.other is not None:
        name = await session.scalar(select(Agent.name).where(Agent.user_id == result.other))
        await session.rollback()
        holder = name or str(result.other)
    return AgentAction(AgentOutcome(result.outcome.value), ticket_id, holder)


async def close(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    where: Where,
    agent: AgentRef,
    note: str | None,
    now: datetime,
) -> AgentAction:
    """Close the ticket (the customer is asked for a rating)."""
    ticket = await locate(session, where)
    if ticket is None:
        await session.rollback()
        return AgentAction(_missing(where))
    ticket_id = ticket.id
    await _register(session, agent, now)
    result = await tickets.close(
        session,
        policy,
        ticket_id=ticket_id,
        by_kind="agent",
        by_id=agent.user_id,
        note=note,
        now=now,
    )
    return AgentAction(AgentOutcome(result.outcome.value), ticket_id)


async def reopen(
    session: AsyncSession, policy: DeskPolicy, *, place: Place, now: datetime
) -> AgentAction:
    """Reopen the ticket here (an open one stays as it is)."""
    ticket = await locate(session, place)
    if ticket is None:
        await session.rollback()
        return AgentAction(AgentOutcome.NOT_HERE)
    ticket_id = ticket.id
    if ticket.state != "closed":
        await session.rollback()
        return AgentAction(AgentOutcome.DONE, ticket_id)
    reopened = await tickets.reopen_for_message(session, policy, user_id=ticket.user_id, now=now)
    await session.commit()
    return AgentAction(AgentOutcome.DONE if reopened else AgentOutcome.NOT_FOUND, ticket_id)


async def transfer(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    place: Place,
    agent: AgentRef,
    to: int | str | None,
    now: datetime,
) -> AgentAction:
    """Transfer the ticket here to an agent (their id or @username), or to the queue."""
    ticket = await locate(session, place)
    if ticket is None:
        await session.rollback()
        return AgentAction(AgentOutcome.NOT_HERE)
    ticket_id = ticket.id
    target: int | None = None
    if to is not None:
        found = Agent.user_id == to if isinstance(to, int) else Agent.username == to
        target = await session.scalar(select(Agent.user_id).where(found))
        if target is None:
            await session.rollback()
            return AgentAction(AgentOutcome.NO_SUCH_AGENT, ticket_id)
    await _register(session, agent, now)
    result = await tickets.transfer(
        session, policy, ticket_id=ticket_id, by_id=agent.user_id, to_agent_id=target, now=now
    )
    return AgentAction(AgentOutcome(result.outcome.value), ticket_id)


async def transfer_choices(
    session: AsyncSession, *, where: Where, agent: AgentRef, now: datetime
) -> TransferChoices:
    """The other agents online to transfer the ticket to (the asking agent is registered)."""
    ticket = await locate(session, where)
    if ticket is None:
        await session.rollback()
        return TransferChoices(_missing(where))
    ticket_id = ticket.id
    await _register(session, agent, now)
    await session.commit()
    others = tuple(
        (a.user_id, a.name)
        for a in await tickets.online_agents(session)
        if a.user_id != agent.user_id
    )
    await session.rollback()
    return TransferChoices(AgentOutcome.DONE, ticket_id, others)


async def set_presence(
    session: AsyncSession, *, agent: AgentRef, online: bool, now: datetime
) -> None:
    """`/online`, `/offline`: whether the agent gets tickets (auto-assign, SLA mentions)."""
    await _register(session, agent, now)
    await tickets.set_presence(session, agent_id=agent.user_id, online=online, now=now)


async def customer_history(session: AsyncSession, place: Place) -> tuple[PastTicket, ...] | None:
    """The latest tickets of the customer whose ticket is here, newest first (read only);
    None when not in a ticket."""
    ticket = await locate(session, place)
    if ticket is None:
        await session.rollback()
        return None
    rows = (
        await session.execute(
            select(Ticket.id, Ticket.opened_at, Ticket.state, Csat.score)
            .outerjoin(Csat, Csat.ticket_id == Ticket.id)
            .where(Ticket.user_id == ticket.user_id)
            .order_by(Ticket.id.desc())
            .limit(HISTORY_ROWS)
        )
    ).all()
    await session.rollback()
    return tuple(PastTicket(r.id, r.opened_at, r.state, r.score) for r in rows)
