"""support.learning on SQLite and PostgreSQL: a closed ticket or an unanswered question
becomes a lesson, stored before the matcher in use is rebuilt; forged or stale taps are
statuses; the database refuses the same phrasing twice for one entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from faq import KnowledgeBase, LiveMatcher, Matcher, Outcome
from storage.models import (
    FaqLearnedEntry,
    FaqLearnedPhrasing,
    OutboxMessage,
    Ticket,
    UnansweredQuestion,
)
from support import learning, relay, tickets
from support.agents import AgentRef
from support.assistant import ask
from support.learning import LearnStatus, new_entry_id
from support.tickets import DeskPolicy, HandoffReason
from tests.conftest import T0, live
from tests.db_helpers import count, rows
from tests.support.test_desk_rules import (
    ALICE,
    CUSTOMER,
    OTHERS,
    POLICY,
    add_agents,
    add_users,
    agent_msg,
)

AMY = AgentRef(ALICE, "Amy")
ADMIN = 900
NEIGHBOUR = "will the courier leave it with my neighbour"
PARIS = "do you have a physical store in Paris"
ONLINE_ONLY = "No shop in Paris, sorry: we sell online only, and ship to France in 5-8 days."


async def ticket_about(
    session: AsyncSession, question: str | None, *, reply: str | None = ONLINE_ONLY
) -> int:
    """CUSTOMER's ticket about `question`, answered by ALICE with `reply`, still open."""
    await add_users(session, CUSTOMER)
    await add_agents(session, ALICE)
    opened = await tickets.open_ticket(
        session,
        POLICY,
        user_id=CUSTOMER,
        reason=HandoffReason.MISSES,
        question=question,
        lang="en",
        now=T0,
    )
    if reply is not None:
        await relay.from_agent(
            session, POLICY, ticket_id=opened.ticket_id, msg=agent_msg(1, text=reply), now=T0
        )
    return opened.ticket_id


async def close(session: AsyncSession, live_matcher: LiveMatcher) -> learning.ClosedTicket:
    return await learning.close_and_offer(
        session,
        POLICY,
        live_matcher,
        where=(await rows(session, Ticket))[-1].id,
        agent=AMY,
        note=None,
        now=T0 + timedelta(minutes=5),
    )


async def test_close_offers_the_best_guesses_and_a_tap_teaches_the_next_customer(
    session: AsyncSession, kb: KnowledgeBase, matcher: Matcher
) -> None:
    faq = live(kb, matcher)
    assert faq.match(NEIGHBOUR).outcome is not Outcome.ANSWER
    ticket_id = await ticket_about(session, NEIGHBOUR)
    closed = await close(session, faq)
    offer = closed.offer
    assert offer is not None and offer.ticket_id == ticket_id
    assert offer.question == NEIGHBOUR and offer.lang == "en" and offer.can_create
    assert offer.guesses[0].id == "carriers"
    assert all(e.action is None for e in offer.guesses)

    done = await learning.attach_from_ticket(
        session, faq, ticket_id=ticket_id, entry_id="carriers", agent=AMY, now=T0
    )
    assert done.status is LearnStatus.LEARNED and done.entry_id == "carriers"
    [row] = await rows(session, FaqLearnedPhrasing)
    assert (row.entry_id, row.lang, row.text, row.source, row.source_id, row.created_by) == (
        "carriers",
        "en",
        NEIGHBOUR,
        "ticket",
        ticket_id,
        ALICE,
    )
    answered = faq.match(NEIGHBOUR.upper() + "?")
    assert answered.outcome is Outcome.ANSWER and answered.entry is not None
    assert answered.entry.id == "carriers"

    # The same tap again (or another agent's): stored once, nothing rebuilt.
    current = faq.current
    again = await learning.attach_from_ticket(
        session, faq, ticket_id=ticket_id, entry_id="carriers", agent=AMY, now=T0
    )
    assert again.status is LearnStatus.ALREADY
    assert await count(session, FaqLearnedPhrasing) == 1 and faq.current is current


