"""The bot learns from its agents: every handoff can become a lesson for the FAQ.

Use cases, each owning its commit:
- at a ticket's close the agent is offered the matcher's best guesses for the customer's
  question (`close_and_offer`); a tap attaches the question to one of them
  (`attach_from_ticket`) or makes a new entry of the agent's last reply
  (`entry_from_ticket`);
- /unanswered is triage for admins: attach a question to an entry (`attach_question`),
  ignore it (`ignore_question`), or hand it to an agent, who answers the customer in a
  ticket whose close offers the same lesson (`hand_question`).

What is learned is stored first (`faq_learned_phrasings`, `faq_learned_entries`), then the
matcher in use is rebuilt from the YAML FAQ and every learned row (`reload`): the next
customer gets the answer without a restart. Other processes sharing the database notice the
change by its stamp (`learned_stamp`, a scheduler job) and reload too.

Everything a button carries may be forged or stale: a ticket or question that does not
exist, an entry the FAQ no longer has, a ticket still open, a question already triaged:
each is a status, never an exception.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import weakref
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from faq import Entry, Learned, LearnedEntry, LearnedPhrasing, LiveMatcher, phrasing_key
from faq.human import wants_human
from faq.kb import LANGS, MAX_ID_CHARS, valid_id
from faq.normalize import detect_lang
from storage.models import (
    FaqLearnedEntry,
    FaqLearnedPhrasing,
    Ticket,
    TicketMessage,
    UnansweredQuestion,
)
from support import agents, tickets
from support.agents import AgentAction, AgentOutcome, AgentRef, Where
from support.assistant import has_words, match_off_loop
from support.tickets import DeskPolicy, HandoffReason

log = logging.getLogger(__name__)

GUESSES = 3  # the matcher's best guesses offered as buttons
NEW_ENTRY_TOPIC = "other"


class LearnStatus(StrEnum):
    LEARNED = "learned"  # stored, and the matcher in use knows it
    ALREADY = "already"  # the entry had this question already / this ticket made its entry
    IGNORED = "ignored"  # the question leaves /unanswered
    HANDED = "handed"  # a ticket is open for an agent to answer the question
    NO_ENTRY = "no_entry"  # the entry a button names is not in the FAQ (any more)
    NO_LANGUAGE = "no_language"  # the entry has no answer in the question's language
    NOT_FOUND = "not_found"  # no such ticket or question
    NOT_CLOSED = "not_closed"  # the ticket is still open
    TRIAGED = "triaged"  # the question was triaged before (another tap, another admin)
    NO_QUESTION = "no_question"  # the customer asked nothing in words
    NO_REPLY = "no_reply"  # no agent reply in words to make the answer of
    NO_DESK = "no_desk"  # hand to an agent: the support desk is off


@dataclass(frozen=True, slots=True)
class LearnResult:
    status: LearnStatus
    entry_id: str | None = None
    question: str = ""
    ticket_id: int | None = None
    created: bool = False  # the entry was made from the ticket (new entry from my reply)
    lang: str = ""  # the question's language (NO_LANGUAGE names it)


@dataclass(frozen=True, slots=True)
class LearnOffer:
    """What the agent who closed a ticket may teach the FAQ from it."""

    ticket_id: int
    question: str
    lang: str
    guesses: tuple[Entry, ...]
    can_create: bool  # an agent replied in words: "new entry from my reply" works


@dataclass(frozen=True, slots=True)
class ClosedTicket:
    action: AgentAction
    offer: LearnOffer | None = None


@dataclass(frozen=True, slots=True)
class TriageItem:
    question_id: int  # the latest row of the group: buttons carry it
    question: str
    lang: str
    times: int
    customers: int
    guesses: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class TriagePage:
    items: tuple[TriageItem, ...]
    total: int  # open questions (grouped) in the window
    offset: int


# --- loading what was learned --------------------------------------------------------------


def text_key(text: str) -> str:
    """The stored duplicate guard: SHA-256 of the normalised phrasing (fixed size)."""
    return hashlib.sha256(phrasing_key(text).encode("utf-8")).hexdigest()


async def load_learned(session: AsyncSession) -> Learned:
    """Every learned entry and phrasing, in the order they were learned (read only)."""
    entries = (
        await session.scalars(
            select(FaqLearnedEntry).order_by(FaqLearnedEntry.created_at, FaqLearnedEntry.id)
        )
    ).all()
    phrasings = (
        await session.scalars(select(FaqLearnedPhrasing).order_by(FaqLearnedPhrasing.id))
    ).all()
    learned = Learned(
        phrasings=tuple(LearnedPhrasing(p.entry_id, p.lang, p.text) for p in phrasings),
        entries=tuple(LearnedEntry(e.id, e.topic, e.lang, e.question, e.answer) for e in entries),
    )
    await session.rollback()  # end the read before the (slow) rebuild
    return learned


async def learned_stamp(session: AsyncSession) -> tuple[int, int, int, int]:
    """Changes whenever something is learned: counts and newest ids of both tables."""
    p_count, p_max = (
        await session.execute(
            select(func.count(), func.coalesce(func.max(FaqLearnedPhrasing.id), 0))
        )
    ).one()
    e_count, e_newest = (
        await session.execute(
            select(func.count(), func.max(FaqLearnedEntry.created_at)).select_from(FaqLearnedEntry)
        )
    ).one()
    await session.rollback()
    newest = int(e_newest.timestamp() * 1_000_000) if e_newest is not None else 0
    return int(p_count), int(p_max), int(e_count), newest


_RELOADS: weakref.WeakKeyDictionary[LiveMatcher, asyncio.Lock] = weakref.WeakKeyDictionary()


async def reload(session: AsyncSession, live: LiveMatcher) -> bool | None:
    """Rebuild the matcher in use from the YAML FAQ and every learned row (in a worker
    thread: the event loop keeps serving); True when it changed, False when nothing did.
    One reload at a time per matcher, reading the rows inside the turn, so a slower rebuild
    never swaps an older set over a newer one. A failed rebuild is logged and leaves the
    matcher in use: None (what was learned is stored; the next reload tries again)."""
    lock = _RELOADS.setdefault(live, asyncio.Lock())
    async with lock:
        learned = await load_learned(session)
        try:
            return await asyncio.to_thread(live.relearn, learned)
        except Exception:
            log.exception("rebuilding the FAQ matcher with what was learned failed")
            return None


# --- shared rules --------------------------------------------------------------------------


def _teachable(entry: Entry | None) -> bool:
    """An entry a question may be attached to (not the hand-off entry: people decide that)."""
    return entry is not None and entry.action is None


async def _guesses(live: LiveMatcher, question: str) -> tuple[Entry, ...]:
    result = await match_off_loop(live, question)
    return tuple(c.entry for c in result.candidates if _teachable(c.entry))[:GUESSES]


def _group(question: str | None = None) -> ColumnElement[str]:
    """How /unanswered groups questions (support.insights): trimmed, lower-cased; of the
    column, or of a given question."""
    value = UnansweredQuestion.question if question is None else literal(question)
    return func.lower(func.trim(value))


async def _triage(
    session: AsyncSession, question: str, how: str, by: int | None, now: datetime
) -> int:
    """Mark every open row asking `question` triaged; how many were."""
    done = await session.execute(
        update(UnansweredQuestion)
        .where(
            _group() == _group(question),
            UnansweredQuestion.resolved.is_(False),
        )
        .values(resolved=True, triage=how, triaged_by=by, triaged_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


async def _phrasing_known(session: AsyncSession, entry_id: str, text: str) -> bool:
    found = await session.scalar(
        select(FaqLearnedPhrasing.id).where(
            FaqLearnedPhrasing.entry_id == entry_id,
            FaqLearnedPhrasing.text_key == text_key(text),
        )
    )
    return found is not None


def _in_entry(entry: Entry, lang: str, text: str) -> bool:
    return phrasing_key(text) in {phrasing_key(q) for q in entry.questions.get(lang, ())}


def _add_phrasing(
    session: AsyncSession,
    *,
    entry_id: str,
    lang: str,
    text: str,
    source: str,
    source_id: int | None,
    by: int | None,
    now: datetime,
) -> None:
    session.add(
        FaqLearnedPhrasing(
            entry_id=entry_id,
            lang=lang,
            text=text,
            text_key=text_key(text),
            source=source,
            source_id=source_id,
            created_by=by,
            created_at=now,
        )
    )


async def _commit_learned(session: AsyncSession) -> bool:
    """Commit; False when the duplicate guard fired (a racing tap stored it first)."""
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


# --- the desk: a closed ticket's lesson ----------------------------------------------------


async def _ticket_question(session: AsyncSession, ticket: Ticket) -> str | None:
    """The customer's question: the one that brought them to the desk, else the last one
    the bot could not answer before they asked for a person (the ticket's context), else
    their first message in words that is more than a request for a person."""
    rows = (
        await session.execute(
            select(TicketMessage.direction, TicketMessage.text, TicketMessage.entities)
            .where(
                TicketMessage.ticket_id == ticket.id,
                TicketMessage.direction.in_(("in", "context")),
                TicketMessage.text.is_not(None),
            )
            .order_by(TicketMessage.id)
            .limit(50)
        )
    ).all()
    missed = [
        r.text
        for r in reversed(rows)
        if r.direction == "context" and _missed(r.entities if isinstance(r.entities, dict) else {})
    ]
    said = [r.text for r in rows if r.direction == "in"]
    for text in (ticket.question, *missed, *said):
        text = (text or "").strip()
        if text and has_words(text) and not wants_human(text) and not text.startswith("/"):
            return text
    return None


def _missed(faq: dict[str, object]) -> bool:
    """A question of the FAQ conversation the bot did not answer (or answered badly)."""
    return faq.get("outcome") in ("handoff", "clarify") or faq.get("feedback") == "down"


async def _agent_reply(session: AsyncSession, ticket_id: int) -> str | None:
    """The agent's last reply in words to the customer (notes are not replies)."""
    text = await session.scalar(
        select(TicketMessage.text)
        .where(
            TicketMessage.ticket_id == ticket_id,
            TicketMessage.direction == "out",
            TicketMessage.text.is_not(None),
            TicketMessage.text != "",
        )
        .order_by(TicketMessage.id.desc())
        .limit(1)
    )
    return text.strip() if text and text.strip() else None


async def learn_offer(
    session: AsyncSession, live: LiveMatcher, ticket_id: int
) -> LearnOffer | None:
    """What a closed ticket can teach, or None (no question in words); read only."""
    ticket = await session.get(Ticket, ticket_id)
    question = await _ticket_question(session, ticket) if ticket is not None else None
    reply = await _agent_reply(session, ticket_id) if question is not None else None
    await session.rollback()
    if question is None:
        return None
    return LearnOffer(
        ticket_id,
        question,
        detect_lang(question),
        await _guesses(live, question),
        can_create=reply is not None,
    )


async def close_and_offer(
    session: AsyncSession,
    policy: DeskPolicy,
    live: LiveMatcher,
    *,
    where: Where,
    agent: AgentRef,
    note: str | None,
    now: datetime,
) -> ClosedTicket:
    """Close the ticket (support.agents.close commits it), then read what it can teach."""
    action = await agents.close(session, policy, where=where, agent=agent, note=note, now=now)
    if action.outcome is not AgentOutcome.DONE or action.ticket_id is None:
        return ClosedTicket(action)
    return ClosedTicket(action, await learn_offer(session, live, action.ticket_id))


async def _closed_ticket(
    session: AsyncSession, ticket_id: int
) -> tuple[Ticket, str] | LearnResult:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        return LearnResult(LearnStatus.NOT_FOUND)
    if ticket.state != "closed":
        return LearnResult(LearnStatus.NOT_CLOSED, ticket_id=ticket_id)
    question = await _ticket_question(session, ticket)
    if question is None:
        return LearnResult(LearnStatus.NO_QUESTION, ticket_id=ticket_id)
    return ticket, question


async def attach_from_ticket(
    session: AsyncSession,
    live: LiveMatcher,
    *,
    ticket_id: int,
    entry_id: str,
    agent: AgentRef,
    now: datetime,
) -> LearnResult:
    """The customer's question of a closed ticket becomes a phrasing of `entry_id`."""
    found = await _closed_ticket(session, ticket_id)
    if isinstance(found, LearnResult):
        await session.rollback()
        return found
    _, question = found
    result = await _attach(
        session,
        live,
        entry_id=entry_id,
        question=question,
        lang=detect_lang(question),
        source=("ticket", ticket_id),
        by=agent.user_id,
        now=now,
        register=agent,
    )
    return LearnResult(result.status, result.entry_id, question, ticket_id, lang=result.lang)


async def _attach(
    session: AsyncSession,
    live: LiveMatcher,
    *,
    entry_id: str,
    question: str,
    lang: str,
    source: tuple[str, int],
    by: int,
    now: datetime,
    register: AgentRef | None = None,
) -> LearnResult:
    """Store `question` as a phrasing of the entry (and triage the same open questions),
    commit, reload. The caller's reads are still in the transaction."""
    entry = live.kb.get(entry_id)
    if not _teachable(entry):
        await session.rollback()
        return LearnResult(LearnStatus.NO_ENTRY, question=question)
    assert entry is not None
    if lang not in LANGS or not entry.answer.get(lang):
        await session.rollback()
        return LearnResult(LearnStatus.NO_LANGUAGE, entry.id, question, lang=lang)
    if register is not None:
        await _register(session, register, now)
    await _triage(session, question, "learned", by, now)
    known = _in_entry(entry, lang, question) or await _phrasing_known(session, entry.id, question)
    if not known:
        _add_phrasing(
            session,
            entry_id=entry.id,
            lang=lang,
            text=question,
            source=source[0],
            source_id=source[1],
            by=by,
            now=now,
        )
    if not await _commit_learned(session):
        return LearnResult(LearnStatus.ALREADY, entry.id, question)
    if known:
        return LearnResult(LearnStatus.ALREADY, entry.id, question)
    await reload(session, live)
    return LearnResult(LearnStatus.LEARNED, entry.id, question)


async def _register(session: AsyncSession, agent: AgentRef, now: datetime) -> None:
    """The tapping agent is registered (or renamed), as with every desk action."""
    await tickets.register_agent(
        session, user_id=agent.user_id, name=agent.name[:128], username=agent.username, now=now
    )


def new_entry_id(ticket_id: int, question: str, taken: set[str]) -> str:
    """A KB id for an entry made from ticket `ticket_id`: `t<ticket>_` and the question's
    first Latin words (`t42_do_you_ship_to_canada`), at most 32 characters, never one of
    `taken` (the FAQ's ids, YAML and learned)."""
    words = re.findall(r"[a-z0-9]+", question.casefold())
    stem = f"t{ticket_id}"
    for word in words:
        if len(stem) + 1 + len(word) > MAX_ID_CHARS - 3:  # room for a _2.._99 suffix
            break
        stem = f"{stem}_{word}"
    candidate, n = stem, 1
    while candidate in taken or not valid_id(candidate):
        n += 1
        candidate = f"{stem[: MAX_ID_CHARS - len(str(n)) - 1]}_{n}"
    return candidate


async def entry_from_ticket(
    session: AsyncSession, live: LiveMatcher, *, ticket_id: int, agent: AgentRef, now: datetime
) -> LearnResult:
    """A new FAQ entry: the customer's question and the agent's last reply as its answer,
    in the customer's language. One per ticket (the database guards it)."""
    found = await _closed_ticket(session, ticket_id)
    if isinstance(found, LearnResult):
        await session.rollback()
        return found
    _, question = found
    made = await session.scalar(
        select(FaqLearnedEntry.id).where(
            FaqLearnedEntry.source == "ticket", FaqLearnedEntry.source_id == ticket_id
        )
    )
    if made is not None:
        await session.rollback()
        return LearnResult(LearnStatus.ALREADY, made, question, ticket_id, created=True)
    answer = await _agent_reply(session, ticket_id)
    if answer is None:
        await session.rollback()
        return LearnResult(LearnStatus.NO_REPLY, question=question, ticket_id=ticket_id)
    stored = set((await session.scalars(select(FaqLearnedEntry.id))).all())
    entry_id = new_entry_id(ticket_id, question, stored | {e.id for e in live.kb.entries})
    await _register(session, agent, now)
    session.add(
        FaqLearnedEntry(
            id=entry_id,
            topic=NEW_ENTRY_TOPIC,
            lang=detect_lang(question),
            question=question,
            answer=answer,
            source="ticket",
            source_id=ticket_id,
            created_by=agent.user_id,
            created_at=now,
        )
    )
    await _triage(session, question, "learned", agent.user_id, now)
    if not await _commit_learned(session):  # a racing tap made it first
        return LearnResult(LearnStatus.ALREADY, None, question, ticket_id, created=True)
    await reload(session, live)
    return LearnResult(LearnStatus.LEARNED, entry_id, question, ticket_id, created=True)


# --- /unanswered: triage for admins --------------------------------------------------------


async def triage_page(
    session: AsyncSession, live: LiveMatcher, *, since: datetime, limit: int, offset: int = 0
) -> TriagePage:
    """Open unanswered questions since `since`, most asked first, `limit` from `offset`,
    each with the matcher's best guesses (read only)."""
    key = _group()
    open_rows = (
        UnansweredQuestion.created_at >= since,
        UnansweredQuestion.resolved.is_(False),
    )
    total = await session.scalar(
        select(func.count(func.distinct(key))).select_from(UnansweredQuestion).where(*open_rows)
    )
    rows = (
        await session.execute(
            select(
                func.max(UnansweredQuestion.id),
                func.count(),
                func.count(func.distinct(UnansweredQuestion.user_id)),
            )
            .where(*open_rows)
            .group_by(key)
            .order_by(func.count().desc(), func.max(UnansweredQuestion.created_at).desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    latest = {
        r.id: (r.question, r.lang)
        for r in (
            await session.scalars(
                select(UnansweredQuestion).where(UnansweredQuestion.id.in_([r[0] for r in rows]))
            )
        ).all()
    }
    await session.rollback()
    items = []
    for question_id, times, customers in rows:
        question, lang = latest[question_id]
        guesses = await _guesses(live, question)
        items.append(TriageItem(question_id, question, lang, int(times), int(customers), guesses))
    return TriagePage(tuple(items), int(total or 0), offset)


async def _open_question(
    session: AsyncSession, question_id: int
) -> UnansweredQuestion | LearnResult:
    row = await session.get(UnansweredQuestion, question_id)
    if row is None:
        await session.rollback()
        return LearnResult(LearnStatus.NOT_FOUND)
    if row.resolved:
        question = row.question
        await session.rollback()
        return LearnResult(LearnStatus.TRIAGED, question=question)
    return row


async def attach_question(
    session: AsyncSession,
    live: LiveMatcher,
    *,
    question_id: int,
    entry_id: str,
    admin_id: int,
    now: datetime,
) -> LearnResult:
    """Triage: the question (and the same question asked by others) joins the entry."""
    row = await _open_question(session, question_id)
    if isinstance(row, LearnResult):
        return row
    question, lang = row.question.strip(), detect_lang(row.question)
    return await _attach(
        session,
        live,
        entry_id=entry_id,
        question=question,
        lang=lang,
        source=("unanswered", question_id),
        by=admin_id,
        now=now,
    )


async def ignore_question(
    session: AsyncSession, *, question_id: int, admin_id: int, now: datetime
) -> LearnResult:
    """Triage: the question leaves /unanswered, nothing is learned."""
    row = await _open_question(session, question_id)
    if isinstance(row, LearnResult):
        return row
    question = row.question
    if not await _triage(session, question, "ignored", admin_id, now):
        await session.rollback()  # another admin was faster
        return LearnResult(LearnStatus.TRIAGED, question=question)
    await session.commit()
    return LearnResult(LearnStatus.IGNORED, question=question)


async def hand_question(
    session: AsyncSession, policy: DeskPolicy, *, question_id: int, admin_id: int, now: datetime
) -> LearnResult:
    """Triage: open (or find) a ticket for the customer who asked last, with the question,
    so an agent writes the answer; its close then offers "new entry from my reply"."""
    if not policy.enabled:
        return LearnResult(LearnStatus.NO_DESK)
    row = await _open_question(session, question_id)
    if isinstance(row, LearnResult):
        return row
    question, user_id, lang = row.question, row.user_id, row.lang
    opened = await tickets.open_uncommitted(
        session,
        policy,
        user_id=user_id,
        reason=HandoffReason.TRIAGE,
        question=question,
        lang=lang,
        now=now,
    )
    ticket = await session.get(Ticket, opened.ticket_id)
    assert ticket is not None
    if opened.created or opened.reopened:  # the customer learns why a person writes
        await tickets.customer_note(
            session, ticket, "learn-handed-customer", now, question=question[:300]
        )
    else:  # the customer's ticket was open already: tell its agents
        await tickets.group_note(
            session, policy, ticket, "learn-handed-note", now, question=question[:1000]
        )
    tickets.event(session, ticket.id, "handed", now, admin_id, question_id=question_id)
    if not await _triage(session, question, "handed", admin_id, now):
        await session.rollback()
        return LearnResult(LearnStatus.TRIAGED, question=question)
    await session.commit()
    return LearnResult(LearnStatus.HANDED, question=question, ticket_id=opened.ticket_id)
