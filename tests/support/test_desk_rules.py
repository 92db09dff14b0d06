"""The support desk's rules on SQLite and PostgreSQL, without Telegram.

Each test calls the domain functions (`support.tickets`, `support.relay`, `support.sla`) with
a session and a `DeskPolicy`, then checks what the database holds: tickets, their messages
and events, CSAT rows and the outbox rows the sender would deliver.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Select, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from storage import outbox
from storage.models import (
    Csat,
    FaqInteraction,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketMessage,
    User,
)
from support import relay, sla, tickets
from support.hours import parse_hours
from support.relay import Incoming, RelayStatus
from support.tickets import DeskPolicy, HandoffReason, OpenResult, TicketOutcome
from tests.conftest import T0
from tests.db_helpers import count, race, rows, until_waiting

GROUP = -100123
POLICY = DeskPolicy(chat_id=GROUP)  # sla 180 s, re-alert 120 s, escalate at level 2
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = parse_hours("mon-fri 09:00-18:00", "", "Asia/Shanghai")
SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)
MONDAY_OPEN = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)

CUSTOMER = 5_000_000_001  # Telegram ids exceed 32 bits
OTHERS = (5_000_000_002, 5_000_000_003, 5_000_000_004, 5_000_000_005)
ALICE, BOB = 7001, 7002  # agents
ADMIN = 900
CLOSED_AT = T0 + timedelta(minutes=10)  # when closed_ticket() closes


# --- helpers -----------------------------------------------------------------------------


def secs(n: float) -> timedelta:
    return timedelta(seconds=n)


async def add_users(session: AsyncSession, *ids: int) -> None:
    session.add_all(User(id=i, first_name=f"u{i}", first_seen=T0, last_seen=T0) for i in ids)
    await session.commit()


async def add_agents(session: AsyncSession, *ids: int) -> None:
    for agent_id in ids:
        await tickets.register_agent(
            session, user_id=agent_id, name=f"agent{agent_id}", username=None, now=T0
        )
    await session.commit()


async def open_for(
    session: AsyncSession,
    user_id: int = CUSTOMER,
    *,
    policy: DeskPolicy = POLICY,
    now: datetime = T0,
) -> OpenResult:
    return await tickets.open_ticket(
        session,
        policy,
        user_id=user_id,
        reason=HandoffReason.BUTTON,
        question="where is my parcel?",
        lang="en",
        now=now,
    )


async def ticket_row(session: AsyncSession, ticket_id: int) -> Ticket:
    (ticket,) = await rows(session, Ticket, Ticket.id == ticket_id)
    return ticket


async def queued(session: AsyncSession, *where: Any) -> list[OutboxMessage]:
    return await rows(session, OutboxMessage, *where)


async def not_board(session: AsyncSession, *where: Any) -> list[OutboxMessage]:
    """Queued rows other than the queue board's redraw."""
    return await queued(session, OutboxMessage.kind != tickets.Kind.BOARD, *where)


async def notes(session: AsyncSession, key: str) -> list[OutboxMessage]:
    found = await queued(session, OutboxMessage.kind == tickets.Kind.GROUP_NOTE)
    return [r for r in found if payload(r)["key"] == key]


def payload(row: OutboxMessage) -> dict[str, Any]:
    assert isinstance(row.payload, dict)
    return row.payload


def args(row: OutboxMessage) -> dict[str, Any]:
    found: dict[str, Any] = payload(row)["args"]
    return found


async def deliver_all(session: AsyncSession, now: datetime) -> None:
    """Play the sender: claim every due row, lane head by lane head, and mark it sent."""
    while batch := await outbox.claim(session, worker="test", now=now, lease=secs(60)):
        for row in batch:
            await outbox.mark_sent(session, row.id, now=now)


def customer_msg(message_id: int, *, kind: str = "text", **kwargs: Any) -> Incoming:
    return Incoming(
        chat_id=CUSTOMER, message_id=message_id, author_id=CUSTOMER, kind=kind, **kwargs
    )


def agent_msg(message_id: int, agent_id: int = ALICE, text: str = "on it") -> Incoming:
    return Incoming(
        chat_id=GROUP, message_id=message_id, author_id=agent_id, kind="text", text=text
    )


async def answered_ticket(session: AsyncSession) -> int:
    """CUSTOMER's ticket, answered by ALICE at T0 + 60 s."""
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE)
    ticket_id = (await open_for(session)).ticket_id
    result = await relay.from_agent(
        session, POLICY, ticket_id=ticket_id, msg=agent_msg(1), now=T0 + secs(60)
    )
    assert result.status is RelayStatus.QUEUED
    return ticket_id


async def closed_ticket(session: AsyncSession, *, at: datetime = CLOSED_AT) -> int:
    """CUSTOMER's ticket, answered and then closed by ALICE at `at` (CSAT asked)."""
    ticket_id = await answered_ticket(session)
    result = await tickets.close(
        session, POLICY, ticket_id=ticket_id, by_kind="agent", by_id=ALICE, note=None, now=at
    )
    assert result.outcome is TicketOutcome.DONE
    return ticket_id


def ticket_lock(ticket_id: int) -> Select[Any]:
    # FOR NO KEY UPDATE: holds UPDATEs of the ticket, not inserts that reference it.
    return select(Ticket.id).where(Ticket.id == ticket_id).with_for_update(key_share=True)


def csat_lock(ticket_id: int) -> Select[Any]:
    return select(Csat.ticket_id).where(Csat.ticket_id == ticket_id).with_for_update()


# --- 1. opening a ticket -----------------------------------------------------------------


