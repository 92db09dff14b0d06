"""The customer's FAQ conversation: answer, clarify or hand off, and remember what happened.

Rules owned here:
- every question is stored with its outcome (`faq_interactions`), and every question the bot
  could not answer is kept for managers (`unanswered_questions`);
- small talk (faq.smalltalk: greeting, thanks, goodbye) is answered before the matcher runs,
  stored with its own outcome, and is neither a miss nor an unanswered question; a
  complaint opens a ticket at once, marked as a complaint;
- a message whose words show no language (a link, a date, an order number) is answered in
  the customer's language: the one they chose, else the one they last wrote in;
- misses in a row (`users.consecutive_misses`) reaching the limit open a ticket;
- feedback belongs to the customer who asked: a forged or foreign interaction id is refused,
  and feedback is given once (conditional UPDATE on `feedback IS NULL`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from faq import Entry, FaqMatcher, MatchResult, Outcome, wants_human
from faq.language import words_language
from faq.smalltalk import Talk, small_talk
from storage.models import FaqInteraction, UnansweredQuestion, User
from support.tickets import DeskPolicy, HandoffReason, OpenResult, open_ticket

MAX_QUESTION_CHARS = 4096


class ReplyKind(StrEnum):
    ANSWER = "answer"  # the answer is shown, with 👍 / 👎
    CLARIFY = "clarify"  # up to three likely questions as buttons
    NO_MATCH = "no_match"  # honest "I don't know", with a human offered
    HUMAN = "human"  # a ticket was opened (or the open one found)
    EMPTY = "empty"  # nothing to read: emoji, punctuation, blank
    TOO_LONG = "too_long"
    GREETING = "greeting"  # a greeting back, with the menu
    THANKS = "thanks"  # "you're welcome"
    GOODBYE = "goodbye"  # bye / ok / 好的: a short "I'm here if you need me"


SMALL_TALK_REPLIES = {
    Talk.GREETING: ReplyKind.GREETING,
    Talk.THANKS: ReplyKind.THANKS,
    Talk.GOODBYE: ReplyKind.GOODBYE,
}


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    lang: str | None  # the language of the question; None when there is nothing to read
    interaction_id: int | None = None
    result: MatchResult | None = None
    handoff: OpenResult | None = None
    handoff_reason: HandoffReason | None = None


async def match_off_loop(matcher: FaqMatcher, text: str) -> MatchResult:
    """`matcher.match`, in a worker thread when it runs a model (tens of milliseconds of
    CPU that would stall every other chat's update on the event loop)."""
    if matcher.uses_model:
        return await asyncio.to_thread(matcher.match, text)
    return matcher.match(text)


def has_words(text: str) -> bool:
    """Letters or digits of any script (Arabic, Cyrillic, Thai...): something to read.

    Not `normalize(text)`: that keeps only what the FAQ is indexed on (Latin, digits, Han),
    so a question in another script would look empty. Emoji and punctuation alone are not
    words."""
    return any(ch.isalnum() for ch in text)


async def _bump_misses(session: AsyncSession, user_id: int) -> int:
    stmt = (
        update(User)
        .where(User.id == user_id)
        .values(consecutive_misses=User.consecutive_misses + 1)
        .returning(User.consecutive_misses)
    )
    return int((await session.execute(stmt)).scalar_one())


async def _reset_misses(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(User)
        .where(User.id == user_id, User.consecutive_misses != 0)
        .values(consecutive_misses=0)
    )


async def _last_language(session: AsyncSession, user_id: int) -> str | None:
    """The language of the customer's latest question (what they last wrote in)."""
    return await session.scalar(
        select(FaqInteraction.lang)
        .where(FaqInteraction.user_id == user_id)
        .order_by(FaqInteraction.id.desc())
        .limit(1)
    )


async def _small_talk(
    session: AsyncSession,
    *,
    talk: Talk,
    user_id: int,
    text: str,
    lang: str,
    now: datetime,
    desk: DeskPolicy,
) -> Reply:
    """Greeting, thanks, goodbye: recorded with its own outcome, never a miss, never an
    unanswered question. A complaint goes to a person at once, on a ticket marked so."""
    interaction = FaqInteraction(
        user_id=user_id,
        question=text,
        lang=lang,
        entry_id=None,
        confidence=0.0,
        outcome=talk.value,
        created_at=now,
    )
    session.add(interaction)
    await session.flush()
    if talk is not Talk.COMPLAINT:
        await session.commit()
        return Reply(SMALL_TALK_REPLIES[talk], lang, interaction.id)
    await _reset_misses(session, user_id)
    reason = HandoffReason.COMPLAINT
    handoff = await open_ticket(
        session,
        desk,
        user_id=user_id,
        reason=reason,
        question=text,
        lang=lang,
        now=now,
        complaint=True,
    )
    return Reply(ReplyKind.HUMAN, lang, interaction.id, None, handoff, reason)


async def ask(
    session: AsyncSession,
    *,
    matcher: FaqMatcher,
    user_id: int,
    text: str,
    now: datetime,
    desk: DeskPolicy,
    lang: str | None = None,
    usual_lang: str | None = None,
    misses_before_handoff: int = 2,
) -> Reply:
    """Answer one free-text question; commits what happened before the bot replies.

    `lang`: the language the customer chose (it wins); `usual_lang`: the one to keep when
    the message shows none (a link, a date, an order number) and they have not written
    before (their Telegram language). Small talk is answered before the matcher runs."""
    if len(text) > MAX_QUESTION_CHARS:
        return Reply(ReplyKind.TOO_LONG, lang=None)
    if not has_words(text):  # emoji, punctuation: nothing stored, the language kept
        kept = lang or await _last_language(session, user_id)
        await session.rollback()  # end the read: no connection held while the bot replies
        return Reply(ReplyKind.EMPTY, lang=kept)

    said = words_language(text)
    if said is None:  # nothing to judge by: keep the customer's language
        said = lang or await _last_language(session, user_id) or usual_lang

    talk = small_talk(text)
    if talk is Talk.COMPLAINT or (talk is not None and not wants_human(text)):
        return await _small_talk(
            session,
            talk=talk,
            user_id=user_id,
            text=text,
            lang=said or "en",
            now=now,
            desk=desk,
        )

    result = await match_off_loop(matcher, text)
    said = said or result.lang
    entry = result.entry if result.outcome is Outcome.ANSWER else None
    best = entry or (result.candidates[0].entry if result.candidates else None)
    interaction = FaqInteraction(
        user_id=user_id,
        question=text,
        lang=said,
        entry_id=best.id if best else None,
        confidence=round(result.confidence, 4),
        outcome=result.outcome.value,
        created_at=now,
    )
    session.add(interaction)
    await session.flush()

    async def hand_off(reason: HandoffReason) -> Reply:
        await _reset_misses(session, user_id)
        handoff = await open_ticket(
            session,
            desk,
            user_id=user_id,
            reason=reason,
            question=text,
            lang=lang or said,
            now=now,
        )
        return Reply(ReplyKind.HUMAN, said, interaction.id, result, handoff, reason)

    # Asking for a person in words wins even when the FAQ has no `action: handoff` entry.
    if wants_human(text) or (entry is not None and entry.action == "handoff"):
        return await hand_off(HandoffReason.KEYWORD)

    if entry is not None:
        await _reset_misses(session, user_id)
        await session.commit()
        return Reply(ReplyKind.ANSWER, said, interaction.id, result)

    session.add(
        UnansweredQuestion(
            user_id=user_id,
            interaction_id=interaction.id,
            question=text,
            lang=said,
            best_entry_id=interaction.entry_id,
            confidence=interaction.confidence,
            reason="clarify" if result.outcome is Outcome.CLARIFY else "no_match",
            created_at=now,
        )
    )
    if await _bump_misses(session, user_id) >= misses_before_handoff:
        return await hand_off(HandoffReason.MISSES)

    await session.commit()
    kind = (
        ReplyKind.CLARIFY
        if result.outcome is Outcome.CLARIFY and result.candidates
        else (ReplyKind.NO_MATCH)
    )
    return Reply(kind, said, interaction.id, result)


async def request_human(
    session: AsyncSession,
    *,
    desk: DeskPolicy,
    user_id: int,
    reason: HandoffReason,
    lang: str,
    now: datetime,
) -> OpenResult:
    """The customer asked for a person (command, menu or button): open, find or reopen
    their ticket; commits."""
    return await open_ticket(
        session, desk, user_id=user_id, reason=reason, question=None, lang=lang, now=now
    )


class FeedbackStatus(StrEnum):
    THANKED = "thanked"  # 👍 recorded
    ALTERNATIVES = "alternatives"  # 👎 recorded; other likely answers offered
    NO_ALTERNATIVE = "no_alternative"  # 👎 recorded; nothing else fits, a human is offered
    ALREADY = "already"  # feedback was given before
    NOT_FOUND = "not_found"  # no such interaction for this user (stale or forged button)


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    status: FeedbackStatus
    lang: str = "en"
    interaction_id: int | None = None
    alternatives: tuple[Entry, ...] = ()


async def _own_interaction(
    session: AsyncSession, user_id: int, interaction_id: int
) -> FaqInteraction | None:
    row = await session.get(FaqInteraction, interaction_id)
    return row if row is not None and row.user_id == user_id else None


async def give_feedback(
    session: AsyncSession,
    *,
    matcher: FaqMatcher,
    user_id: int,
    interaction_id: int,
    helpful: bool,
    now: datetime,
) -> FeedbackResult:
    """Record 👍 / 👎 once; after 👎 offer the runners-up, else a human."""
    row = await _own_interaction(session, user_id, interaction_id)
    if row is None:
        await session.rollback()  # end the read: no connection held while the bot replies
        return FeedbackResult(FeedbackStatus.NOT_FOUND)
    stored = await session.execute(
        update(FaqInteraction)
        .where(FaqInteraction.id == interaction_id, FaqInteraction.feedback.is_(None))
        .values(feedback="up" if helpful else "down", feedback_at=now)
    )
    if not stored.rowcount:  # type: ignore[attr-defined]
        lang = row.lang
        await session.rollback()
        return FeedbackResult(FeedbackStatus.ALREADY, lang, interaction_id)
    if helpful:
        await session.commit()
        return FeedbackResult(FeedbackStatus.THANKED, row.lang, interaction_id)

    session.add(
        UnansweredQuestion(
            user_id=user_id,
            interaction_id=interaction_id,
            question=row.question,
            lang=row.lang,
            best_entry_id=row.entry_id,
            confidence=row.confidence,
            reason="disliked",
            created_at=now,
        )
    )
    await session.commit()
    result = await match_off_loop(matcher, row.question)
    others = tuple(
        c.entry for c in result.candidates if c.entry.id != row.entry_id and c.entry.action is None
    )
    if others:
        return FeedbackResult(FeedbackStatus.ALTERNATIVES, row.lang, interaction_id, others[:3])
    return FeedbackResult(FeedbackStatus.NO_ALTERNATIVE, row.lang, interaction_id)


@dataclass(frozen=True, slots=True)
class PickResult:
    entry: Entry | None  # None: stale or forged button
    lang: str = "en"
    interaction_id: int | None = None


async def pick_candidate(
    session: AsyncSession,
    *,
    matcher: FaqMatcher,
    user_id: int,
    interaction_id: int,
    entry_id: str,
    now: datetime,
) -> PickResult:
    """The customer chose one of the offered questions: record it as answered and show it."""
    row = await _own_interaction(session, user_id, interaction_id)
    entry = matcher.kb.get(entry_id)
    if row is None or entry is None:
        await session.rollback()
        return PickResult(None)
    picked = FaqInteraction(
        user_id=user_id,
        question=row.question,
        lang=row.lang,
        entry_id=entry.id,
        confidence=row.confidence,
        outcome="picked",
        created_at=now,
    )
    session.add(picked)
    await _reset_misses(session, user_id)
    await session.commit()
    return PickResult(entry, row.lang, picked.id)


async def show_topic(
    session: AsyncSession,
    *,
    matcher: FaqMatcher,
    user_id: int,
    entry_id: str,
    lang: str,
    now: datetime,
) -> PickResult:
    """A menu button opened an FAQ topic: record it so 👍 / 👎 work on it too."""
    entry = matcher.kb.get(entry_id)
    if entry is None:
        return PickResult(None, lang)
    shown = FaqInteraction(
        user_id=user_id,
        question=f"[menu] {entry_id}",
        lang=lang,
        entry_id=entry.id,
        confidence=1.0,
        outcome="menu",
        created_at=now,
    )
    session.add(shown)
    await session.commit()
    return PickResult(entry, lang, shown.id)


LANGUAGES = ("zh", "en")


async def choose_language(session: AsyncSession, *, user_id: int, lang: str) -> bool:
    """Store the customer's language override; False for a language we don't speak."""
    if lang not in LANGUAGES:
        return False
    await session.execute(update(User).where(User.id == user_id).values(language=lang))
    await session.commit()
    return True
