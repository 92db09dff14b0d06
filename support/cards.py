"""What a ticket card shows, read in one place: the customer, their tier, what the bot
answered them (and which answers they disliked) apart from what it could not answer, order
numbers they mentioned, their last orders from the shop, their earlier tickets and rating,
and the assigned agent. views/desk.py turns it into text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agent, Csat, Member, Order, Ticket, TicketMessage, User
from support.canned import find_order_numbers

SHOWN_ON_CARD = 5
ORDERS_ON_CARD = 5


# faq_interactions outcomes: the customer was shown an answer, or the bot had none (it
# offered choices, or nothing). Small talk (greeting, thanks, complaint...) is neither.
# "order" / "order_missing": an order question (orders.tracking), their order shown or not.
ANSWERED = frozenset({"answer", "picked", "menu", "order"})
NOT_ANSWERED = frozenset({"clarify", "handoff", "order_missing"})


@dataclass(frozen=True, slots=True)
class ShownAnswer:
    question: str
    answer: str  # the entry shown (answered) or the bot's best guess, else "-"
    disliked: bool


@dataclass(frozen=True, slots=True)
class CardFacts:
    ticket: Ticket
    user: User | None
    bot_answered: tuple[ShownAnswer, ...]  # what the bot answered before the handoff
    bot_missed: tuple[ShownAnswer, ...]  # what it could not answer
    orders: tuple[str, ...]  # order numbers the customer mentioned
    shop_orders: tuple[Order, ...]  # their last orders the shop sent (orders.ownership)
    tier: int  # their membership tier now (an index into the community's tiers)
    previous_tickets: int
    previous_csat: float | None
    agent_name: str | None


async def card_facts(
    session: AsyncSession, ticket: Ticket, *, shop_orders: Sequence[Order] = ()
) -> CardFacts:
    """Everything the card of `ticket` shows (read only). `shop_orders`: the customer's last
    orders, read by the caller (orders.ownership.orders_of: the desk does not own orders)."""
    user = await session.get(User, ticket.user_id)
    msgs = list(
        await session.scalars(
            select(TicketMessage)
            .where(
                TicketMessage.ticket_id == ticket.id,
                TicketMessage.direction.in_(("in", "context")),
            )
            .order_by(TicketMessage.id)
            .limit(50)
        )
    )
    answered: list[ShownAnswer] = []
    missed: list[ShownAnswer] = []
    for m in msgs:
        info = m.entities if isinstance(m.entities, dict) else {}
        outcome = info.get("outcome")
        if m.direction != "context" or outcome not in ANSWERED | NOT_ANSWERED:
            continue
        shown = ShownAnswer(
            question=m.text or "",
            answer=str(info.get("entry") or "-"),
            disliked=info.get("feedback") == "down",
        )
        (answered if outcome in ANSWERED else missed).append(shown)
    orders = find_order_numbers([m.text or "" for m in msgs] + [ticket.question or ""])
    count, avg = (
        await session.execute(
            select(func.count(Ticket.id), func.avg(Csat.score))
            .select_from(Ticket)
            .outerjoin(Csat, Csat.ticket_id == Ticket.id)
            .where(Ticket.user_id == ticket.user_id, Ticket.id < ticket.id)
        )
    ).one()
    agent = (
        await session.get(Agent, ticket.assignee_id) if ticket.assignee_id is not None else None
    )
    tier = await session.scalar(select(Member.tier).where(Member.user_id == ticket.user_id))
    return CardFacts(
        ticket=ticket,
        user=user,
        bot_answered=tuple(answered[-SHOWN_ON_CARD:]),
        bot_missed=tuple(missed[-SHOWN_ON_CARD:]),
        orders=tuple(orders[:ORDERS_ON_CARD]),
        shop_orders=tuple(shop_orders),
        tier=int(tier or 0),
        previous_tickets=int(count or 0),
        previous_csat=float(avg) if avg is not None else None,
        agent_name=agent.name if agent is not None else None,
    )