async def test_a_new_entry_from_the_agents_reply(
    session: AsyncSession, kb: KnowledgeBase, matcher: Matcher
) -> None:
    faq = live(kb, matcher)
    ticket_id = await ticket_about(session, PARIS)
    await relay.note(
        session,
        ticket_id=ticket_id,
        msg=agent_msg(2, text="!a note is not a reply"),
        now=T0,
    )
    await close(session, faq)
    made = await learning.entry_from_ticket(session, faq, ticket_id=ticket_id, agent=AMY, now=T0)
    assert made.status is LearnStatus.LEARNED
    assert made.entry_id == f"t{ticket_id}_do_you_have_a_physical"
    [entry] = await rows(session, FaqLearnedEntry)
    assert (entry.topic, entry.lang, entry.question, entry.answer) == (
        "other",
        "en",
        PARIS,
        ONLINE_ONLY,
    )
    result = faq.match(PARIS)
    assert result.outcome is Outcome.ANSWER and result.entry is not None
    assert result.entry.id == made.entry_id and result.entry.answer_for("zh") == ONLINE_ONLY

    twice = await learning.entry_from_ticket(session, faq, ticket_id=ticket_id, agent=AMY, now=T0)
    assert twice.status is LearnStatus.ALREADY and twice.entry_id == made.entry_id
    assert await count(session, FaqLearnedEntry) == 1

    # A question asked the other way round joins the new entry; one in a language it has
    # no answer in is refused (the FAQ's contract).
    more = await learning._attach(
        session,
        faq,
        entry_id=made.entry_id or "",
        question="is there a shop in paris",
        lang="en",
        source=("unanswered", 1),
        by=ADMIN,
        now=T0,
    )
    assert more.status is LearnStatus.LEARNED
    zh = await learning._attach(
        session,
        faq,
        entry_id=made.entry_id or "",
        question="巴黎有门店吗",
        lang="zh",
        source=("unanswered", 2),
        by=ADMIN,
        now=T0,
    )
    assert zh.status is LearnStatus.NO_LANGUAGE


async def test_stale_and_forged_taps_are_statuses(
    session: AsyncSession, kb: KnowledgeBase, matcher: Matcher
) -> None:
    faq = live(kb, matcher)
    ticket_id = await ticket_about(session, NEIGHBOUR, reply=None)

    async def attach(entry: str, ticket: int = ticket_id) -> LearnStatus:
        result = await learning.attach_from_ticket(
            session, faq, ticket_id=ticket, entry_id=entry, agent=AMY, now=T0
        )
        return result.status

    assert await attach("carriers") is LearnStatus.NOT_CLOSED
    assert await attach("carriers", ticket_id + 99) is LearnStatus.NOT_FOUND
    await close(session, faq)
    assert await attach("no_such_entry") is LearnStatus.NO_ENTRY
    assert await attach("contact_human") is LearnStatus.NO_ENTRY  # people decide hand-offs
    made = await learning.entry_from_ticket(session, faq, ticket_id=ticket_id, agent=AMY, now=T0)
    assert made.status is LearnStatus.NO_REPLY  # the agent never wrote to the customer
    assert await count(session, FaqLearnedPhrasing) == 0
    assert await count(session, FaqLearnedEntry) == 0


async def test_a_ticket_without_a_question_in_words_offers_nothing(
    session: AsyncSession, kb: KnowledgeBase, matcher: Matcher
) -> None:
    faq = live(kb, matcher)
    ticket_id = await ticket_about(session, "我要人工客服")  # a request for a person only
    closed = await close(session, faq)
    assert closed.offer is None
    made = await learning.entry_from_ticket(session, faq, ticket_id=ticket_id, agent=AMY, now=T0)
    assert made.status is LearnStatus.NO_QUESTION


async def test_the_database_refuses_the_same_phrasing_twice_for_an_entry(
    session: AsyncSession,
) -> None:
    def phrasing(entry_id: str, text: str) -> FaqLearnedPhrasing:
        return FaqLearnedPhrasing(
            entry_id=entry_id,
            lang="en",
            text=text,
            text_key=learning.text_key(text),
            source="cli",
            created_at=T0,
        )

    session.add_all([phrasing("carriers", NEIGHBOUR), phrasing("shipping_time", NEIGHBOUR)])
    await session.commit()
    session.add(phrasing("carriers", "  WILL the courier leave it   with my neighbour "))
    with pytest.raises(IntegrityError):
        await session.commit()
    await session.rollback()
    assert await count(session, FaqLearnedPhrasing) == 2


async def ask_twice(session: AsyncSession, faq: LiveMatcher, question: str) -> None:
    """Two customers ask `question`, unanswered (a different case for the second)."""
    for user_id, text in zip(OTHERS[:2], (question, question.upper()), strict=True):
        reply = await ask(
            session,
            matcher=faq,
            user_id=user_id,
            text=text,
            now=T0,
            desk=POLICY,
            misses_before_handoff=99,  # no ticket: the questions wait for triage
        )
        assert reply.result is not None and reply.result.outcome is not Outcome.ANSWER


