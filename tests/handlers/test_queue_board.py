"""The queue board at peak, through the production Dispatcher and the outbox sender.

A burst of handoffs: the group (about 20 posts a minute) has no room for 60 topics and
cards, so they wait in the background while one board message lists the tickets, each with
a Take button. Taking one brings its topic, card and the conversation so far forward.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.local import ChatClient, Outgoing
from faq import KnowledgeBase, Matcher
from storage.models import DeskBoard, Member, OutboxMessage, Ticket, User
from support.tickets import BACKGROUND, URGENT, Kind
from tests.conftest import Clock
from tests.handlers.test_support_desk import (
    AGENT,
    SUPPORT,
    Desk,
    build_desk,
    no_errors_logged,
)
from views.texts import Catalogue

BURST = 60
FIRST = 610_000_000
VIPS = {FIRST + 41, FIRST + 57}  # gold members among the last to ask: first on the board


@pytest.fixture
async def desk(
    tmp_path: Path, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> AsyncIterator[Desk]:
    async for d in build_desk(
        tmp_path, kb, matcher, catalogue, clock, support_vip_tier="金卡", support_language="en"
    ):
        yield d


def customer(desk: Desk, user_id: int) -> ChatClient:
    c = desk.customer
    return ChatClient(
        c.dp,
        c.bot,
        c.session,
        user_id=user_id,
        first_name=f"C{user_id % 1000}",
        first_update_id=20_000_000 + (user_id % 1000) * 100,  # update ids are unique
    )


async def hold_background_cards(desk: Desk) -> None:
    """The group is busy: the cards nobody asked for yet are not due for a while."""
    async with desk.app.session_factory() as s:
        await s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.kind == Kind.CARD, OutboxMessage.priority == BACKGROUND)
            .values(next_attempt_at=desk.clock() + timedelta(hours=1))
        )
        await s.commit()


async def burst(desk: Desk) -> list[ChatClient]:
    clients = [customer(desk, FIRST + i) for i in range(BURST)]
    async with desk.app.session_factory() as s:
        for uid in VIPS:
            s.add(User(id=uid, first_name=f"C{uid % 1000}", first_seen=desk.clock(),
                       last_seen=desk.clock()))  # fmt: skip
            await s.flush()
            s.add(Member(user_id=uid, tier=2, updated_at=desk.clock()))
        await s.commit()
    for c in clients:
        await c.send("where is my parcel? call me on +86 138 0013 8000")
        replies = await c.send("/human")
        assert any("in line" in (r.text or "") for r in replies), replies  # at once
    return clients


def group_calls(sent: list[Outgoing], method: str) -> list[Outgoing]:
    return [o for o in sent if o.method == method and o.chat_id == SUPPORT]


async def board_rows(desk: Desk) -> int:
    return await desk.count(
        OutboxMessage, OutboxMessage.kind == Kind.BOARD, OutboxMessage.status == "pending"
    )


async def test_a_burst_is_listed_on_one_board_and_a_take_opens_the_topic(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    clients = await burst(desk)
    assert await board_rows(desk) == 1  # one row for the whole burst
    await hold_background_cards(desk)
    assert group_calls(await desk.flush(), "sendMessage") == []  # the board waits its delay

    desk.clock.advance(seconds=3)
    sent = await desk.flush()
    (board,) = group_calls(sent, "sendMessage")
    assert group_calls(sent, "createForumTopic") == []
    assert board.request.message_thread_id is None  # General
    text = board.text or ""
    assert f"Waiting for an agent, no topic yet: {BURST}" in text
    assert "138" not in text and "8000" not in text  # no phone numbers on the board
    takes = [b for b in board.buttons if (b.callback_data or "").startswith("desk:")]
    assert len(takes) == BURST
    async with desk.app.session_factory() as s:
        by_user = dict((await s.execute(select(Ticket.user_id, Ticket.id))).all())
    vip_ids = sorted(by_user[u] for u in VIPS)
    order = [int((b.callback_data or "").split(":")[1]) for b in takes]
    assert order[:2] == vip_ids  # VIP first, then first come
    assert order[2:] == sorted(set(by_user.values()) - set(vip_ids))

    # The customer writes while waiting: kept, and posted when the topic opens.
    lin = clients[5]
    await lin.send("still there?")
    ticket_id = by_user[lin.user.id]
    answer = await desk.agent.press(f"desk:{ticket_id}:take")
    assert "#" in (answer[0].text or "") and not answer[0].show_alert
    taken = await desk.agent_b.press(f"desk:{ticket_id}:take")
    assert "Amy" in (taken[0].text or "") and taken[0].show_alert  # already taken, politely

    sent = await desk.flush()
    assert [o.method for o in sent if o.chat_id == SUPPORT][:3] == [
        "createForumTopic",
        "sendMessage",
        "copyMessage",
    ]
    card = group_calls(sent, "sendMessage")[0]
    assert f"id {lin.user.id}" in (card.text or "").replace(",", "")
    copy = next(o for o in sent if o.method == "copyMessage")
    thread = await desk.thread(lin.user.id)
    assert card.request.message_thread_id == thread == copy.request.message_thread_id
    async with desk.app.session_factory() as s:
        ticket = await s.get(Ticket, ticket_id)
        assert ticket is not None
        assert (ticket.assignee_id, ticket.state) == (AGENT, "assigned")
        assert ticket.card_message_id is not None
    # Only the taken ticket's card went out; the others still wait in the background.
    assert len(group_calls(sent, "createForumTopic")) == 1

    desk.clock.advance(seconds=3)
    sent = await desk.flush()
    (edit,) = group_calls(sent, "editMessageText")
    async with desk.app.session_factory() as s:
        shown = await s.get(DeskBoard, SUPPORT)
        assert shown is not None
        assert edit.request.message_id == shown.message_id  # edited in place
    assert f"no topic yet: {BURST - 1}" in (edit.text or "")
    assert f"desk:{ticket_id}:take" not in [b.callback_data for b in edit.buttons]
    assert no_errors_logged(caplog) == []


async def test_board_edits_are_coalesced_and_forged_taps_answered(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    await burst(desk)
    await hold_background_cards(desk)
    desk.clock.advance(seconds=3)
    (board,) = group_calls(await desk.flush(), "sendMessage")
    ids = [int((b.callback_data or "").split(":")[1]) for b in board.buttons]

    for ticket_id in ids[:10]:  # ten takes within a second
        await desk.agent.press(f"desk:{ticket_id}:take")
    assert await board_rows(desk) == 1
    async with desk.app.session_factory() as s:
        taken_cards = (
            await s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == Kind.CARD, OutboxMessage.priority == URGENT
                )
            )
        ).all()
    assert len(taken_cards) == 10  # brought forward, before the background ones

    desk.clock.advance(seconds=3)
    sent = await desk.flush()
    assert len(group_calls(sent, "editMessageText")) == 1  # one edit for ten changes
    assert len(group_calls(sent, "createForumTopic")) == 10

    desk.clock.advance(seconds=60)  # nothing changed: nothing to redraw
    assert group_calls(await desk.flush(), "editMessageText") == []

    for data in ("desk:abc:take", "desk:0:take", "desk:99999999:take", "desk:1:fly"):
        out = await desk.agent.press(data)
        answers = [o for o in out if o.method == "answerCallbackQuery"]
        assert len(answers) == 1 and answers[0].text
    assert no_errors_logged(caplog) == []


async def test_one_quiet_handoff_gets_its_card_at_once_and_no_board(desk: Desk) -> None:
    await desk.customer.send("/human")
    sent = await desk.flush()
    assert [o.method for o in sent if o.chat_id == SUPPORT] == ["createForumTopic", "sendMessage"]
    desk.clock.advance(seconds=40)
    sent = await desk.flush()
    assert [o for o in sent if o.chat_id == SUPPORT] == []  # the board has nothing to show