async def test_open_ticket_records_it_and_queues_its_card(session: AsyncSession) -> None:
    await add_users(session, CUSTOMER)
    result = await open_for(session)
    assert result.created and not result.reopened
    assert (result.position, result.eta_minutes, result.opens_at) == (1, None, None)

    ticket = await ticket_row(session, result.ticket_id)
    assert (ticket.user_id, ticket.state, ticket.reason, ticket.lang) == (
        CUSTOMER,
        "new",
        "button",
        "en",
    )
    assert ticket.opened_at == T0 and not ticket.out_of_hours
    assert ticket.sla_due_at == ticket.next_alert_at == T0 + secs(POLICY.sla_seconds)

    (card,) = await not_board(session)
    assert (card.kind, card.dedupe_key, card.lane, card.chat_id, card.ticket_id) == (
        "card",
        f"card:{ticket.id}",
        f"t:{CUSTOMER}",
        GROUP,
        ticket.id,
    )
    assert card.status == "pending"
    # Nobody has it: its card waits for room in the group, the queue board lists it soon.
    assert card.priority == tickets.BACKGROUND
    (board,) = await queued(session, OutboxMessage.kind == tickets.Kind.BOARD)
    assert (board.lane, board.chat_id, board.status) == (f"b:{GROUP}", GROUP, "pending")
    assert POLICY.board_delay is not None
    assert board.next_attempt_at == T0 + POLICY.board_delay
    events = await rows(session, TicketEvent)
    assert [(e.kind, e.actor_id, e.data) for e in events] == [
        ("opened", CUSTOMER, {"reason": "button"})
    ]


async def test_a_second_handoff_finds_the_open_ticket(session: AsyncSession) -> None:
    await add_users(session, CUSTOMER)
    first = await open_for(session)
    again = await open_for(session, now=T0 + secs(30))
    assert (again.ticket_id, again.created, again.reopened) == (first.ticket_id, False, False)
    assert await count(session, Ticket) == 1
    assert len(await not_board(session)) == 1  # still the one card


