"""Tickets: a customer's conversation with people, from handoff to close.

Rules owned here, each guarded by the database:
- one unclosed ticket per customer (a partial unique index);
- Take claims only an unassigned ticket, Close closes only an open one, the first response
  is recorded once (conditional UPDATEs: the second of two racing agents gets "already");
- a message within the reopen window after a close reopens the ticket; later, within the
  new-ticket window, it opens a new one; after that the FAQ answers again;
- every change that must reach Telegram is an outbox row written in the same transaction.

Functions take a session and commit (or roll back) before they return, so the caller
talks to Telegram with no database connection held.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import (
    Agent,
    Csat,
    CustomerTopic,
    FaqInteraction,
    Member,
    Ticket,
    TicketEvent,
    TicketMessage,
    User,
)
from support.hours import BusinessHours


class HandoffReason(StrEnum):
    BUTTON = "button"
    COMMAND = "command"
    KEYWORD = "keyword"
    MISSES = "misses"
    FEEDBACK = "feedback"
    FOLLOWUP = "followup"  # wrote again soon after a close
    COMPLAINT = "complaint"  # complained (投诉, "I want to complain"): a person at once
    TRIAGE = "triage"  # an admin handed an unanswered question to the desk (/unanswered)


class Kind(StrEnum):
    """Outbox row kinds of the desk; `bot/desk.py` delivers each."""

    CARD = "card"  # the ticket card, first post of a ticket (group lane)
    CARD_EDIT = "card_edit"  # redraw the card from the ticket's current state
    RELAY_IN = "relay_in"  # a customer message copied to the group
    ALBUM_IN = "album_in"  # a customer's album copied in one request
    EDIT_IN = "edit_in"  # a customer edited a relayed message
    RELAY_OUT = "relay_out"  # an agent message copied (or sent) to the customer
    EDIT_OUT = "edit_out"  # an agent edited a relayed message
    GROUP_NOTE = "group_note"  # a bot notice for the agents (reopened, blocked, SLA...)
    CUSTOMER_NOTE = "customer_note"  # a bot notice for the customer (closed + stars...)
    TOPIC_NAME = "topic_name"  # rename the customer's topic to show the state
    HISTORY = "history"  # the conversation so far, after a topic was re-created
    BOARD = "board"  # redraw the queue board (one message in the group, edited in place)


OPEN_STATES = ("new", "assigned", "waiting", "answered")


def group_lane(user_id: int) -> str:
    return f"t:{user_id}"


def customer_lane(user_id: int) -> str:
    return f"u:{user_id}"


def board_lane(chat_id: int) -> str:
    return f"b:{chat_id}"


# Outbox priorities in the support group: what agents act on goes before a background card.
URGENT = 0
BACKGROUND = 2  # the card of a ticket nobody has taken: posted when the group has room


@dataclass(frozen=True, slots=True)
class DeskPolicy:
    """The desk's settings, as the domain needs them (built from `Settings` in bot/)."""

    chat_id: int | None  # the support group; None: the desk is off, requests are recorded
    sla_seconds: int = 180
    realert_seconds: int = 120
    escalate_after: int = 2
    reopen_window: timedelta = timedelta(minutes=30)
    new_ticket_window: timedelta = timedelta(hours=24)
    csat_comment_window: timedelta = timedelta(minutes=10)
    hours: BusinessHours | None = None
    eta_sample: int = 50
    context_window: timedelta = timedelta(minutes=30)
    album_wait: timedelta = timedelta(milliseconds=1200)
    auto_assign: bool = False
    admin_ids: tuple[int, ...] = ()
    order_pattern: str = r"(?<!\d)\d{10,20}(?!\d)"
    # Customers at or above this membership tier (an index into the community's tiers) are
    # VIPs: their tickets go before the others' and are marked. None: nobody is.
    vip_tier: int | None = None
    # (tier index, agent's Telegram id): the tier's dedicated agent, assigned first when on duty.
    tier_agents: tuple[tuple[int, int], ...] = ()
    tier_names: tuple[str, ...] = ()  # in the agents' language, for the card
    # The queue board (SUPPORT_BOARD_SECONDS): tickets not yet in a topic, each with a Take
    # button, redrawn at most this long after a change; None: no board, every card at once.
    board_delay: timedelta | None = timedelta(seconds=3)
    board_tidy: timedelta = timedelta(seconds=30)  # after a card went out in the background

    def dedicated_agent(self, tier: int) -> int | None:
        """The agent of the highest tier at or below `tier` that has one."""
        found = [agent for index, agent in self.tier_agents if index <= tier]
        return found[-1] if found else None

    def is_vip(self, tier: int) -> bool:
        return self.vip_tier is not None and tier >= self.vip_tier

    @property
    def enabled(self) -> bool:
        return self.chat_id is not None

    def is_open(self, at: datetime) -> bool:
        return self.hours is None or self.hours.is_open(at)

    def next_open(self, at: datetime) -> datetime:
        return at if self.hours is None else self.hours.next_open(at)


