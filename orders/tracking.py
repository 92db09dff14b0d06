"""'Where is my order': what the customer is shown about their orders, and only theirs.

A number the customer wrote that is not theirs and a number that does not exist get the
same answer; a forged order id in a button too.

The question is kept with the FAQ conversation (`faq_interactions`, outcome ORDER_SHOWN or
ORDER_MISSING) so that a ticket opened afterwards shows it to the agents, and so that the
customer's next message without words ("#880123") is answered in the language they wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.intent import OrderQuestion
from orders.ownership import order_for, orders_of
from storage.models import FaqInteraction, Order

RECENT = 5
ORDER_SHOWN = "order"  # faq_interactions.outcome: the customer was shown their order(s)
ORDER_MISSING = "order_missing"  # not found, or no orders known


class Found(StrEnum):
    ORDER = "order"  # the order asked about (or the only one they have)
    NOT_FOUND = "not_found"  # not theirs, or no such order: the same to them
    LIST = "list"  # their recent orders, to pick from
    NONE = "none"  # no orders known for them: link a phone, or a person


@dataclass(frozen=True, slots=True)
class Tracking:
    found: Found
    order: Order | None = None
    orders: tuple[Order, ...] = ()
    lang: str | None = None  # the language to answer in, when the question showed one


async def _find(session: AsyncSession, user_id: int, question: OrderQuestion) -> Tracking:
    if question.numbers:
        for number in question.numbers:
            order = await order_for(session, user_id, number)
            if order is not None:
                return Tracking(Found.ORDER, order=order)
        return Tracking(Found.NOT_FOUND)
    recent = await orders_of(session, user_id, limit=RECENT)
    if not recent:
        return Tracking(Found.NONE)
    if len(recent) == 1:
        return Tracking(Found.ORDER, order=recent[0], orders=tuple(recent))
    return Tracking(Found.LIST, orders=tuple(recent))


async def where_is(
    session: AsyncSession,
    *,
    user_id: int,
    text: str,
    question: OrderQuestion,
    usual_lang: str,
    now: datetime,
) -> Tracking:
    """The customer's answer to an order question: the order they named when it is theirs,
    else their recent orders. The question is recorded; commits before returning.

    The answer's language: the question's words, else the language the customer last wrote
    in, else `usual_lang`."""
    found = await _find(session, user_id, question)
    lang = question.lang
    if lang is None:
        last = select(FaqInteraction.lang).where(FaqInteraction.user_id == user_id)
        lang = await session.scalar(last.order_by(FaqInteraction.id.desc()).limit(1))
    lang = lang or usual_lang
    shown = found.found in (Found.ORDER, Found.LIST)
    session.add(
        FaqInteraction(
            user_id=user_id,
            question=text,
            lang=lang,
            entry_id=None,
            confidence=1.0,
            outcome=ORDER_SHOWN if shown else ORDER_MISSING,
            created_at=now,
        )
    )
    await session.commit()  # the rows stay usable: no connection held while the bot replies
    return Tracking(found.found, found.order, found.orders, lang)


async def show(session: AsyncSession, *, user_id: int, order_id: str) -> Tracking:
    """One order from a button: shown when it is the customer's, else NOT_FOUND."""
    try:
        order = await order_for(session, user_id, order_id)
        return Tracking(Found.ORDER, order=order) if order else Tracking(Found.NOT_FOUND)
    finally:
        await session.commit()