async def test_racing_handoffs_open_one_ticket(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    """Two handoffs of one customer at once (two taps): the unique index picks one."""
    await add_users(session, CUSTOMER)

    async def handoff() -> OpenResult:
        async with session_factory() as s:
            return await open_for(s)

    # Locking the user holds both inserts at their foreign-key check.
    lock = select(User.id).where(User.id == CUSTOMER).with_for_update()
    results = await race(engine, lock, handoff, handoff)
    assert sorted(r.created for r in results) == [False, True]
    assert results[0].ticket_id == results[1].ticket_id
    assert await count(session, Ticket) == 1
    assert len(await not_board(session)) == 1


async def test_the_faq_conversation_within_the_context_window_is_copied(
    session: AsyncSession,
) -> None:
    await add_users(session, CUSTOMER, OTHERS[0])

    def asked(user_id: int, question: str, ago: timedelta) -> FaqInteraction:
        return FaqInteraction(
            user_id=user_id,
            question=question,
            lang="en",
            entry_id="shipping_time",
            confidence=0.4,
            outcome="clarify",
            feedback="down",
            created_at=T0 - ago,
        )

    session.add_all(
        [
            asked(CUSTOMER, "too old", POLICY.context_window + secs(1)),
            asked(CUSTOMER, "how long is shipping", timedelta(minutes=10)),
            asked(OTHERS[0], "someone else's", timedelta(minutes=5)),
            asked(CUSTOMER, "still not here", timedelta(minutes=1)),
        ]
    )
    await session.commit()
    ticket_id = (await open_for(session)).ticket_id

    copied = await rows(session, TicketMessage, TicketMessage.ticket_id == ticket_id)
    assert [(m.direction, m.kind, m.text, m.delivery, m.created_at) for m in copied] == [
        ("context", "faq", "how long is shipping", "none", T0 - timedelta(minutes=10)),
        ("context", "faq", "still not here", "none", T0 - timedelta(minutes=1)),
    ]
    assert copied[0].entities == {
        "entry": "shipping_time",
        "outcome": "clarify",
        "feedback": "down",
    }
    assert {m.author_id for m in copied} == {CUSTOMER}


async def test_queue_position_counts_the_new_tickets_before(session: AsyncSession) -> None:
    first, second, third = OTHERS[:3]
    await add_users(session, first, second, third, CUSTOMER)
    await add_agents(session, ALICE)
    assert (await open_for(session, first)).position == 1
    taken = await open_for(session, second, now=T0 + secs(1))
    assert taken.position == 2
    assert (await open_for(session, third, now=T0 + secs(2))).position == 3

    # A ticket an agent took is no longer in the queue, for itself or for those behind.
    await tickets.take(
        session, POLICY, ticket_id=taken.ticket_id, agent_id=ALICE, now=T0 + secs(3)
    )
    assert (await open_for(session, CUSTOMER, now=T0 + secs(4))).position == 3
    assert (await open_for(session, second, now=T0 + secs(5))).position == 0


async def _answered_samples(session: AsyncSession, *first_response_seconds: int) -> None:
    """Closed desk tickets of other customers, answered after the given seconds."""
    for user_id, seconds in zip(OTHERS, first_response_seconds, strict=False):
        opened = T0 - timedelta(hours=2)
        session.add(
            Ticket(
                user_id=user_id,
                reason="button",
                lang="en",
                state="closed",
                opened_at=opened,
                first_response_at=opened + secs(seconds),
                closed_at=opened + timedelta(hours=1),
            )
        )
    await session.commit()


async def test_no_wait_is_promised_from_fewer_than_three_answers(
    session: AsyncSession,
) -> None:
    await add_users(session, CUSTOMER, *OTHERS)
    await _answered_samples(session, 60, 120)
    result = await open_for(session)
    assert (result.position, result.eta_minutes) == (1, None)


async def test_the_wait_is_the_median_first_response_scaled_by_the_queue(
    session: AsyncSession,
) -> None:
    """Median of 60/120/600 s is 2 min a round; 3 in line with 1 agent online: 3 rounds,
    with 2 agents: 2 rounds."""
    await add_users(session, CUSTOMER, *OTHERS)
    await _answered_samples(session, 60, 120, 600)
    assert (await open_for(session, CUSTOMER)).eta_minutes == 2  # no agent online counts as 1

    await add_agents(session, ALICE)
    assert await tickets.expected_wait_minutes(session, POLICY, 3, T0 + secs(2)) == 6
    await add_agents(session, BOB)
    assert await tickets.expected_wait_minutes(session, POLICY, 3, T0 + secs(2)) == 4
    await tickets.set_presence(session, agent_id=BOB, online=False, now=T0)
    assert await tickets.expected_wait_minutes(session, POLICY, 3, T0 + secs(2)) == 6


async def test_a_ticket_opened_out_of_hours_is_due_after_the_opening(
    session: AsyncSession,
) -> None:
    """Saturday noon in Shanghai: the desk opens Monday 09:00; the SLA counts from then."""
    policy = DeskPolicy(chat_id=GROUP, hours=WEEKDAYS)
    await add_users(session, CUSTOMER, *OTHERS)
    await _answered_samples(session, 60, 120, 600)  # an ETA would be known in hours
    result = await open_for(session, policy=policy, now=SATURDAY_NOON)

    assert result.created and result.position == 1
    assert result.opens_at == MONDAY_OPEN
    assert result.opens_at is not None and result.opens_at.utcoffset() == timedelta(hours=8)
    assert result.eta_minutes is None
    ticket = await ticket_row(session, result.ticket_id)
    assert ticket.out_of_hours
    due = MONDAY_OPEN + secs(policy.sla_seconds)
    assert ticket.sla_due_at == ticket.next_alert_at == due
    assert len(await queued(session, OutboxMessage.kind == "card")) == 1
    # Nobody is alerted over the weekend.
    assert await sla.run_due(session, policy, due - secs(1)) == 0


async def test_with_the_desk_off_a_ticket_is_recorded_but_nothing_is_sent(
    session: AsyncSession,
) -> None:
    await add_users(session, CUSTOMER)
    result = await open_for(session, policy=DeskPolicy(chat_id=None))
    assert result.created
    assert (await ticket_row(session, result.ticket_id)).state == "new"
    assert await queued(session) == []


# --- 2. one unclosed ticket per customer ---------------------------------------------------


async def test_the_database_allows_one_unclosed_ticket_per_customer(
    session: AsyncSession,
) -> None:
    await add_users(session, CUSTOMER)

    def ticket() -> Ticket:
        return Ticket(user_id=CUSTOMER, reason="import", lang="en", state="new", opened_at=T0)

    first = ticket()
    session.add(first)
    await session.commit()
    first_id = first.id
    session.add(ticket())
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.rollback()

    await session.execute(update(Ticket).where(Ticket.id == first_id).values(state="closed"))
    session.add(ticket())
    await session.commit()
    assert await count(session, Ticket, Ticket.user_id == CUSTOMER) == 2


# --- 3. racing agents and customers ------------------------------------------------------


async def test_racing_takes_give_the_ticket_to_one_agent(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE, BOB)
    ticket_id = (await open_for(session)).ticket_id

    async def take(agent_id: int) -> tickets.ActionResult:
        async with session_factory() as s:
            return await tickets.take(
                s, POLICY, ticket_id=ticket_id, agent_id=agent_id, now=T0 + secs(5)
            )

    a, b = await race(engine, ticket_lock(ticket_id), lambda: take(ALICE), lambda: take(BOB))
    assert sorted([a.outcome, b.outcome]) == sorted([TicketOutcome.DONE, TicketOutcome.ALREADY])
    winner, loser = (ALICE, b) if a.outcome is TicketOutcome.DONE else (BOB, a)
    assert loser.other == winner

    ticket = await ticket_row(session, ticket_id)
    assert (ticket.assignee_id, ticket.state, ticket.assigned_at) == (
        winner,
        "assigned",
        T0 + secs(5),
    )
    taken = await rows(session, TicketEvent, TicketEvent.kind == "taken")
    assert [e.actor_id for e in taken] == [winner]
    # The winner taking it again is not an error.
    again = await tickets.take(
        session, POLICY, ticket_id=ticket_id, agent_id=winner, now=T0 + secs(6)
    )
    assert again.outcome is TicketOutcome.DONE


async def test_racing_closes_close_once_and_ask_for_one_rating(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    ticket_id = await answered_ticket(session)

    async def close(by_kind: str, by_id: int) -> tickets.ActionResult:
        async with session_factory() as s:
            return await tickets.close(
                s,
                POLICY,
                ticket_id=ticket_id,
                by_kind=by_kind,
                by_id=by_id,
                note=None,
                now=T0 + secs(300),
            )

    a, b = await race(
        engine,
        ticket_lock(ticket_id),
        lambda: close("agent", ALICE),
        lambda: close("customer", CUSTOMER),
    )
    assert sorted([a.outcome, b.outcome]) == sorted([TicketOutcome.DONE, TicketOutcome.ALREADY])

    ticket = await ticket_row(session, ticket_id)
    assert (ticket.state, ticket.closed_at, ticket.next_alert_at) == (
        "closed",
        T0 + secs(300),
        None,
    )
    assert await count(session, Csat) == 1
    assert await count(session, TicketEvent, TicketEvent.kind == "closed") == 1


async def test_racing_ratings_count_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    ticket_id = await closed_ticket(session)

    async def rate(score: int) -> TicketOutcome:
        async with session_factory() as s:
            return await tickets.rate(
                s, POLICY, ticket_id=ticket_id, user_id=CUSTOMER, score=score, now=T0 + secs(700)
            )

    outcomes = await race(engine, csat_lock(ticket_id), lambda: rate(5), lambda: rate(1))
    assert sorted(outcomes) == sorted([TicketOutcome.DONE, TicketOutcome.ALREADY])
    (csat,) = await rows(session, Csat)
    assert csat.score == (5 if outcomes[0] is TicketOutcome.DONE else 1)
    assert csat.comment_until == T0 + secs(700) + POLICY.csat_comment_window
    assert len(await notes(session, "csat-received")) == 1


# --- 4. customer messages ----------------------------------------------------------------


async def test_a_customer_message_is_stored_then_queued_once(session: AsyncSession) -> None:
    await add_users(session, CUSTOMER)
    ticket_id = (await open_for(session)).ticket_id
    msg = customer_msg(41, text="order 1234567890 is late")
    result = await relay.from_customer(
        session, POLICY, ticket_id=ticket_id, msg=msg, now=T0 + secs(10)
    )
    assert result.status is RelayStatus.QUEUED

    (stored,) = await rows(session, TicketMessage)
    assert (stored.direction, stored.delivery, stored.text) == (
        "in",
        "pending",
        "order 1234567890 is late",
    )
    assert (stored.src_chat_id, stored.src_message_id) == (CUSTOMER, 41)
    (row,) = await queued(session, OutboxMessage.kind == "relay_in")
    assert (row.lane, row.chat_id, row.ticket_message_id, row.dedupe_key) == (
        f"t:{CUSTOMER}",
        GROUP,
        stored.id,
        f"in:{CUSTOMER}:41",
    )
    assert (await ticket_row(session, ticket_id)).last_customer_at == T0 + secs(10)

    # Telegram delivers the same update again.
    before = len(await queued(session))
    replay = await relay.from_customer(
        session, POLICY, ticket_id=ticket_id, msg=msg, now=T0 + secs(20)
    )
    assert replay.status is RelayStatus.REPLAY
    assert await count(session, TicketMessage) == 1
    assert len(await queued(session)) == before
    assert (await ticket_row(session, ticket_id)).last_customer_at == T0 + secs(10)


async def test_a_customer_writing_after_an_answer_waits_again(session: AsyncSession) -> None:
    ticket_id = await answered_ticket(session)
    answered = await ticket_row(session, ticket_id)
    assert (answered.state, answered.sla_due_at, answered.next_alert_at) == (
        "answered",
        None,
        None,
    )
    now = T0 + secs(400)
    await relay.from_customer(
        session, POLICY, ticket_id=ticket_id, msg=customer_msg(42, text="and?"), now=now
    )
    ticket = await ticket_row(session, ticket_id)
    due = now + secs(POLICY.sla_seconds)
    assert (ticket.state, ticket.sla_due_at, ticket.next_alert_at, ticket.sla_alert_level) == (
        "waiting",
        due,
        due,
        0,
    )


async def test_a_customer_writing_after_an_answer_redraws_the_card(
    session: AsyncSession,
) -> None:
    """The card and topic name show the state: answered -> waiting must redraw them."""
    ticket_id = await answered_ticket(session)
    await deliver_all(session, T0 + secs(60))  # the sender redrew the card for "answered"
    await relay.from_customer(
        session, POLICY, ticket_id=ticket_id, msg=customer_msg(42, text="and?"), now=T0 + secs(400)
    )
    pending = await queued(session, OutboxMessage.status == "pending")
    assert {r.kind for r in pending} >= {"card_edit", "topic_name"}


async def test_a_customer_writing_out_of_hours_after_an_answer_is_due_after_the_opening(
    session: AsyncSession,
) -> None:
    """Friday's answered ticket, the customer writes on Saturday: nobody is there, so no
    SLA alerts (escalating to the admins) all weekend; the clock starts Monday 09:00."""
    policy = DeskPolicy(chat_id=GROUP, hours=WEEKDAYS)
    ticket_id = await answered_ticket(session)  # Friday 10:00 in Shanghai
    await relay.from_customer(
        session, policy, ticket_id=ticket_id, msg=customer_msg(42), now=SATURDAY_NOON
    )
    ticket = await ticket_row(session, ticket_id)
    assert ticket.state == "waiting"
    assert ticket.sla_due_at == MONDAY_OPEN + secs(policy.sla_seconds)
    assert await sla.run_due(session, policy, SATURDAY_NOON + timedelta(hours=1)) == 0


async def test_racing_takes_from_the_board_bring_one_card_forward_and_keep_one_board_row(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    """Two agents tap Take on the board at once: one gets the ticket, its background card
    becomes urgent and due now, and the board still has one pending redraw."""
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE, BOB)
    ticket_id = (await open_for(session)).ticket_id

    async def take(agent_id: int) -> tickets.ActionResult:
        async with session_factory() as s:
            return await tickets.take(
                s, POLICY, ticket_id=ticket_id, agent_id=agent_id, now=T0 + secs(1)
            )

    a, b = await race(engine, ticket_lock(ticket_id), lambda: take(ALICE), lambda: take(BOB))
    assert sorted([a.outcome, b.outcome]) == sorted([TicketOutcome.DONE, TicketOutcome.ALREADY])
    session.expire_all()
    (card,) = await queued(session, OutboxMessage.kind == tickets.Kind.CARD)
    assert (card.priority, card.status) == (tickets.URGENT, "pending")
    assert card.next_attempt_at <= T0 + secs(1)  # due
    (board,) = await queued(session, OutboxMessage.kind == tickets.Kind.BOARD)
    assert board.status == "pending"
    assert board.next_attempt_at == T0 + secs(3)  # the open's redraw, not pushed later
    # The card is drawn as the ticket is when it goes: no edit queued behind it.
    assert await queued(session, OutboxMessage.kind == tickets.Kind.CARD_EDIT) == []


async def test_an_album_is_one_row_until_the_sender_takes_it(session: AsyncSession) -> None:
    """Items of one media group join the album's pending row; once the sender has claimed
    it, a late item goes on its own."""
    await add_users(session, CUSTOMER)
    ticket_id = (await open_for(session)).ticket_id
    await deliver_all(session, T0)  # the card is out of the lane

    def photo(message_id: int) -> Incoming:
        return customer_msg(
            message_id, kind="photo", file_id=f"f{message_id}", media_group_id="g1"
        )

    for n, message_id in enumerate((51, 52, 53)):
        result = await relay.from_customer(
            session, POLICY, ticket_id=ticket_id, msg=photo(message_id), now=T0 + secs(n / 10)
        )
        assert result.status is RelayStatus.QUEUED
    assert await count(session, TicketMessage, TicketMessage.media_group_id == "g1") == 3
    (album,) = await not_board(session, OutboxMessage.status == "pending")
    assert (album.kind, album.dedupe_key, album.lane) == (
        "album_in",
        f"album:{CUSTOMER}:g1",
        f"t:{CUSTOMER}",
    )
    assert album.payload == {"media_group_id": "g1", "from_chat_id": CUSTOMER}
    assert album.next_attempt_at == T0 + POLICY.album_wait  # waits for the other items

    claimed = await outbox.claim(session, worker="w", now=T0 + secs(2), lease=secs(60))
    assert [c.id for c in claimed] == [album.id]

    await relay.from_customer(
        session, POLICY, ticket_id=ticket_id, msg=photo(54), now=T0 + secs(3)
    )
    late = await not_board(session, OutboxMessage.status == "pending")
    assert [(r.kind, r.dedupe_key) for r in late] == [("relay_in", f"in:{CUSTOMER}:54")]
    assert await count(session, OutboxMessage, OutboxMessage.kind == "album_in") == 1


# --- 5. agent messages -------------------------------------------------------------------


async def test_the_first_agent_message_claims_and_answers(session: AsyncSession) -> None:
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE, BOB)
    ticket_id = (await open_for(session)).ticket_id

    first = await relay.from_agent(
        session, POLICY, ticket_id=ticket_id, msg=agent_msg(1), now=T0 + secs(60)
    )
    assert (first.status, first.claimed, first.first_response) == (RelayStatus.QUEUED, True, True)
    ticket = await ticket_row(session, ticket_id)
    assert (ticket.state, ticket.assignee_id, ticket.assigned_at) == (
        "answered",
        ALICE,
        T0 + secs(60),
    )
    assert (ticket.first_response_at, ticket.first_responder_id) == (T0 + secs(60), ALICE)
    assert (ticket.sla_due_at, ticket.next_alert_at) == (None, None)
    (out,) = await queued(session, OutboxMessage.kind == "relay_out")
    (stored,) = await rows(session, TicketMessage, TicketMessage.direction == "out")
    assert (out.lane, out.chat_id, out.ticket_message_id, out.dedupe_key) == (
        f"u:{CUSTOMER}",
        CUSTOMER,
        stored.id,
        f"out:{GROUP}:1",
    )
    assert stored.delivery == "pending"

    second = await relay.from_agent(
        session, POLICY, ticket_id=ticket_id, msg=agent_msg(2, BOB), now=T0 + secs(90)
    )
    assert (second.claimed, second.first_response) == (False, False)
    ticket = await ticket_row(session, ticket_id)
    assert (ticket.assignee_id, ticket.first_response_at, ticket.first_responder_id) == (
        ALICE,
        T0 + secs(60),
        ALICE,
    )
    assert ticket.last_agent_at == T0 + secs(90)
    assert len(await queued(session, OutboxMessage.kind == "relay_out")) == 2
    kinds = [e.kind for e in await rows(session, TicketEvent)]
    assert kinds.count("first_response") == 1 and kinds.count("taken") == 1


async def test_an_agent_message_to_a_closed_ticket_is_refused(session: AsyncSession) -> None:
    ticket_id = await closed_ticket(session)
    messages = await count(session, TicketMessage)
    rows_before = len(await queued(session))
    result = await relay.from_agent(
        session, POLICY, ticket_id=ticket_id, msg=agent_msg(9), now=T0 + secs(900)
    )
    assert result.status is RelayStatus.CLOSED
    assert await count(session, TicketMessage) == messages
    assert len(await queued(session)) == rows_before


async def test_an_agent_message_to_a_blocked_customer_is_kept_not_sent(
    session: AsyncSession,
) -> None:
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE)
    ticket_id = (await open_for(session)).ticket_id
    await session.execute(
        update(Ticket).where(Ticket.id == ticket_id).values(customer_blocked_at=T0)
    )
    await session.commit()

    result = await relay.from_agent(
        session, POLICY, ticket_id=ticket_id, msg=agent_msg(1), now=T0 + secs(60)
    )
    assert result.status is RelayStatus.QUEUED
    (stored,) = await rows(session, TicketMessage, TicketMessage.direction == "out")
    assert stored.delivery == "dropped"
    assert await queued(session, OutboxMessage.lane == f"u:{CUSTOMER}") == []
    (note,) = await notes(session, "customer-blocked")
    assert (note.lane, note.chat_id, note.ticket_id) == (f"t:{CUSTOMER}", GROUP, ticket_id)


