"""Support desk figures for managers: today, the last 7 days and the last 30 days.

One read fetches the desk tickets and CSAT rows touching the last 30 days; the three windows
are computed from those rows in Python, so the numbers are the same on SQLite and PostgreSQL.
Imported tickets (`source != 'desk'`) are never counted.

What each figure counts, for a window `[since, now]`:

- `opened`: tickets with `opened_at` in the window; `closed`: tickets with `closed_at` in it.
- first response times: tickets whose `first_response_at` falls in the window, measured
  from `opened_at` in business seconds when `hours` is given, else in wall seconds.
- `resolution_p50`: tickets closed in the window, `closed_at - opened_at` in wall seconds.
- `sla_hit_rate`: tickets *opened* in the window. Answered within `sla_seconds` (business
  time when `hours` is given) is a hit, later is a miss. Unanswered tickets are measured up
  to `now` (or up to their close, if they were closed unanswered): past `sla_seconds` is a
  miss, not yet is left out (it may still be a hit).
- CSAT: ratings *asked* in the window (`asked_at`); `csat_rated` of them have a score,
  `csat_avg` is their mean score and `csat_response_rate` is `rated / asked`.
- `handoff_rate`: desk tickets opened ÷ distinct customers who asked the FAQ in the window.
- per agent: first responses given in the window (and their p50), tickets they closed in it
  (`closed_by_kind == 'agent'`), and the CSAT asked in it for tickets credited to them (the
  assignee, else the agent who closed it, else the first responder).

Percentiles use the nearest-rank method: the p-th percentile of n sorted values is the value
at rank ceil(p/100 * n), so it is always one of the observed values.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from faq.smalltalk import Talk
from storage.models import Agent, Csat, FaqInteraction, Ticket

DESK = "desk"


class OpenTime(Protocol):
    """What stats needs of business hours (`support.hours.BusinessHours` provides it)."""

    def open_seconds_between(self, start: datetime, end: datetime) -> float: ...


class _Business(Protocol):
    def __call__(self, start: datetime, end: datetime) -> float: ...


@dataclass(frozen=True, slots=True)
class AgentFigures:
    agent_id: int
    name: str
    first_responses: int
    closed: int
    first_response_p50: float | None  # seconds, over tickets where they were first responder
    csat_avg: float | None
    csat_count: int


@dataclass(frozen=True, slots=True)
class WindowFigures:
    label: str  # "today" | "7d" | "30d"
    since: datetime  # window start (aware UTC)
    opened: int
    closed: int
    first_response_p50: float | None  # seconds
    first_response_p90: float | None  # seconds
    resolution_p50: float | None  # seconds, opened -> closed, closed tickets
    sla_hit_rate: float | None
    csat_avg: float | None
    csat_asked: int
    csat_rated: int
    csat_response_rate: float | None
    handoff_rate: float | None
    agents: tuple[AgentFigures, ...]  # sorted by first_responses desc


@dataclass(frozen=True, slots=True)
class _Ticket:
    opened_at: datetime
    first_response_at: datetime | None
    first_responder_id: int | None
    first_response_seconds: float | None
    closed_at: datetime | None
    closer_agent_id: int | None


@dataclass(frozen=True, slots=True)
class _Rating:
    asked_at: datetime
    score: int | None
    agent_id: int | None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (0 < p <= 100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime; pass an aware time")
    return at.astimezone(UTC)


def local_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of `now`'s local day in `tz`, as aware UTC."""
    day = _utc(now).astimezone(tz).date()
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def report_windows(now: datetime, tz: ZoneInfo) -> tuple[tuple[str, datetime], ...]:
    """The report's windows as (label, since): "today" (since local midnight in `tz`), "7d"
    and "30d", each ending at `now`. Other reports shown with these figures use them too."""
    now = _utc(now)
    return (
        ("today", local_midnight(now, tz)),
        ("7d", now - timedelta(days=7)),
        ("30d", now - timedelta(days=30)),
    )


