"""The agents' use cases (support.agents) and the customer's follow-up (relay.customer_wrote)
on SQLite and PostgreSQL: where a message belongs, and one commit per use case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Ticket, TicketMessage
from support import agents, relay, replies, tickets
from support.agents import AgentOutcome, AgentRef, AgentWrote, CannedStatus, Place
from tests.conftest import T0
from tests.db_helpers import count, rows
from tests.support.test_desk_rules import (
    ALICE,
    BOB,
    CUSTOMER,
    GROUP,
    POLICY,
    add_agents,
    add_users,
    agent_msg,
    closed_ticket,
    customer_msg,
    open_for,
)

AMY = AgentRef(ALICE, "Amy", "amy_desk")
CARD = 77  # the card's message id in reply mode


def count_commits(session: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> list[None]:
    commits: list[None] = []
    commit = session.commit

    async def counted() -> None:
        commits.append(None)
        await commit()

    monkeypatch.setattr(session, "commit", counted)
    return commits


async def test_a_reply_to_the_card_is_in_its_ticket_other_messages_are_team_chat(
    session: AsyncSession,
) -> None:
    await add_users(session, CUSTOMER)
    ticket_id = (await open_for(session)).ticket_id
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(card_chat_id=GROUP, card_message_id=CARD)
    )
    await session.commit()
    on_card = Place(GROUP, reply_to=CARD)
    wrote = await agents.agent_message(
        session, POLICY, place=on_card, msg=agent_msg(1), agent=AMY, now=T0
    )
    assert wrote is AgentWrote.SENT
    for place in (Place(GROUP), Place(GROUP, reply_to=CARD + 1), Place(GROUP, thread_id=5)):
        wrote = await agents.agent_message(
            session, POLICY, place=place, msg=agent_msg(2), agent=AMY, now=T0
        )
        assert wrote is AgentWrote.TEAM_CHAT
    assert await count(session, TicketMessage, TicketMessage.direction == "out") == 1
    history = await agents.customer_history(session, on_card)
    assert history is not None and [(h.id, h.state) for h in history] == [(ticket_id, "answered")]


async def test_a_transfer_names_a_known_agent_by_id_or_username(session: AsyncSession) -> None:
    await add_users(session, CUSTOMER)
    await add_agents(session, BOB)
    ticket_id = (await open_for(session)).ticket_id
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(card_chat_id=GROUP, card_message_id=CARD)
    )
    await session.commit()
    here = Place(GROUP, reply_to=CARD)
    for to in (424242, "nobody_here"):
        result = await agents.transfer(session, POLICY, place=here, agent=AMY, to=to, now=T0)
        assert result.outcome is AgentOutcome.NO_SUCH_AGENT
    (ticket,) = await rows(session, Ticket)
    assert ticket.assignee_id is None
    result = await agents.transfer(session, POLICY, place=here, agent=AMY, to=BOB, now=T0)
    assert result.outcome is AgentOutcome.DONE
    (ticket,) = await rows(session, Ticket)
    assert ticket.assignee_id == BOB


async def test_a_canned_reply_fills_the_order_the_customer_mentioned(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_users(session, CUSTOMER)
    ticket_id = (await open_for(session)).ticket_id
    await relay.from_customer(
        session,
        POLICY,
        ticket_id=ticket_id,
        msg=customer_msg(1, text="单号 1234567890123"),
        now=T0,
    )
    await replies.save(session, key="track", lang="*", text="{order} ships", by=ALICE, now=T0)
    await replies.save(session, key="bye", lang="en", text="Thanks, {shop}!", by=ALICE, now=T0)
    commits = count_commits(session, monkeypatch)
    sent = await agents.send_canned(
        session, POLICY, where=ticket_id, key="TRACK", agent=AMY, source=(GROUP, None),
        shop_name="", now=T0,
    )  # fmt: skip
    assert (sent.status, sent.text, len(commits)) == (CannedStatus.SENT, "1234567890123 ships", 1)
    refused = await agents.send_canned(
        session, POLICY, where=ticket_id, key="bye", agent=AMY, source=(GROUP, None),
        shop_name="", now=T0,
    )  # fmt: skip
    assert refused.status is CannedStatus.MISSING_VALUES and len(commits) == 1
    assert (refused.missing, refused.no_shop_name) == ((), True)  # a setting, not the ticket
    assert await count(session, TicketMessage, TicketMessage.direction == "out") == 1


async def test_writing_a_while_after_a_close_opens_a_ticket_and_relays_in_one_commit(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await closed_ticket(session)
    now = T0 + timedelta(hours=3)  # past the reopen window, within the new-ticket window
    route = await tickets.route_customer(session, POLICY, user_id=CUSTOMER, has_text=True, now=now)
    assert route is not None and route.follow == "new"
    commits = count_commits(session, monkeypatch)
    wrote = await relay.customer_wrote(
        session, POLICY, route=route, msg=customer_msg(9, text="one more thing"), lang="en",
        now=now,
    )  # fmt: skip
    assert len(commits) == 1
    assert wrote.opened is not None and wrote.opened.created and wrote.ticket_id != first
    (stored,) = await rows(
        session, TicketMessage, TicketMessage.ticket_id == wrote.ticket_id,
        TicketMessage.direction == "in",
    )  # fmt: skip
    assert stored.text == "one more thing"
    later = now + timedelta(days=2)
    assert await tickets.route_customer(
        session, POLICY, user_id=CUSTOMER, has_text=True, now=later
    ) == tickets.CustomerRoute(tickets.TicketView(wrote.ticket_id or 0, "new", None, "en"), "open")


async def test_canned_replies_are_listed_after_the_read_ends(session: AsyncSession) -> None:
    await replies.save(session, key="hi", lang="zh", text="您好{name}", by=ALICE, now=T0)
    await replies.save(session, key="hi", lang="*", text="Hi {name}", by=ALICE, now=T0)
    listed = await replies.all_replies(session)
    assert [(r.key, r.lang, r.text) for r in listed] == [
        ("hi", "*", "Hi {name}"),
        ("hi", "zh", "您好{name}"),
    ]