async def test_racing_first_replies_claim_the_ticket_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    request: pytest.FixtureRequest,
    db_url: str,
) -> None:
    """Two agents answer an unassigned ticket at once: one of them claims it, like `take`."""
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE, BOB)
    ticket_id = (await open_for(session)).ticket_id

    async def reply(agent_id: int, message_id: int) -> relay.RelayResult:
        async with session_factory() as s:
            return await relay.from_agent(
                s,
                POLICY,
                ticket_id=ticket_id,
                msg=agent_msg(message_id, agent_id),
                now=T0 + secs(60),
            )

    a, b = await race(
        engine, ticket_lock(ticket_id), lambda: reply(ALICE, 1), lambda: reply(BOB, 2)
    )
    assert sorted([a.claimed, b.claimed]) == [False, True]
    claimer = ALICE if a.claimed else BOB
    assert (await ticket_row(session, ticket_id)).assignee_id == claimer
    taken = await rows(session, TicketEvent, TicketEvent.kind == "taken")
    assert [e.actor_id for e in taken] == [claimer]


async def test_a_reply_racing_a_take_does_not_undo_it(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    request: pytest.FixtureRequest,
    db_url: str,
) -> None:
    """BOB presses Take while ALICE's first reply is being stored: whoever the ticket ends
    with, an agent told "done" must hold it."""
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE, BOB)
    ticket_id = (await open_for(session)).ticket_id

    async def reply() -> relay.RelayResult:
        async with session_factory() as s:
            return await relay.from_agent(
                s, POLICY, ticket_id=ticket_id, msg=agent_msg(1, ALICE), now=T0 + secs(60)
            )

    async def take() -> tickets.ActionResult:
        async with session_factory() as s:
            return await tickets.take(
                s, POLICY, ticket_id=ticket_id, agent_id=BOB, now=T0 + secs(60)
            )

    if engine.dialect.name != "postgresql":
        replied, took = await asyncio.gather(reply(), take())
    else:
        async with engine.connect() as conn:
            # An uncommitted row with ALICE's message id: her reply reads the ticket, then
            # waits at its insert (the unique source id) while BOB's take runs and commits.
            await conn.execute(
                insert(TicketMessage).values(
                    ticket_id=ticket_id,
                    direction="out",
                    kind="text",
                    src_chat_id=GROUP,
                    src_message_id=1,
                    created_at=T0,
                )
            )
            replying = asyncio.ensure_future(reply())
            await until_waiting(conn, 1, [replying])
            took = await take()
            await conn.rollback()
            replied = await replying
    holder = (await ticket_row(session, ticket_id)).assignee_id
    if took.outcome is TicketOutcome.DONE:
        assert holder == BOB and not replied.claimed
    else:
        assert (took.outcome, took.other, holder, replied.claimed) == (
            TicketOutcome.ALREADY,
            ALICE,
            ALICE,
            True,
        )
    assert await count(session, TicketEvent, TicketEvent.kind == "taken") == 1