async def support_stats(
    session: AsyncSession,
    *,
    now: datetime,
    tz: ZoneInfo,
    sla_seconds: int,
    hours: OpenTime | None = None,
) -> tuple[WindowFigures, ...]:
    """Figures for "today" (since local midnight in `tz`), "7d" and "30d", in that order.

    A read: the transaction is rolled back before returning, so no connection is held.
    """
    now = _utc(now)
    windows = report_windows(now, tz)
    earliest = min(since for _, since in windows)

    def business(start: datetime, end: datetime) -> float:
        if hours is not None:
            return hours.open_seconds_between(start, end)
        return (end - start).total_seconds()

    ticket_rows = (
        await session.execute(
            select(
                Ticket.opened_at,
                Ticket.first_response_at,
                Ticket.first_responder_id,
                Ticket.closed_at,
                Ticket.closed_by_kind,
                Ticket.closed_by_id,
            ).where(
                Ticket.source == DESK,
                or_(
                    Ticket.opened_at >= earliest,
                    Ticket.first_response_at >= earliest,
                    Ticket.closed_at >= earliest,
                ),
            )
        )
    ).all()
    rating_rows = (
        await session.execute(
            select(
                Csat.asked_at,
                Csat.score,
                Ticket.assignee_id,
                Ticket.closed_by_kind,
                Ticket.closed_by_id,
                Ticket.first_responder_id,
            )
            .join(Ticket, Ticket.id == Csat.ticket_id)
            .where(Ticket.source == DESK, Csat.asked_at >= earliest, Csat.asked_at <= now)
        )
    ).all()
    asked_faq = (
        await session.execute(
            select(
                *(
                    func.count(
                        distinct(
                            case((FaqInteraction.created_at >= since, FaqInteraction.user_id))
                        )
                    )
                    for _, since in windows
                )
            ).where(
                FaqInteraction.created_at >= earliest,
                FaqInteraction.created_at <= now,
                # "hi" and "thanks" are not questions for the FAQ
                FaqInteraction.outcome.not_in([talk.value for talk in Talk]),
            )
        )
    ).one()

    tickets: list[_Ticket] = []
    for opened_at, first_at, responder, closed_at, by_kind, by_id in ticket_rows:
        closer = by_id if by_kind == "agent" else None
        tickets.append(
            _Ticket(
                opened_at=opened_at,
                first_response_at=first_at,
                first_responder_id=responder,
                first_response_seconds=(
                    business(opened_at, first_at) if first_at is not None else None
                ),
                closed_at=closed_at,
                closer_agent_id=closer,
            )
        )
    ratings = [
        _Rating(
            asked_at=asked_at,
            score=score,
            agent_id=_credit(assignee, by_id if by_kind == "agent" else None, responder),
        )
        for asked_at, score, assignee, by_kind, by_id, responder in rating_rows
    ]

    agent_ids = {t.first_responder_id for t in tickets} | {t.closer_agent_id for t in tickets}
    agent_ids |= {r.agent_id for r in ratings}
    agent_ids.discard(None)
    names: dict[int, str] = {}
    if agent_ids:
        rows = await session.execute(
            select(Agent.user_id, Agent.name).where(Agent.user_id.in_(agent_ids))
        )
        names = {row.user_id: row.name for row in rows}
    await session.rollback()  # a read: end it before the caller talks to Telegram

    return tuple(
        _window(
            label,
            since,
            now,
            tickets,
            ratings,
            int(faq_users),
            names,
            sla_seconds=sla_seconds,
            business=business,
        )
        for (label, since), faq_users in zip(windows, asked_faq, strict=True)
    )


def _credit(assignee: int | None, closer: int | None, responder: int | None) -> int | None:
    if assignee is not None:
        return assignee
    if closer is not None:
        return closer
    return responder


