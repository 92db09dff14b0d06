"""Small talk, complaints, the wordless-message language and the card's two FAQ sections,
on SQLite and PostgreSQL, without Telegram."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from faq import Matcher
from storage.models import (
    FaqInteraction,
    OutboxMessage,
    Ticket,
    TicketEvent,
    UnansweredQuestion,
    User,
)
from storage.queries import upsert_user
from support import assistant
from support.assistant import ReplyKind
from support.cards import card_facts
from support.stats import support_stats
from support.tickets import DeskPolicy, HandoffReason, Kind, open_ticket
from tests.conftest import T0

OFF = DeskPolicy(chat_id=None)  # no support group: tickets are recorded only
ON = DeskPolicy(chat_id=-1001234567890)
UID = 7_000_000_002


async def _user(session: AsyncSession, uid: int = UID) -> None:
    await upsert_user(
        session, user_id=uid, username=None, first_name="A", language_code="en", now=T0
    )
    await session.commit()


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    stmt = select(func.count()).select_from(model).where(*where)  # type: ignore[arg-type]
    return int(await session.scalar(stmt) or 0)


async def _ask(
    session: AsyncSession,
    matcher: Matcher,
    text: str,
    *,
    desk: DeskPolicy = OFF,
    usual_lang: str | None = None,
    uid: int = UID,
    minutes: int = 0,
) -> assistant.Reply:
    return await assistant.ask(
        session,
        matcher=matcher,
        user_id=uid,
        text=text,
        now=T0 + timedelta(minutes=minutes),
        desk=desk,
        usual_lang=usual_lang,
    )


async def test_small_talk_is_recorded_but_neither_a_miss_nor_unanswered(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    await _ask(session, matcher, "zzqx blorf wibble")
    replies = [await _ask(session, matcher, t) for t in ("hi", "谢谢", "ok bye")]
    assert [r.kind for r in replies] == [ReplyKind.GREETING, ReplyKind.THANKS, ReplyKind.GOODBYE]
    assert [r.lang for r in replies] == ["en", "zh", "en"]
    rows = list(await session.scalars(select(FaqInteraction).order_by(FaqInteraction.id)))
    assert [(r.outcome, r.entry_id, r.lang) for r in rows[1:]] == [
        ("greeting", None, "en"),
        ("thanks", None, "zh"),
        ("goodbye", None, "en"),
    ]
    assert await _count(session, UnansweredQuestion) == 1  # the gibberish only
    user = await session.get(User, UID)
    assert user is not None and user.consecutive_misses == 1
    assert await _count(session, Ticket) == 0


async def test_a_complaint_opens_a_ticket_marked_as_a_complaint(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    await _ask(session, matcher, "zzqx blorf wibble")  # a miss, forgiven by the handoff
    reply = await _ask(session, matcher, "我要投訴", desk=ON)
    assert reply.kind is ReplyKind.HUMAN and reply.handoff_reason is HandoffReason.COMPLAINT
    assert reply.handoff is not None and reply.handoff.created and reply.lang == "zh"
    ticket = await session.get(Ticket, reply.handoff.ticket_id)
    assert ticket is not None
    assert (ticket.reason, ticket.complaint, ticket.question, ticket.lang) == (
        "complaint",
        True,
        "我要投訴",
        "zh",
    )
    assert await _count(session, OutboxMessage, OutboxMessage.kind == Kind.CARD) == 1
    kinds = list(await session.scalars(select(TicketEvent.kind).order_by(TicketEvent.id)))
    assert kinds == ["opened", "complaint"]
    user = await session.get(User, UID)
    assert user is not None and user.consecutive_misses == 0
    assert await _count(session, UnansweredQuestion) == 1


async def test_a_complaint_marks_the_open_ticket_once_and_redraws_its_card(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    opened = await open_ticket(
        session, ON, user_id=UID, reason=HandoffReason.COMMAND, question=None, lang="en", now=T0
    )
    before = await session.get(Ticket, opened.ticket_id)
    assert before is not None and not before.complaint
    # The card is in the group (a card still queued would be drawn with the complaint).
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.kind == Kind.CARD).values(status="sent")
    )
    before.card_message_id = 10
    await session.commit()
    for minutes in (1, 2):
        reply = await _ask(session, matcher, "terrible service", desk=ON, minutes=minutes)
        assert reply.handoff is not None and not reply.handoff.created
        assert reply.handoff.ticket_id == opened.ticket_id
    session.expire_all()
    ticket = await session.get(Ticket, opened.ticket_id)
    assert ticket is not None and ticket.complaint and ticket.reason == "command"
    assert await _count(session, TicketEvent, TicketEvent.kind == "complaint") == 1
    for kind in (Kind.CARD_EDIT, Kind.TOPIC_NAME):
        assert await _count(session, OutboxMessage, OutboxMessage.kind == kind) == 1


async def test_a_wordless_message_keeps_the_language_last_written_in(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    first = await _ask(session, matcher, "https://shop.example.com/item/1", usual_lang="zh")
    assert first.lang == "zh"  # nothing written before: the usual language
    await _ask(session, matcher, "where is my order", usual_lang="zh")
    later = await _ask(session, matcher, "12-05 20:00", usual_lang="zh")
    assert later.lang == "en"  # the language they last wrote in
    langs = list(await session.scalars(select(FaqInteraction.lang).order_by(FaqInteraction.id)))
    assert langs == ["zh", "en", "en"]


async def test_card_facts_separate_answered_from_not_answered(
    session: AsyncSession, matcher: Matcher
) -> None:
    await _user(session)
    for text in ("hello", "how do I return this", "zzqx blorf wibble", "多久发货"):
        await _ask(session, matcher, text)
    opened = await open_ticket(
        session,
        OFF,
        user_id=UID,
        reason=HandoffReason.BUTTON,
        question=None,
        lang="en",
        now=T0 + timedelta(minutes=1),
    )
    ticket = await session.get(Ticket, opened.ticket_id)
    assert ticket is not None
    facts = await card_facts(session, ticket)
    assert [(a.question, a.answer) for a in facts.bot_answered] == [
        ("how do I return this", "how_to_return"),
        ("多久发货", "shipping_time"),
    ]
    assert [m.question for m in facts.bot_missed] == ["zzqx blorf wibble"]


async def test_small_talk_is_not_counted_as_asking_the_faq(
    session: AsyncSession, matcher: Matcher
) -> None:
    for uid in (1, 2, 3):
        await _user(session, uid)
    await _ask(session, matcher, "where is my order", uid=1)
    await _ask(session, matcher, "hi", uid=2)
    await _ask(session, matcher, "thanks!", uid=3)
    await open_ticket(
        session, ON, user_id=1, reason=HandoffReason.BUTTON, question=None, lang="en", now=T0
    )
    today, _, _ = await support_stats(
        session, now=T0 + timedelta(minutes=5), tz=ZoneInfo("UTC"), sla_seconds=600
    )
    assert today.handoff_rate == 1.0  # 1 ticket / 1 customer who asked the FAQ