@dataclass(frozen=True, slots=True)
class OpenResult:
    ticket_id: int
    created: bool  # False: the customer already had an open ticket
    reopened: bool = False
    position: int = 0  # 1 = next in line; 0 = already with an agent
    eta_minutes: int | None = None  # None: not enough data to promise a number
    opens_at: datetime | None = None  # set when the desk is closed now


@dataclass(frozen=True, slots=True)
class TicketView:
    """What routing needs to know about a customer's latest ticket."""

    id: int
    state: str
    closed_at: datetime | None
    lang: str
    csat_comment_open: bool = False

    @property
    def is_open(self) -> bool:
        return self.state != "closed"


def event(
    session: AsyncSession,
    ticket_id: int,
    kind: str,
    now: datetime,
    actor_id: int | None = None,
    **data: Any,
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket_id, kind=kind, actor_id=actor_id, data=data or None, created_at=now
        )
    )


async def group_note(
    session: AsyncSession,
    policy: DeskPolicy,
    ticket: Ticket,
    key: str,
    now: datetime,
    *,
    priority: int = 0,
    dedupe_key: str | None = None,
    **args: Any,
) -> None:
    """A notice for the agents in the customer's topic (or the group in reply mode)."""
    if not policy.enabled:
        return
    await outbox.enqueue(
        session,
        kind=Kind.GROUP_NOTE,
        lane=group_lane(ticket.user_id),
        chat_id=policy.chat_id,
        ticket_id=ticket.id,
        payload={"key": key, "args": args},
        priority=priority,
        dedupe_key=dedupe_key,
        now=now,
    )


async def customer_note(
    session: AsyncSession,
    ticket: Ticket,
    key: str,
    now: datetime,
    *,
    csat: bool = False,
    **args: Any,
) -> None:
    await outbox.enqueue(
        session,
        kind=Kind.CUSTOMER_NOTE,
        lane=customer_lane(ticket.user_id),
        chat_id=ticket.user_id,
        ticket_id=ticket.id,
        payload={"key": key, "args": args, "csat": csat},
        now=now,
    )


async def refresh_board(
    session: AsyncSession, policy: DeskPolicy, now: datetime, *, tidy: bool = False
) -> None:
    """Redraw the queue board soon: one pending row per board, moved earlier when a change
    needs it sooner (`tidy`: a card went out, the board can wait). Does not commit."""
    if not policy.enabled or policy.board_delay is None:
        return
    assert policy.chat_id is not None
    due = now + (policy.board_tidy if tidy else policy.board_delay)
    lane = board_lane(policy.chat_id)
    if not await outbox.bring_forward(session, lane=lane, kind=Kind.BOARD, due=due):
        await outbox.enqueue(
            session,
            kind=Kind.BOARD,
            lane=lane,
            chat_id=policy.chat_id,
            priority=URGENT,
            delay=due - now,
            now=now,
        )