def _window(
    label: str,
    since: datetime,
    now: datetime,
    tickets: Sequence[_Ticket],
    ratings: Sequence[_Rating],
    faq_users: int,
    names: dict[int, str],
    *,
    sla_seconds: int,
    business: _Business,
) -> WindowFigures:
    def inside(at: datetime | None) -> bool:
        return at is not None and since <= at <= now

    opened = closed = hits = misses = 0
    first_responses: list[float] = []
    resolutions: list[float] = []
    agent_first: defaultdict[int, list[float]] = defaultdict(list)
    agent_closed: defaultdict[int, int] = defaultdict(int)
    for t in tickets:
        if inside(t.opened_at):
            opened += 1
            verdict = _sla_verdict(t, now, sla_seconds, business)
            hits += verdict is True
            misses += verdict is False
        if inside(t.first_response_at) and t.first_response_seconds is not None:
            first_responses.append(t.first_response_seconds)
            if t.first_responder_id is not None:
                agent_first[t.first_responder_id].append(t.first_response_seconds)
        if t.closed_at is not None and inside(t.closed_at):
            closed += 1
            resolutions.append((t.closed_at - t.opened_at).total_seconds())
            if t.closer_agent_id is not None:
                agent_closed[t.closer_agent_id] += 1

    asked = 0
    scores: list[float] = []
    agent_scores: defaultdict[int, list[float]] = defaultdict(list)
    agent_rated: set[int] = set()
    for r in ratings:
        if not inside(r.asked_at):
            continue
        asked += 1
        if r.agent_id is not None:
            agent_rated.add(r.agent_id)
        if r.score is not None:
            scores.append(r.score)
            if r.agent_id is not None:
                agent_scores[r.agent_id].append(r.score)

    agents = [
        AgentFigures(
            agent_id=uid,
            name=names.get(uid) or str(uid),
            first_responses=len(agent_first[uid]),
            closed=agent_closed[uid],
            first_response_p50=percentile(agent_first[uid], 50),
            csat_avg=_mean(agent_scores[uid]),
            csat_count=len(agent_scores[uid]),
        )
        for uid in set(agent_first) | set(agent_closed) | agent_rated
    ]
    agents.sort(key=lambda a: (-a.first_responses, -a.closed, a.name, a.agent_id))

    return WindowFigures(
        label=label,
        since=since,
        opened=opened,
        closed=closed,
        first_response_p50=percentile(first_responses, 50),
        first_response_p90=percentile(first_responses, 90),
        resolution_p50=percentile(resolutions, 50),
        sla_hit_rate=_ratio(hits, hits + misses),
        csat_avg=_mean(scores),
        csat_asked=asked,
        csat_rated=len(scores),
        csat_response_rate=_ratio(len(scores), asked),
        handoff_rate=_ratio(opened, faq_users),
        agents=tuple(agents),
    )


def _sla_verdict(t: _Ticket, now: datetime, sla_seconds: int, business: _Business) -> bool | None:
    """True: answered in time; False: answered late or unanswered past due; None: not yet due."""
    if t.first_response_seconds is not None:
        return t.first_response_seconds <= sla_seconds
    until = now if t.closed_at is None else min(now, t.closed_at)
    if business(t.opened_at, until) > sla_seconds:
        return False
    return None


_UNITS = {
    "en": ("s", "m", "h"),
    "zh": ("秒", "分", "小时"),
}


def format_duration(seconds: float | None, lang: str) -> str:
    """A short duration, whole seconds: "45s", "3m 20s", "1h 05m" (zh: "45秒", "3分20秒",
    "1小时05分"); hours show whole minutes, "—" stands for no value."""
    if seconds is None:
        return "—"
    zh = lang.lower().startswith("zh")
    sec_unit, min_unit, hour_unit = _UNITS["zh" if zh else "en"]
    sep = "" if zh else " "
    total = max(0, round(seconds))
    if total < 60:
        return f"{total}{sec_unit}"
    if total < 3600:
        minutes, secs = divmod(total, 60)
        return f"{minutes}{min_unit}{sep}{secs:02d}{sec_unit}"
    hours_, rest = divmod(total, 3600)
    return f"{hours_}{hour_unit}{sep}{rest // 60:02d}{min_unit}"