# --- 6. a customer who blocked the bot ---------------------------------------------------


async def test_an_unreachable_customer_is_flagged_once_and_their_queue_dropped(
    session: AsyncSession,
) -> None:
    ticket_id = await answered_ticket(session)
    await relay.from_agent(
        session, POLICY, ticket_id=ticket_id, msg=agent_msg(2), now=T0 + secs(70)
    )
    to_customer = await queued(session, OutboxMessage.lane == f"u:{CUSTOMER}")
    assert len(to_customer) == 2 and {r.status for r in to_customer} == {"pending"}

    now = T0 + secs(80)
    assert await relay.customer_unreachable(session, POLICY, user_id=CUSTOMER, now=now)
    assert not await relay.customer_unreachable(
        session, POLICY, user_id=CUSTOMER, now=now + secs(1)
    )

    (user,) = await rows(session, User, User.id == CUSTOMER)
    assert (user.blocked, user.blocked_at) == (True, now)
    assert (await ticket_row(session, ticket_id)).customer_blocked_at == now
    to_customer = await queued(session, OutboxMessage.lane == f"u:{CUSTOMER}")
    assert {(r.status, r.last_error) for r in to_customer} == {("dropped", "blocked")}
    (note,) = await notes(session, "customer-blocked")
    assert (note.priority, note.status) == (1, "pending")
    assert await count(session, TicketEvent, TicketEvent.kind == "blocked") == 1


