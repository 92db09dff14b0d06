"""The bot learns from its agents, through the production Dispatcher: a question the FAQ
missed goes to the desk, the agent answers and closes, one tap teaches the FAQ, and the
next customer who asks that way is answered by the bot, with no restart. /unanswered is
triage for admins. Forged or stale taps get a polite alert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.local import ChatClient, Outgoing
from bot.scheduler import relearn_faq
from faq import KnowledgeBase, Matcher, Outcome
from storage.models import FaqLearnedEntry, FaqLearnedPhrasing, Ticket, UnansweredQuestion
from tests.conftest import Clock, live
from tests.handlers.test_support_desk import (
    ADMIN,
    AGENT,
    SUPPORT,
    Desk,
    build_desk,
    no_errors_logged,
)
from views.texts import Catalogue

NEIGHBOUR = "will the courier leave it with my neighbour"
PARIS = "do you have a physical store in Paris"
ONLINE_ONLY = "No shop in Paris, sorry: we sell online only."
NEXT_CUSTOMER = 5002


@pytest.fixture(params=["topics", "reply"])
async def desk(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    kb: KnowledgeBase,
    matcher: Matcher,
    catalogue: Catalogue,
    clock: Clock,
) -> AsyncIterator[Desk]:
    async for d in build_desk(
        tmp_path, kb, matcher, catalogue, clock, mode=request.param, support_language="en"
    ):
        yield d


def customer(desk: Desk, user_id: int, language_code: str = "en") -> ChatClient:
    c = desk.customer
    return ChatClient(
        c.dp,
        c.bot,
        c.session,
        user_id=user_id,
        language_code=language_code,
        first_update_id=user_id * 1000,
    )


def answers(outs: list[Outgoing]) -> list[Outgoing]:
    return [o for o in outs if o.method == "answerCallbackQuery"]


async def handed_over(desk: Desk, question: str) -> None:
    """The customer asks what the FAQ does not know, then asks for a person; the agent
    answers in the ticket."""
    [missed] = await desk.customer.send(question)
    assert "人工" in " ".join(b.text for b in missed.buttons) or missed.buttons
    await desk.customer.send("/human")
    await desk.flush()
    await desk.agent_says(ONLINE_ONLY)
    await desk.flush()


async def close_with_command(desk: Desk) -> Outgoing:
    if desk.topics:
        outs = await desk.agent.send_content(
            text="/close", message_thread_id=await desk.thread(), is_topic_message=True
        )
    else:
        card = (await desk.ticket()).card_message_id
        outs = await desk.agent.send_content(text="/close", reply_to_message={"message_id": card})
    [reply] = outs
    assert reply.chat_id == SUPPORT
    return reply


async def test_an_agents_tap_teaches_the_faq_and_the_next_customer_is_answered(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    await handed_over(desk, NEIGHBOUR)
    offer = await close_with_command(desk)
    assert "Closed by Amy" in (offer.text or "") and NEIGHBOUR in (offer.text or "")
    labels = [b.text for b in offer.buttons]
    assert labels[-1] == "🆕 New entry from my reply" and labels[0].startswith("➕ ")
    carriers = offer.buttons[0]
    assert (carriers.callback_data or "").endswith(":carriers")
    assert (await desk.ticket()).state == "closed"

    outs = await desk.agent.press(carriers.callback_data or "", offer.message_id)
    [edited] = [o for o in outs if o.method == "editMessageText"]
    assert edited.message_id == offer.message_id and "✅ Learned" in (edited.text or "")
    assert edited.buttons == []
    async with desk.app.session_factory() as s:
        [row] = (await s.scalars(select(FaqLearnedPhrasing))).all()
        assert (row.entry_id, row.text, row.created_by) == ("carriers", NEIGHBOUR, AGENT)

    # The next customer, asking the same way, is answered by the bot (no restart).
    [answer] = await customer(desk, NEXT_CUSTOMER).send(NEIGHBOUR)
    carriers_entry = desk.app.matcher.kb.get("carriers")
    assert carriers_entry is not None
    assert answer.text == carriers_entry.answer_for("en")
    assert [b.text for b in answer.buttons][:1] == ["👍"] or answer.buttons

    # A second tap (another agent, a double tap) is told it is there already.
    again = await desk.agent_b.press(carriers.callback_data or "", offer.message_id)
    assert any("already" in (o.text or "") for o in again)
    assert no_errors_logged(caplog) == []


async def test_new_entry_from_my_reply_through_the_card_button(desk: Desk) -> None:
    await handed_over(desk, PARIS)
    card = [o for o in desk.local.requests if getattr(o, "chat_id", None) == SUPPORT]
    assert card
    ticket = await desk.ticket()
    outs = await desk.agent.press(f"desk:{ticket.id}:close", ticket.card_message_id)
    assert (await desk.ticket()).state == "closed"
    [lesson] = [o for o in outs if o.method == "sendMessage"]
    assert PARIS in (lesson.text or "") and lesson.chat_id == SUPPORT
    new = next(b for b in lesson.buttons if b.text.startswith("🆕"))

    outs = await desk.agent.press(new.callback_data or "", lesson.message_id)
    [edited] = [o for o in outs if o.method == "editMessageText"]
    assert "✅ New FAQ entry" in (edited.text or "")
    async with desk.app.session_factory() as s:
        [entry] = (await s.scalars(select(FaqLearnedEntry))).all()
    assert entry.id in (edited.text or "") and entry.answer == ONLINE_ONLY

    [answer] = await customer(desk, NEXT_CUSTOMER).send(PARIS.lower())
    assert answer.text == ONLINE_ONLY


@pytest.mark.parametrize(
    "data",
    [
        "teach:1:no_such_entry",
        "teach:99999:carriers",
        "teach:1:contact_human",
        "teach:x:carriers",
        "teach:1",
        "teachnew:99999",
        "teachnew:1:2",
        "teach:99999999999999999999999:carriers",
    ],
)
async def test_forged_teach_buttons_are_answered_politely(
    desk: Desk, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    await handed_over(desk, NEIGHBOUR)
    out = await desk.agent.press(data)
    [alert] = answers(out)
    assert alert.show_alert and alert.text
    assert not [o for o in out if o.method == "editMessageText"]
    assert no_errors_logged(caplog) == []
    async with desk.app.session_factory() as s:
        assert (await s.scalars(select(FaqLearnedPhrasing))).all() == []


async def test_a_lesson_needs_a_closed_ticket_and_only_agents_give_it(desk: Desk) -> None:
    await handed_over(desk, NEIGHBOUR)
    ticket = await desk.ticket()
    [alert] = answers(await desk.agent.press(f"teach:{ticket.id}:carriers"))
    assert "Close the ticket first" in (alert.text or "")
    # The customer (not an agent) forging the same data in their chat: a stale button.
    out = await desk.customer.press(f"teach:{ticket.id}:carriers")
    [refused] = answers(out)
    assert refused.show_alert and "失效" in (refused.text or "")
    async with desk.app.session_factory() as s:
        assert (await s.scalars(select(FaqLearnedPhrasing))).all() == []


async def test_unanswered_triage_attach_ignore_and_hand_to_an_agent(desk: Desk) -> None:
    admin = customer(desk, ADMIN)
    asker = customer(desk, NEXT_CUSTOMER)
    [none, *_] = await admin.send("/unanswered")
    assert "No unanswered questions" in (none.text or "")
    await customer(desk, 5004).send(NEIGHBOUR)  # one question each: no hand-off for misses
    desk.clock.advance(seconds=1)
    await asker.send(PARIS)
    desk.clock.advance(seconds=1)
    await desk.customer.send("can I pay with my grandmother's gift voucher")

    title, *items = await admin.send("/unanswered")
    assert "3" in (title.text or "") and "faq unanswered" in (title.text or "")
    assert len(items) == 3
    # All asked once: the latest first.
    voucher, paris, neighbour = items
    assert NEIGHBOUR in (neighbour.text or "") and PARIS in (paris.text or "")
    assert [b.text for b in neighbour.buttons][-2:] == ["🙈 Ignore", "🙋 Hand to an agent"]

    attach = neighbour.buttons[0]
    assert (attach.callback_data or "").startswith("qadd:")
    outs = await admin.press(attach.callback_data or "", neighbour.message_id)
    [edited] = [o for o in outs if o.method == "editMessageText"]
    assert "✅ Learned" in (edited.text or "")
    [answered] = await customer(desk, 5003).send(NEIGHBOUR)
    carriers = desk.app.matcher.kb.get("carriers")
    assert carriers is not None and answered.text == carriers.answer_for("en")
    # The same button again: already triaged, said politely.
    [stale] = answers(await admin.press(attach.callback_data or "", neighbour.message_id))
    assert "already" in (stale.text or "")

    hand = next(b for b in paris.buttons if b.text.startswith("🙋"))
    outs = await admin.press(hand.callback_data or "", paris.message_id)
    [edited] = [o for o in outs if o.method == "editMessageText"]
    assert "ticket #" in (edited.text or "")
    sent = await desk.flush()
    assert any(o.chat_id == NEXT_CUSTOMER and PARIS in (o.text or "") for o in sent)
    async with desk.app.session_factory() as s:
        ticket = await s.scalar(select(Ticket).where(Ticket.user_id == NEXT_CUSTOMER))
        assert ticket is not None and ticket.reason == "triage" and ticket.question == PARIS

    ignore = next(b for b in voucher.buttons if b.text.startswith("🙈"))
    outs = await admin.press(ignore.callback_data or "", voucher.message_id)
    assert any("Ignored" in (o.text or "") for o in outs)
    [empty, *_] = await admin.send("/unanswered")
    assert "No unanswered questions" in (empty.text or "")
    async with desk.app.session_factory() as s:
        triage = (await s.scalars(select(UnansweredQuestion.triage))).all()
    assert sorted(t or "-" for t in triage) == ["handed", "ignored", "learned"]


@pytest.mark.parametrize(
    "data", ["qadd:99999:carriers", "qadd:1:nope", "qskip:99999", "qhand:x", "qmore:-1", "qadd"]
)
async def test_forged_triage_buttons_and_non_admins(desk: Desk, data: str) -> None:
    await desk.customer.send(PARIS)
    admin = customer(desk, ADMIN)
    [alert] = answers(await admin.press(data))
    assert alert.show_alert and alert.text
    # A customer pressing the same: the customer's "no longer valid", nothing triaged.
    [refused] = answers(await desk.customer.press("qskip:1"))
    assert refused.show_alert
    async with desk.app.session_factory() as s:
        assert (await s.scalars(select(UnansweredQuestion.triage))).all() == [None]


async def test_another_replica_relearns_from_the_database(desk: Desk, kb: KnowledgeBase) -> None:
    await handed_over(desk, PARIS)
    ticket = await desk.ticket()
    await desk.agent.press(f"desk:{ticket.id}:close", ticket.card_message_id)
    await desk.agent.press(f"teachnew:{ticket.id}")
    # A second process on the same database: its matcher was built before the lesson.
    other = App(
        settings=desk.app.settings,
        engine=desk.app.engine,
        session_factory=desk.app.session_factory,
        kb=kb,
        matcher=live(kb, Matcher(kb)),
        catalogue=desk.app.catalogue,
        desk=desk.app.desk,
        community=desk.app.community,
        campaigns=desk.app.campaigns,
        clock=desk.clock,
    )
    assert other.matcher.match(PARIS).outcome is not Outcome.ANSWER
    assert await relearn_faq(other) is True
    assert other.matcher.match(PARIS).outcome is Outcome.ANSWER
    assert await relearn_faq(other) is False  # nothing new: no rebuild
