"""The queue board: the tickets no topic shows yet, for agents to take.

A burst of handoffs would cost the support group two posts per customer (a topic and a
card) at about 20 posts a minute. Instead the group gets one message, the board, edited in
place: the tickets nobody has taken whose card is not out yet, VIP first, each with a Take
button. Taking one brings its topic and card forward; the others' cards go out in the
background when the group has room, and leave the board then.

`tickets.refresh_board` queues the redraw (one pending row per board); the deliverer in
bot/desk.py reads `waiting` and records what it showed with `shown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DeskBoard, Member, Ticket, User
from storage.queries import insert_for

# Telegram allows 100 buttons in a message; the rest wait for the next redraw.
MAX_ON_BOARD = 90


@dataclass(frozen=True, slots=True)
class Waiting:
    """A ticket on the board."""

    ticket: Ticket
    user: User | None
    tier: int


async def waiting(session: AsyncSession, limit: int = MAX_ON_BOARD) -> tuple[list[Waiting], int]:
    """The board's tickets in queue order (VIP first, then first come), and how many more
    wait beyond `limit`. Leaves the transaction to the caller."""
    on_board = (
        Ticket.state == "new",
        Ticket.assignee_id.is_(None),
        Ticket.card_message_id.is_(None),
    )
    rows = (
        await session.execute(
            select(Ticket, User, Member.tier)
            .outerjoin(User, User.id == Ticket.user_id)
            .outerjoin(Member, Member.user_id == Ticket.user_id)
            .where(*on_board)
            .order_by(Ticket.vip.desc(), Ticket.id)
            .limit(limit + 1)
        )
    ).all()
    shown = [Waiting(ticket, user, int(tier or 0)) for ticket, user, tier in rows[:limit]]
    more = 0
    if len(rows) > limit:
        total = await session.scalar(select(func.count()).select_from(Ticket).where(*on_board))
        more = int(total or 0) - limit
    return shown, more


async def board_of(session: AsyncSession, chat_id: int) -> DeskBoard | None:
    return await session.get(DeskBoard, chat_id)


async def shown(
    session: AsyncSession,
    chat_id: int,
    *,
    message_id: int | None,
    digest: str | None,
    now: datetime,
) -> None:
    """Record the board's message and what it shows now; commits."""
    t = DeskBoard.__table__
    stmt = insert_for(session, t).values(
        chat_id=chat_id, message_id=message_id, digest=digest, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.chat_id],
        set_={"message_id": message_id, "digest": digest, "updated_at": now},
    )
    await session.execute(stmt)
    await session.commit()