async def test_a_customer_who_comes_back_is_reachable_again(session: AsyncSession) -> None:
    ticket_id = await answered_ticket(session)
    await relay.customer_unreachable(session, POLICY, user_id=CUSTOMER, now=T0 + secs(80))

    assert await relay.customer_back(session, POLICY, user_id=CUSTOMER, now=T0 + secs(90))
    assert not await relay.customer_back(session, POLICY, user_id=CUSTOMER, now=T0 + secs(91))
    (user,) = await rows(session, User, User.id == CUSTOMER)
    assert not user.blocked
    assert (await ticket_row(session, ticket_id)).customer_blocked_at is None
    assert len(await notes(session, "customer-back")) == 1

    await relay.from_agent(
        session, POLICY, ticket_id=ticket_id, msg=agent_msg(3), now=T0 + secs(100)
    )
    pending = await queued(
        session, OutboxMessage.lane == f"u:{CUSTOMER}", OutboxMessage.status == "pending"
    )
    assert [r.kind for r in pending] == ["relay_out"]


# --- 7. first-response SLA ---------------------------------------------------------------


async def test_sla_alerts_rise_and_escalate_to_the_admins(session: AsyncSession) -> None:
    policy = DeskPolicy(chat_id=GROUP, escalate_after=2, admin_ids=(ADMIN,))
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE)  # online
    ticket_id = (await open_for(session, policy=policy)).ticket_id
    due = T0 + secs(policy.sla_seconds)

    assert await sla.run_due(session, policy, due - secs(1)) == 0
    assert await notes(session, "sla-alert") == []

    assert await sla.run_due(session, policy, due) == 1
    (alert,) = await notes(session, "sla-alert")
    assert args(alert) == {"minutes": 3, "level": 1, "mentions": [ALICE]}
    assert (alert.priority, alert.dedupe_key) == (1, f"sla:{ticket_id}:{int(due.timestamp())}:1")
    ticket = await ticket_row(session, ticket_id)
    assert (ticket.sla_breached_at, ticket.sla_alert_level) == (due, 1)
    assert ticket.next_alert_at == due + secs(policy.realert_seconds)

    assert await sla.run_due(session, policy, due) == 0
    assert await sla.run_due(session, policy, due + secs(policy.realert_seconds - 1)) == 0
    assert len(await notes(session, "sla-alert")) == 1

    later = due + secs(policy.realert_seconds)
    assert await sla.run_due(session, policy, later) == 1
    first, second = await notes(session, "sla-alert")
    assert (args(first)["level"], args(second)["level"]) == (1, 2)
    assert args(second)["mentions"] == [ALICE, ADMIN]
    ticket = await ticket_row(session, ticket_id)
    assert (ticket.sla_breached_at, ticket.sla_alert_level) == (due, 2)  # first breach kept
    assert ticket.next_alert_at == later + secs(policy.realert_seconds)