async def refresh_card(
    session: AsyncSession, policy: DeskPolicy, ticket: Ticket, now: datetime
) -> None:
    """Redraw the card and the topic name; coalesced: one pending edit at a time.

    A ticket whose card is not out yet is on the queue board instead: the board is redrawn,
    and once someone has the ticket its card goes before the background ones."""
    if not policy.enabled:
        return
    if ticket.card_message_id is None:
        await refresh_board(session, policy, now)
        lane = group_lane(ticket.user_id)
        if ticket.assignee_id is not None:
            await outbox.bring_forward(
                session, lane=lane, kind=Kind.CARD, due=now, priority=URGENT
            )
        if await outbox.has_pending(session, ticket_id=ticket.id, kind=Kind.CARD):
            return  # the card (and the topic) will be drawn as the ticket is when it goes
    for kind, priority in ((Kind.CARD_EDIT, 1), (Kind.TOPIC_NAME, 2)):
        if not await outbox.has_pending(session, ticket_id=ticket.id, kind=kind):
            await outbox.enqueue(
                session,
                kind=kind,
                lane=group_lane(ticket.user_id),
                chat_id=policy.chat_id,
                ticket_id=ticket.id,
                priority=priority,
                now=now,
            )


# --- reading -----------------------------------------------------------------------------