async def test_triage_attaches_ignores_and_hands_to_an_agent(
    session: AsyncSession, kb: KnowledgeBase, matcher: Matcher
) -> None:
    faq = live(kb, matcher)
    await add_users(session, *OTHERS)
    await ask_twice(session, faq, NEIGHBOUR)
    await ask_twice(session, faq, PARIS)
    await ask_twice(session, faq, "can I pay with my grandmother's gift voucher")
    page = await learning.triage_page(session, faq, since=T0, limit=2, offset=2)
    assert page.total == 3 and len(page.items) == 1
    page = await learning.triage_page(session, faq, since=T0, limit=3)
    assert page.total == 3 and len(page.items) == 3
    by_question = {i.question.lower(): i for i in page.items}
    neighbour = by_question[NEIGHBOUR.lower()]
    assert neighbour.times == 2 and neighbour.customers == 2
    assert neighbour.guesses[0].id == "carriers"

    done = await learning.attach_question(
        session,
        faq,
        question_id=neighbour.question_id,
        entry_id="carriers",
        admin_id=ADMIN,
        now=T0,
    )
    assert done.status is LearnStatus.LEARNED
    learned = await rows(session, UnansweredQuestion, UnansweredQuestion.triage == "learned")
    assert len(learned) == 2 and {r.triaged_by for r in learned} == {ADMIN}
    assert faq.match(NEIGHBOUR).outcome is Outcome.ANSWER
    stale = await learning.attach_question(
        session,
        faq,
        question_id=neighbour.question_id,
        entry_id="carriers",
        admin_id=ADMIN,
        now=T0,
    )
    assert stale.status is LearnStatus.TRIAGED

    page = await learning.triage_page(session, faq, since=T0, limit=5)
    assert page.total == 2
    paris = next(i for i in page.items if i.question.lower() == PARIS.lower())
    voucher = next(i for i in page.items if i is not paris)
    ignored = await learning.ignore_question(
        session, question_id=voucher.question_id, admin_id=ADMIN, now=T0
    )
    assert ignored.status is LearnStatus.IGNORED
    again = await learning.ignore_question(
        session, question_id=voucher.question_id, admin_id=ADMIN, now=T0
    )
    assert again.status is LearnStatus.TRIAGED

    off = await learning.hand_question(
        session, DeskPolicy(chat_id=None), question_id=paris.question_id, admin_id=ADMIN, now=T0
    )
    assert off.status is LearnStatus.NO_DESK
    handed = await learning.hand_question(
        session, POLICY, question_id=paris.question_id, admin_id=ADMIN, now=T0
    )
    assert handed.status is LearnStatus.HANDED and handed.ticket_id is not None
    [ticket] = await rows(session, Ticket)
    assert (ticket.id, ticket.reason, ticket.question) == (
        handed.ticket_id,
        "triage",
        PARIS.upper(),  # the latest asker's words
    )
    assert ticket.user_id == OTHERS[1]
    notes = await rows(session, OutboxMessage, OutboxMessage.kind == "customer_note")
    assert [(n.payload or {}).get("key") for n in notes] == ["learn-handed-customer"]
    assert (await learning.triage_page(session, faq, since=T0, limit=5)).total == 0
    missing = await learning.ignore_question(session, question_id=10**9, admin_id=ADMIN, now=T0)
    assert missing.status is LearnStatus.NOT_FOUND


async def test_another_process_notices_by_the_stamp_and_reloads(
    session: AsyncSession, kb: KnowledgeBase, matcher: Matcher
) -> None:
    here, replica = live(kb, matcher), live(kb, matcher)
    before = await learning.learned_stamp(session)
    ticket_id = await ticket_about(session, PARIS)
    await close(session, here)
    await learning.entry_from_ticket(session, here, ticket_id=ticket_id, agent=AMY, now=T0)
    stamp = await learning.learned_stamp(session)
    assert stamp != before
    assert replica.match(PARIS).outcome is not Outcome.ANSWER
    assert await learning.reload(session, replica) is True
    assert replica.match(PARIS).outcome is Outcome.ANSWER
    assert await learning.reload(session, replica) is False  # nothing new
    assert await learning.learned_stamp(session) == stamp


def test_new_entry_ids_are_kb_ids_and_never_taken() -> None:
    assert new_entry_id(7, "Do you ship to Canada?", set()) == "t7_do_you_ship_to_canada"
    assert new_entry_id(7, "你们在巴黎有门店吗", set()) == "t7"
    assert new_entry_id(7, "你们在巴黎有门店吗", {"t7"}) == "t7_2"
    long = new_entry_id(123456789, "supercalifragilistic expialidocious words " * 3, set())
    assert len(long) <= 32 and long.startswith("t123456789")
    for taken in (set(), {long}):
        made = new_entry_id(123456789, "supercalifragilistic expialidocious words " * 3, taken)
        assert len(made) <= 32 and made not in taken