async def test_racing_sla_runs_raise_each_level_once(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    """Two schedulers (or processes) at the same instant: each level is claimed once."""
    await add_users(session, CUSTOMER)
    ticket_id = (await open_for(session)).ticket_id
    due = T0 + secs(POLICY.sla_seconds)

    async def run(now: datetime) -> int:
        async with session_factory() as s:
            return await sla.run_due(s, POLICY, now)

    for level, now in ((1, due), (2, due + secs(POLICY.realert_seconds))):
        raised = await race(engine, ticket_lock(ticket_id), partial(run, now), partial(run, now))
        assert sorted(raised) == [0, 1]
        alerts = await notes(session, "sla-alert")
        assert [args(a)["level"] for a in alerts] == list(range(1, level + 1))
    assert await count(session, TicketEvent, TicketEvent.kind == "sla_alert") == 2


async def test_an_agent_reply_stops_the_sla_alerts(session: AsyncSession) -> None:
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE)
    ticket_id = (await open_for(session)).ticket_id
    due = T0 + secs(POLICY.sla_seconds)
    assert await sla.run_due(session, POLICY, due) == 1

    await relay.from_agent(
        session, POLICY, ticket_id=ticket_id, msg=agent_msg(1), now=due + secs(10)
    )
    ticket = await ticket_row(session, ticket_id)
    assert (ticket.next_alert_at, ticket.sla_alert_level) == (None, 0)
    assert await sla.run_due(session, POLICY, due + timedelta(hours=1)) == 0
    assert len(await notes(session, "sla-alert")) == 1


async def test_a_breach_after_the_customer_writes_again_is_alerted(
    session: AsyncSession,
) -> None:
    """Breach, answer, the customer writes again, breach again: the group hears of both."""
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE)
    ticket_id = (await open_for(session)).ticket_id
    due = T0 + secs(POLICY.sla_seconds)
    assert await sla.run_due(session, POLICY, due) == 1
    await relay.from_agent(
        session, POLICY, ticket_id=ticket_id, msg=agent_msg(1), now=due + secs(10)
    )
    wrote = due + secs(60)
    await relay.from_customer(
        session, POLICY, ticket_id=ticket_id, msg=customer_msg(42, text="hello?"), now=wrote
    )
    assert await sla.run_due(session, POLICY, wrote + secs(POLICY.sla_seconds)) == 1
    alerts = await notes(session, "sla-alert")
    assert [args(a)["level"] for a in alerts] == [1, 1]


# --- 8. after a close: reopen, new ticket or FAQ -----------------------------------------


async def test_a_message_after_a_close_reopens_then_opens_anew_then_goes_to_the_faq(
    session: AsyncSession,
) -> None:
    """Within the reopen window (30 min) it reopens, then until the new-ticket window (24 h)
    it opens a new ticket, after that the FAQ answers; both windows include their end."""

    async def follow(now: datetime) -> str | None:
        view = await tickets.latest_ticket(session, CUSTOMER, now)
        await session.commit()
        return tickets.follow_up(view, POLICY, now)

    await add_users(session, CUSTOMER)
    assert await follow(T0) is None  # never had a ticket
    ticket_id = (await open_for(session)).ticket_id
    assert await follow(T0 + secs(1)) == "open"

    closed_at = CLOSED_AT
    closed = await tickets.close(
        session,
        POLICY,
        ticket_id=ticket_id,
        by_kind="customer",
        by_id=CUSTOMER,
        note=None,
        now=closed_at,
        customer_id=CUSTOMER,
    )
    assert closed.outcome is TicketOutcome.DONE
    assert await follow(closed_at + POLICY.reopen_window) == "reopen"
    assert await follow(closed_at + POLICY.reopen_window + secs(1)) == "new"
    assert await follow(closed_at + POLICY.new_ticket_window) == "new"
    assert await follow(closed_at + POLICY.new_ticket_window + secs(1)) is None
    view = await tickets.latest_ticket(session, CUSTOMER, closed_at)
    assert tickets.follow_up(view, DeskPolicy(chat_id=None), closed_at) is None  # desk off


async def test_reopen_for_message_reopens_the_last_ticket(session: AsyncSession) -> None:
    ticket_id = await closed_ticket(session)
    now = CLOSED_AT + timedelta(minutes=5)
    reopened = await tickets.reopen_for_message(session, POLICY, user_id=CUSTOMER, now=now)
    assert reopened == ticket_id
    await session.commit()  # the caller commits with the relayed message

    ticket = await ticket_row(session, ticket_id)
    assert (ticket.state, ticket.reopen_count, ticket.closed_at, ticket.closed_by_kind) == (
        "waiting",
        1,
        None,
        None,
    )
    assert ticket.sla_due_at == ticket.next_alert_at == now + secs(POLICY.sla_seconds)
    (note,) = await notes(session, "ticket-reopened-note")
    assert (note.lane, note.chat_id) == (f"t:{CUSTOMER}", GROUP)
    assert await count(session, TicketEvent, TicketEvent.kind == "reopened") == 1
    # An open ticket is not reopened again.
    assert await tickets.reopen_for_message(session, POLICY, user_id=CUSTOMER, now=now) is None
    await session.rollback()