async def latest_ticket(session: AsyncSession, user_id: int, now: datetime) -> TicketView | None:
    """The customer's latest ticket, and whether a CSAT comment is awaited (one query)."""
    row = (
        await session.execute(
            select(Ticket.id, Ticket.state, Ticket.closed_at, Ticket.lang, Csat.comment_until)
            .outerjoin(
                Csat,
                and_(
                    Csat.ticket_id == Ticket.id,
                    Csat.score.is_not(None),
                    Csat.comment.is_(None),
                ),
            )
            .where(Ticket.user_id == user_id)
            .order_by(Ticket.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    comment_until = row.comment_until
    return TicketView(
        row.id,
        row.state,
        row.closed_at,
        row.lang,
        csat_comment_open=comment_until is not None and comment_until >= now,
    )


def follow_up(view: TicketView | None, policy: DeskPolicy, now: datetime) -> str | None:
    """How a customer's message relates to their latest ticket.

    "open": it belongs to the open ticket; "reopen": within the reopen window after a close;
    "new": within the new-ticket window; None: the FAQ answers.
    """
    if view is None or not policy.enabled:
        return None
    if view.is_open:
        return "open"
    if view.closed_at is None:
        return None
    since = now - view.closed_at
    if since <= policy.reopen_window:
        return "reopen"
    if since <= policy.new_ticket_window:
        return "new"
    return None


@dataclass(frozen=True, slots=True)
class CustomerRoute:
    """A customer's message that belongs to the desk, and how (see `route_customer`)."""

    ticket: TicketView
    follow: str  # open | reopen | new | comment


async def route_customer(
    session: AsyncSession, policy: DeskPolicy, *, user_id: int, has_text: bool, now: datetime
) -> CustomerRoute | None:
    """Whether a customer's message goes to the desk: their open ticket, a reopen or a new
    ticket soon after a close (`follow_up`), or the comment awaited after a rating (text
    only). None: it does not, and the read is ended (the FAQ answers)."""
    if not policy.enabled:
        return None
    view = await latest_ticket(session, user_id, now)
    follow = follow_up(view, policy, now)
    comment = view is not None and view.csat_comment_open and has_text
    if view is None or (follow is None and not comment):
        await session.rollback()
        return None
    return CustomerRoute(view, "comment" if comment else follow or "open")


async def queue_position(session: AsyncSession, ticket: Ticket) -> int:
    if ticket.state != "new":
        return 0
    # VIP tickets go first; within each kind, first come first served.
    earlier = Ticket.id < ticket.id
    before = (
        and_(Ticket.vip.is_(True), earlier) if ticket.vip else (Ticket.vip.is_(True) | earlier)
    )
    ahead = await session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.state == "new", before)
    )
    return 1 + int(ahead or 0)


async def expected_wait_minutes(
    session: AsyncSession, policy: DeskPolicy, position: int, now: datetime
) -> int | None:
    """The median recent first-response time, scaled by the queue ahead and agents online."""
    rows = (
        await session.execute(
            select(Ticket.opened_at, Ticket.first_response_at)
            .where(
                Ticket.first_response_at.is_not(None),
                Ticket.opened_at >= now - timedelta(days=7),
                Ticket.out_of_hours.is_(False),
                Ticket.source == "desk",
            )
            .order_by(Ticket.id.desc())
            .limit(policy.eta_sample)
        )
    ).all()
    if len(rows) < 3:  # too few to promise anything
        return None
    median: float = statistics.median(
        (r.first_response_at - r.opened_at).total_seconds() for r in rows
    )
    online = await session.scalar(select(func.count()).select_from(Agent).where(Agent.online))
    rounds = math.ceil(max(position, 1) / max(int(online or 0), 1))
    return max(1, int(math.ceil(median * rounds / 60)))


# --- opening -----------------------------------------------------------------------------


async def _context(session: AsyncSession, ticket: Ticket, since: datetime, now: datetime) -> None:
    """Copy the FAQ conversation that led here, so the customer needn't repeat themselves."""
    rows = (
        await session.execute(
            select(FaqInteraction)
            .where(FaqInteraction.user_id == ticket.user_id, FaqInteraction.created_at >= since)
            .order_by(FaqInteraction.id)
            .limit(20)
        )
    ).scalars()
    for r in rows:
        session.add(
            TicketMessage(
                ticket_id=ticket.id,
                direction="context",
                author_id=ticket.user_id,
                kind="faq",
                text=r.question,
                entities={"entry": r.entry_id, "outcome": r.outcome, "feedback": r.feedback},
                delivery="none",
                created_at=r.created_at,
            )
        )


async def _member_tier(session: AsyncSession, user_id: int) -> int:
    return int(await session.scalar(select(Member.tier).where(Member.user_id == user_id)) or 0)


async def _assign_first(
    session: AsyncSession, policy: DeskPolicy, ticket: Ticket, tier: int, now: datetime
) -> None:
    """The tier's dedicated agent when they are on duty, else (with auto-assign on) the
    least busy agent on duty, else nobody: the ticket waits in the queue."""
    dedicated = policy.dedicated_agent(tier)
    if dedicated is not None:
        on_duty = await session.scalar(
            select(Agent.user_id).where(Agent.user_id == dedicated, Agent.online)
        )
        if on_duty is not None:
            await _assign_to(session, ticket, on_duty, now, dedicated=True)
            return
    if policy.auto_assign:
        await _auto_assign(session, ticket, now)


async def _auto_assign(session: AsyncSession, ticket: Ticket, now: datetime) -> None:
    load = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.assignee_id == Agent.user_id, Ticket.state != "closed")
        .scalar_subquery()
    )
    agent_id = await session.scalar(
        select(Agent.user_id)
        .where(Agent.online)
        .order_by(load, Agent.last_assigned_at.nulls_first(), Agent.user_id)
        .limit(1)
    )
    if agent_id is None:
        return
    await _assign_to(session, ticket, agent_id, now)


async def _assign_to(
    session: AsyncSession, ticket: Ticket, agent_id: int, now: datetime, *, dedicated: bool = False
) -> None:
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.assignee_id.is_(None))
        .values(assignee_id=agent_id, state="assigned", assigned_at=now)
    )
    await session.execute(
        update(Agent).where(Agent.user_id == agent_id).values(last_assigned_at=now)
    )
    extra = {"dedicated": True} if dedicated else {}
    event(session, ticket.id, "assigned", now, agent_id, auto=True, **extra)
    await session.refresh(ticket)


