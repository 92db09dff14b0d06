"""The FAQ conversation rules, on SQLite and PostgreSQL, without Telegram."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from faq import Matcher
from storage.models import FaqInteraction, Ticket, UnansweredQuestion, User
from storage.queries import upsert_user
from support import assistant
from support.assistant import FeedbackStatus, ReplyKind
from support.tickets import DeskPolicy, HandoffReason, open_ticket
from tests.conftest import T0

POLICY = DeskPolicy(chat_id=None)  # the desk is off: tickets are recorded only
UID = 7_000_000_001
GIBBERISH = "zzqx blorf wibble"


async def _user(session: AsyncSession, uid: int = UID) -> None:
    await upsert_user(
        session, user_id=uid, username=None, first_name="A", language_code="en", now=T0
    )
    await session.commit()


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _ask(session: AsyncSession, matcher: Matcher, text: str) -> assistant.Reply:
    return await assistant.ask(
        session, matcher=matcher, user_id=UID, text=text, now=T0, desk=POLICY
    )


async def test_known_question_is_answered_and_recorded(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    question = matcher.kb.get("return_policy").questions["en"][0]  # type: ignore[union-attr]
    reply = await _ask(session, matcher, question)
    assert reply.kind is ReplyKind.ANSWER
    assert reply.result is not None and reply.result.entry is not None
    assert reply.result.entry.id == "return_policy"
    row = await session.get(FaqInteraction, reply.interaction_id)
    assert row is not None
    assert (row.user_id, row.question, row.outcome, row.entry_id) == (
        UID,
        question,
        "answer",
        "return_policy",
    )
    assert await _count(session, UnansweredQuestion) == 0


async def test_a_miss_is_kept_for_managers_and_two_in_a_row_ask_for_a_human(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    first = await _ask(session, matcher, GIBBERISH)
    assert first.kind in (ReplyKind.NO_MATCH, ReplyKind.CLARIFY)
    assert await _count(session, UnansweredQuestion) == 1
    assert await _count(session, Ticket) == 0

    second = await _ask(session, matcher, "qwpoeiru mnbvcx")
    assert second.kind is ReplyKind.HUMAN
    assert second.handoff is not None and second.handoff.created
    assert second.handoff_reason is HandoffReason.MISSES
    request = await session.get(Ticket, second.handoff.ticket_id)
    assert request is not None and request.reason == "misses" and request.user_id == UID
    user = await session.get(User, UID)
    assert user is not None and user.consecutive_misses == 0


async def test_an_answer_between_misses_resets_the_count(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    await _ask(session, matcher, GIBBERISH)
    await _ask(session, matcher, matcher.kb.get("shipping_time").questions["zh"][0])  # type: ignore[union-attr]
    third = await _ask(session, matcher, GIBBERISH)
    assert third.kind is not ReplyKind.HUMAN


async def test_asking_for_a_person_in_words_records_one_pending_request(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    reply = await _ask(session, matcher, "转人工")
    assert reply.kind is ReplyKind.HUMAN and reply.handoff is not None and reply.handoff.created
    again = await _ask(session, matcher, "I want to talk to a real person")
    assert again.handoff is not None and not again.handoff.created
    assert again.handoff.ticket_id == reply.handoff.ticket_id
    button = await open_ticket(
        session, POLICY, user_id=UID, reason=HandoffReason.BUTTON, question=None, lang="en", now=T0
    )
    assert button.ticket_id == reply.handoff.ticket_id
    assert await _count(session, Ticket) == 1
    # Both questions are on record, so the handoff rate counts them.
    assert await _count(session, FaqInteraction) == 2


async def test_empty_and_huge_texts_are_not_matched_or_stored(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    assert (await _ask(session, matcher, "😀🙏 ...")).kind is ReplyKind.EMPTY
    assert (await _ask(session, matcher, "   ")).kind is ReplyKind.EMPTY
    assert (await _ask(session, matcher, "退货" * 3000)).kind is ReplyKind.TOO_LONG
    assert await _count(session, FaqInteraction) == 0


async def test_feedback_once_and_only_by_the_asker(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    await _user(session, uid=UID + 1)
    question = matcher.kb.get("invoice").questions["en"][0]  # type: ignore[union-attr]
    reply = await _ask(session, matcher, question)
    assert reply.interaction_id is not None

    async def feedback(user_id: int, interaction_id: int, helpful: bool) -> FeedbackStatus:
        result = await assistant.give_feedback(
            session,
            matcher=matcher,
            user_id=user_id,
            interaction_id=interaction_id,
            helpful=helpful,
            now=T0,
        )
        return result.status

    assert await feedback(UID + 1, reply.interaction_id, True) is FeedbackStatus.NOT_FOUND
    assert await feedback(UID, 987654321, True) is FeedbackStatus.NOT_FOUND
    assert await feedback(UID, reply.interaction_id, True) is FeedbackStatus.THANKED
    assert await feedback(UID, reply.interaction_id, False) is FeedbackStatus.ALREADY
    row = await session.get(FaqInteraction, reply.interaction_id)
    assert row is not None
    await session.refresh(row)
    assert row.feedback == "up"


async def test_thumbs_down_stores_the_question_and_offers_something_else(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    question = matcher.kb.get("refund_timing").questions["en"][0]  # type: ignore[union-attr]
    reply = await _ask(session, matcher, question)
    assert reply.interaction_id is not None
    result = await assistant.give_feedback(
        session,
        matcher=matcher,
        user_id=UID,
        interaction_id=reply.interaction_id,
        helpful=False,
        now=T0,
    )
    assert result.status in (FeedbackStatus.ALTERNATIVES, FeedbackStatus.NO_ALTERNATIVE)
    answered = reply.result.entry.id if reply.result and reply.result.entry else None
    assert all(e.id != answered for e in result.alternatives)
    kept = (await session.scalars(select(UnansweredQuestion))).all()
    assert [(q.reason, q.question) for q in kept][-1] == ("disliked", question)


async def test_picking_an_offered_question_answers_it(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    reply = await _ask(session, matcher, GIBBERISH)
    assert reply.interaction_id is not None
    forged = await assistant.pick_candidate(
        session,
        matcher=matcher,
        user_id=UID,
        interaction_id=reply.interaction_id,
        entry_id="no_such_entry",
        now=T0,
    )
    assert forged.entry is None
    picked = await assistant.pick_candidate(
        session,
        matcher=matcher,
        user_id=UID,
        interaction_id=reply.interaction_id,
        entry_id="exchange",
        now=T0,
    )
    assert picked.entry is not None and picked.entry.id == "exchange"
    row = await session.get(FaqInteraction, picked.interaction_id)
    assert row is not None and (row.outcome, row.entry_id) == ("picked", "exchange")


async def test_language_override_accepts_only_our_languages(session: AsyncSession) -> None:
    await _user(session)
    assert await assistant.choose_language(session, user_id=UID, lang="fr") is False
    assert await assistant.choose_language(session, user_id=UID, lang="zh") is True
    user = await session.get(User, UID)
    assert user is not None
    await session.refresh(user)
    assert user.language == "zh"


@pytest.mark.parametrize(
    "text",
    ["متى يصل طلبي", "Где мой заказ", "สินค้าถึงเมื่อไหร่", "איפה ההזמנה שלי", "Πού είναι",
     "注文はどこ", "주문 어디"],
)  # fmt: skip
async def test_words_of_any_script_are_questions(
    session: AsyncSession, matcher: Matcher, text: str
) -> None:
    await _user(session)
    reply = await _ask(session, matcher, text)
    assert reply.kind is not ReplyKind.EMPTY
    assert reply.interaction_id is not None


@pytest.mark.parametrize("text", ["😀😀🙏", "!!! ???", "   ", "👍🏽✨"])
async def test_nothing_to_read(session: AsyncSession, matcher: Matcher, text: str) -> None:
    reply = await _ask(session, matcher, text)
    assert reply.kind is ReplyKind.EMPTY