async def test_a_ticket_reopened_out_of_hours_is_due_after_the_opening(
    session: AsyncSession,
) -> None:
    policy = DeskPolicy(chat_id=GROUP, hours=WEEKDAYS, reopen_window=timedelta(days=3))
    ticket_id = await closed_ticket(session)  # Friday 10:10 in Shanghai
    reopened = await tickets.reopen_for_message(
        session, policy, user_id=CUSTOMER, now=SATURDAY_NOON
    )
    assert reopened == ticket_id
    await session.commit()
    ticket = await ticket_row(session, ticket_id)
    assert ticket.sla_due_at == MONDAY_OPEN + secs(policy.sla_seconds)


# --- 9. the comment after a rating -------------------------------------------------------


async def test_a_comment_is_taken_once_within_the_window_after_a_rating(
    session: AsyncSession,
) -> None:
    ticket_id = await closed_ticket(session)

    async def comment(text: str | None, now: datetime) -> TicketOutcome:
        return await tickets.comment(session, POLICY, user_id=CUSTOMER, text=text, now=now)

    assert await comment("before rating", T0 + secs(650)) is TicketOutcome.NOT_FOUND
    rated_at = T0 + secs(700)
    assert (
        await tickets.rate(
            session, POLICY, ticket_id=ticket_id, user_id=CUSTOMER, score=4, now=rated_at
        )
        is TicketOutcome.DONE
    )
    until = rated_at + POLICY.csat_comment_window
    view = await tickets.latest_ticket(session, CUSTOMER, until)
    assert view is not None and view.csat_comment_open
    assert await comment("too late", until + secs(1)) is TicketOutcome.NOT_FOUND

    assert await comment("quick and kind", until) is TicketOutcome.DONE
    assert await comment("and another thing", until) is TicketOutcome.NOT_FOUND
    (csat,) = await rows(session, Csat)
    assert (csat.score, csat.comment, csat.commented_at, csat.comment_until) == (
        4,
        "quick and kind",
        until,
        None,
    )
    (note,) = await notes(session, "csat-comment")
    assert args(note) == {"comment": "quick and kind"}
    view = await tickets.latest_ticket(session, CUSTOMER, until)
    assert view is not None and not view.csat_comment_open


async def test_a_skipped_comment_closes_the_window_quietly(session: AsyncSession) -> None:
    ticket_id = await closed_ticket(session)
    await tickets.rate(
        session, POLICY, ticket_id=ticket_id, user_id=CUSTOMER, score=2, now=T0 + secs(700)
    )
    now = T0 + secs(710)
    assert (
        await tickets.comment(session, POLICY, user_id=CUSTOMER, text=None, now=now)
        is TicketOutcome.DONE
    )
    assert (
        await tickets.comment(session, POLICY, user_id=CUSTOMER, text="hm", now=now)
        is TicketOutcome.NOT_FOUND
    )
    (csat,) = await rows(session, Csat)
    assert (csat.comment, csat.comment_until) == ("", None)
    assert await notes(session, "csat-comment") == []


async def test_racing_comments_take_the_first_only(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    request: pytest.FixtureRequest,
    db_url: str,
) -> None:
    """Two quick messages after rating: one is the comment, the other is not swallowed."""
    ticket_id = await closed_ticket(session)
    rated_at = T0 + secs(700)
    await tickets.rate(
        session, POLICY, ticket_id=ticket_id, user_id=CUSTOMER, score=3, now=rated_at
    )

    async def comment(text: str) -> TicketOutcome:
        async with session_factory() as s:
            return await tickets.comment(
                s, POLICY, user_id=CUSTOMER, text=text, now=rated_at + secs(5)
            )

    outcomes = await race(
        engine, csat_lock(ticket_id), lambda: comment("slow"), lambda: comment("but kind")
    )
    assert sorted(outcomes) == sorted([TicketOutcome.DONE, TicketOutcome.NOT_FOUND])
    (csat,) = await rows(session, Csat)
    assert csat.comment == ("slow" if outcomes[0] is TicketOutcome.DONE else "but kind")
    assert [args(n)["comment"] for n in await notes(session, "csat-comment")] == [csat.comment]


# --- 10. reconcile at start-up -----------------------------------------------------------


async def test_reconcile_queues_each_missing_card_once(session: AsyncSession) -> None:
    """Imported tickets have no card and no card row; a carded or closed one needs none."""
    importer, carded, closed = OTHERS[:3]
    await add_users(session, CUSTOMER, importer, carded, closed)
    await open_for(session)  # its card row is queued already
    session.add_all(
        [
            Ticket(user_id=importer, reason="import", lang="en", opened_at=T0, source="import"),
            Ticket(
                user_id=carded,
                reason="import",
                lang="en",
                opened_at=T0,
                card_chat_id=GROUP,
                card_message_id=77,
            ),
            Ticket(user_id=closed, reason="import", lang="en", opened_at=T0, state="closed"),
        ]
    )
    await session.commit()
    (imported,) = await rows(session, Ticket, Ticket.user_id == importer)

    assert await tickets.reconcile(session, POLICY, T0 + secs(1)) == 1
    cards = await queued(session, OutboxMessage.kind == "card")
    assert len(cards) == 2
    assert (cards[-1].ticket_id, cards[-1].dedupe_key, cards[-1].lane) == (
        imported.id,
        f"card:{imported.id}",
        f"t:{importer}",
    )
    assert await tickets.reconcile(session, POLICY, T0 + secs(2)) == 0
    assert len(await not_board(session)) == 2
    assert await tickets.reconcile(session, DeskPolicy(chat_id=None), T0 + secs(3)) == 0