async def _reopen(
    session: AsyncSession, policy: DeskPolicy, ticket: Ticket, now: datetime
) -> bool:
    done = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.state == "closed")
        .values(
            state="waiting",
            closed_at=None,
            closed_by_kind=None,
            closed_by_id=None,
            reopen_count=Ticket.reopen_count + 1,
            last_customer_at=now,
            sla_due_at=policy.next_open(now) + timedelta(seconds=policy.sla_seconds),
            next_alert_at=policy.next_open(now) + timedelta(seconds=policy.sla_seconds),
            sla_alert_level=0,
        )
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        return False
    await session.refresh(ticket)
    event(session, ticket.id, "reopened", now, ticket.user_id)
    await group_note(session, policy, ticket, "ticket-reopened-note", now)
    await refresh_card(session, policy, ticket, now)
    return True


async def open_ticket(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    user_id: int,
    reason: HandoffReason,
    question: str | None,
    lang: str,
    now: datetime,
    complaint: bool = False,
) -> OpenResult:
    """Open (or find, or reopen) the customer's ticket and queue its card; commits.

    `complaint`: the ticket is marked as a complaint (a found or reopened one too)."""
    result = await open_uncommitted(
        session,
        policy,
        user_id=user_id,
        reason=reason,
        question=question,
        lang=lang,
        now=now,
        complaint=complaint,
    )
    await session.commit()
    return result


async def open_uncommitted(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    user_id: int,
    reason: HandoffReason,
    question: str | None,
    lang: str,
    now: datetime,
    complaint: bool = False,
) -> OpenResult:
    """`open_ticket` for a use case that does more in the same transaction: the caller
    commits (a lost race rolls back what came before, so call it first)."""
    existing = await session.scalar(
        select(Ticket).where(Ticket.user_id == user_id).order_by(Ticket.id.desc()).limit(1)
    )
    if existing is not None and existing.state != "closed":
        if complaint:
            await mark_complaint(session, policy, existing, now)
        return await _describe(session, policy, existing, now, created=False)
    if (
        existing is not None
        and existing.closed_at is not None
        and now - existing.closed_at <= policy.reopen_window
        and await _reopen(session, policy, existing, now)
    ):
        if complaint:
            await mark_complaint(session, policy, existing, now)
        return await _describe(session, policy, existing, now, created=False, reopened=True)

    out_of_hours = not policy.is_open(now)
    due = policy.next_open(now) + timedelta(seconds=policy.sla_seconds)
    tier = await _member_tier(session, user_id)
    ticket = Ticket(
        user_id=user_id,
        reason=reason.value,
        question=question,
        lang=lang,
        state="new",
        opened_at=now,
        last_customer_at=now,
        out_of_hours=out_of_hours,
        complaint=complaint,
        vip=policy.is_vip(tier),
        sla_due_at=due,
        next_alert_at=due,
    )
    session.add(ticket)
    try:
        await session.flush()
    except IntegrityError:  # a second handoff raced this one: it won, use its ticket
        await session.rollback()
        other = await session.scalar(
            select(Ticket).where(Ticket.user_id == user_id, Ticket.state != "closed")
        )
        assert other is not None
        return await _describe(session, policy, other, now, created=False)
    await _context(session, ticket, now - policy.context_window, now)
    event(session, ticket.id, "opened", now, user_id, reason=reason.value)
    if complaint:
        event(session, ticket.id, "complaint", now, user_id)
    if policy.enabled:
        await _assign_first(session, policy, ticket, tier, now)
        # Nobody has it yet: the board lists it at once, its topic and card come when an
        # agent takes it or the group has room (two of its ~20 posts a minute each).
        queued = ticket.assignee_id is None and policy.board_delay is not None
        await outbox.enqueue(
            session,
            kind=Kind.CARD,
            lane=group_lane(user_id),
            chat_id=policy.chat_id,
            ticket_id=ticket.id,
            dedupe_key=f"card:{ticket.id}",
            priority=BACKGROUND if queued else URGENT,
            now=now,
        )
        if queued:
            await refresh_board(session, policy, now)
    return await _describe(session, policy, ticket, now, created=True)


async def mark_complaint(
    session: AsyncSession, policy: DeskPolicy, ticket: Ticket, now: datetime
) -> bool:
    """Mark an existing ticket as a complaint and redraw its card and topic name; False
    when it was marked before. The caller commits."""
    marked = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.complaint.is_(False))
        .values(complaint=True)
    )
    if not marked.rowcount:  # type: ignore[attr-defined]
        return False
    await session.refresh(ticket, ["complaint"])
    event(session, ticket.id, "complaint", now, ticket.user_id)
    await refresh_card(session, policy, ticket, now)
    return True


async def _describe(
    session: AsyncSession,
    policy: DeskPolicy,
    ticket: Ticket,
    now: datetime,
    *,
    created: bool,
    reopened: bool = False,
) -> OpenResult:
    position = await queue_position(session, ticket)
    opens_at = None
    if policy.hours is not None and not policy.is_open(now):
        opens_at = policy.next_open(now).astimezone(policy.hours.tz)  # shown in shop time
    eta = None
    if position and opens_at is None:
        eta = await expected_wait_minutes(session, policy, position, now)
    return OpenResult(ticket.id, created, reopened, position, eta, opens_at)


async def reopen_for_message(
    session: AsyncSession, policy: DeskPolicy, *, user_id: int, now: datetime
) -> int | None:
    """Reopen the customer's last ticket for a new message (the caller relays it)."""
    ticket = await session.scalar(
        select(Ticket).where(Ticket.user_id == user_id).order_by(Ticket.id.desc()).limit(1)
    )
    if ticket is None or not await _reopen(session, policy, ticket, now):
        return None
    await session.flush()
    return ticket.id


# --- agents ------------------------------------------------------------------------------


async def register_agent(
    session: AsyncSession, *, user_id: int, name: str, username: str | None, now: datetime
) -> Agent:
    agent = await session.get(Agent, user_id)
    if agent is None:
        agent = Agent(user_id=user_id, name=name, username=username, online=True, created_at=now)
        agent.online_changed_at = now
        session.add(agent)
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            agent = await session.get(Agent, user_id)
            assert agent is not None
    elif agent.name != name or agent.username != username:
        agent.name, agent.username = name, username
    return agent


async def set_presence(
    session: AsyncSession, *, agent_id: int, online: bool, now: datetime
) -> None:
    await session.execute(
        update(Agent).where(Agent.user_id == agent_id).values(online=online, online_changed_at=now)
    )
    await session.commit()


async def online_agents(session: AsyncSession) -> list[Agent]:
    return list((await session.scalars(select(Agent).where(Agent.online))).all())


class TicketOutcome(StrEnum):
    DONE = "done"
    ALREADY = "already"  # taken by someone else / already closed / already rated
    CLOSED = "closed"  # the ticket is closed
    NOT_FOUND = "not_found"  # no such ticket (or not this customer's)


@dataclass(frozen=True, slots=True)
class ActionResult:
    outcome: TicketOutcome
    ticket: Ticket | None = None
    other: int | None = None  # who holds it, for "already taken"
    extra: dict[str, Any] = field(default_factory=dict)


async def take(
    session: AsyncSession, policy: DeskPolicy, *, ticket_id: int, agent_id: int, now: datetime
) -> ActionResult:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        await session.rollback()
        return ActionResult(TicketOutcome.NOT_FOUND)
    if ticket.state == "closed":
        await session.rollback()
        return ActionResult(TicketOutcome.CLOSED, ticket)
    done = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None), Ticket.state != "closed")
        .values(
            assignee_id=agent_id,
            assigned_at=now,
            state=case((Ticket.state == "new", "assigned"), else_=Ticket.state),
        )
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        await session.rollback()
        holder = await session.scalar(select(Ticket.assignee_id).where(Ticket.id == ticket_id))
        await session.rollback()
        if holder == agent_id:
            return ActionResult(TicketOutcome.DONE)
        return ActionResult(TicketOutcome.ALREADY, other=holder)
    await session.refresh(ticket)
    event(session, ticket_id, "taken", now, agent_id)
    await refresh_card(session, policy, ticket, now)
    await session.commit()
    return ActionResult(TicketOutcome.DONE, ticket)


async def transfer(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    ticket_id: int,
    by_id: int,
    to_agent_id: int | None,
    now: datetime,
) -> ActionResult:
    """Hand the ticket to another agent, or back to the queue (`to_agent_id=None`)."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        await session.rollback()
        return ActionResult(TicketOutcome.NOT_FOUND)
    if ticket.state == "closed":
        await session.rollback()
        return ActionResult(TicketOutcome.CLOSED, ticket)
    target = await session.get(Agent, to_agent_id) if to_agent_id is not None else None
    if to_agent_id is not None and target is None:
        await session.rollback()
        return ActionResult(TicketOutcome.NOT_FOUND, ticket)
    state = ticket.state
    if to_agent_id is None and state == "assigned":
        state = "new"
    elif to_agent_id is not None and state == "new":
        state = "assigned"
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.state != "closed")
        .values(assignee_id=to_agent_id, assigned_at=now if to_agent_id else None, state=state)
    )
    await session.refresh(ticket)
    event(session, ticket_id, "transferred", now, by_id, to=to_agent_id)
    name = target.name if target is not None else None
    await group_note(
        session,
        policy,
        ticket,
        "ticket-transferred",
        now,
        agent=name or "-",
        to_queue="yes" if to_agent_id is None else "no",
        mention=(target.username or "") if target else "",
    )
    await refresh_card(session, policy, ticket, now)
    await session.commit()
    return ActionResult(TicketOutcome.DONE, ticket, other=to_agent_id)


async def close(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    ticket_id: int,
    by_kind: str,
    by_id: int | None,
    note: str | None,
    now: datetime,
    customer_id: int | None = None,
) -> ActionResult:
    """Close once; the customer is told and asked for a rating (CSAT) in the same commit.

    `customer_id` restricts the close to that customer's own ticket (their button).
    """
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or (customer_id is not None and ticket.user_id != customer_id):
        await session.rollback()
        return ActionResult(TicketOutcome.NOT_FOUND)
    done = await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.state != "closed")
        .values(
            state="closed",
            closed_at=now,
            closed_by_kind=by_kind,
            closed_by_id=by_id,
            close_note=note,
            next_alert_at=None,
        )
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        await session.rollback()
        return ActionResult(TicketOutcome.ALREADY, ticket)
    await session.refresh(ticket)
    event(session, ticket_id, "closed", now, by_id, by=by_kind)
    existing = await session.get(Csat, ticket_id)
    if existing is None:
        session.add(Csat(ticket_id=ticket_id, user_id=ticket.user_id, asked_at=now))
    if by_kind == "customer":
        await group_note(session, policy, ticket, "ticket-closed-by-customer", now)
    elif ticket.customer_blocked_at is None:
        await customer_note(session, ticket, "ticket-closed-by-agent", now, csat=True)
    await refresh_card(session, policy, ticket, now)
    await session.commit()
    return ActionResult(TicketOutcome.DONE, ticket)


async def rate(
    session: AsyncSession,
    policy: DeskPolicy,
    *,
    ticket_id: int,
    user_id: int,
    score: int,
    now: datetime,
) -> TicketOutcome:
    if not 1 <= score <= 5:
        return TicketOutcome.NOT_FOUND
    done = await session.execute(
        update(Csat)
        .where(Csat.ticket_id == ticket_id, Csat.user_id == user_id, Csat.score.is_(None))
        .values(score=score, rated_at=now, comment_until=now + policy.csat_comment_window)
    )
    if done.rowcount:  # type: ignore[attr-defined]
        ticket = await session.get(Ticket, ticket_id)
        if ticket is not None:
            event(session, ticket_id, "rated", now, user_id, score=score)
            await group_note(session, policy, ticket, "csat-received", now, score=score)
        await session.commit()
        return TicketOutcome.DONE
    known = await session.scalar(
        select(Csat.ticket_id).where(Csat.ticket_id == ticket_id, Csat.user_id == user_id)
    )
    await session.rollback()
    return TicketOutcome.ALREADY if known is not None else TicketOutcome.NOT_FOUND


async def comment(
    session: AsyncSession, policy: DeskPolicy, *, user_id: int, text: str | None, now: datetime
) -> TicketOutcome:
    """The customer's optional comment after rating; `text=None` skips it."""
    row = await session.scalar(
        select(Csat)
        .where(
            Csat.user_id == user_id,
            Csat.score.is_not(None),
            Csat.comment.is_(None),
            Csat.comment_until >= now,
        )
        .order_by(Csat.ticket_id.desc())
        .limit(1)
    )
    if row is None:
        await session.rollback()
        return TicketOutcome.NOT_FOUND
    stored = await session.execute(
        update(Csat)
        .where(Csat.ticket_id == row.ticket_id, Csat.comment.is_(None))
        .values(comment=(text or "")[:2000], commented_at=now, comment_until=None)
    )
    if not stored.rowcount:  # type: ignore[attr-defined]
        await session.rollback()  # another message was the comment
        return TicketOutcome.NOT_FOUND
    if text:
        ticket = await session.get(Ticket, row.ticket_id)
        if ticket is not None:
            await group_note(session, policy, ticket, "csat-comment", now, comment=text[:2000])
    await session.commit()
    return TicketOutcome.DONE


# --- topics ------------------------------------------------------------------------------


async def topic_of(session: AsyncSession, user_id: int) -> CustomerTopic | None:
    return await session.get(CustomerTopic, user_id)


async def customer_by_thread(session: AsyncSession, chat_id: int, thread_id: int) -> int | None:
    return await session.scalar(
        select(CustomerTopic.user_id).where(
            CustomerTopic.chat_id == chat_id, CustomerTopic.thread_id == thread_id
        )
    )


async def ticket_for_customer(session: AsyncSession, user_id: int) -> Ticket | None:
    return await session.scalar(
        select(Ticket).where(Ticket.user_id == user_id).order_by(Ticket.id.desc()).limit(1)
    )


async def customer_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def reconcile(session: AsyncSession, policy: DeskPolicy, now: datetime) -> int:
    """At start-up: every unclosed ticket without a card gets one queued (imports included)."""
    if not policy.enabled:
        return 0
    rows = (
        await session.execute(
            select(Ticket.id, Ticket.user_id, Ticket.assignee_id).where(
                Ticket.state != "closed", Ticket.card_message_id.is_(None)
            )
        )
    ).all()
    queued = 0
    board = policy.board_delay is not None
    for ticket_id, user_id, assignee_id in rows:
        created = await outbox.enqueue(
            session,
            kind=Kind.CARD,
            lane=group_lane(user_id),
            chat_id=policy.chat_id,
            ticket_id=ticket_id,
            dedupe_key=f"card:{ticket_id}",
            priority=BACKGROUND if board and assignee_id is None else URGENT,
            now=now,
        )
        queued += created is not None
    if rows:
        await refresh_board(session, policy, now)
    await session.commit()
    return queued
