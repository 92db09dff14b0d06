"""Support desk figures per window, on SQLite and PostgreSQL, checked against hand counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agent, Csat, FaqInteraction, Ticket, User
from support.stats import (
    AgentFigures,
    WindowFigures,
    format_duration,
    local_midnight,
    percentile,
    support_stats,
)
from tests.conftest import T0

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = T0  # 2026-11-20 02:00 UTC, 10:00 in Shanghai
MIDNIGHT = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)  # 2026-11-20 00:00 in Shanghai
SLA = 600
ALICE, BOB = 101, 102


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def ticket(
    user_id: int,
    opened_at: datetime,
    *,
    first: float | None = None,  # seconds after opening
    responder: int | None = None,
    closed_at: datetime | None = None,
    closed_by: tuple[str, int] | None = None,
    assignee: int | None = None,
    source: str = "desk",
) -> Ticket:
    return Ticket(
        user_id=user_id,
        reason="import" if source == "import" else "asked",
        lang="zh",
        source=source,
        state="closed" if closed_at is not None else ("answered" if first else "new"),
        assignee_id=assignee,
        opened_at=opened_at,
        first_response_at=None if first is None else opened_at + timedelta(seconds=first),
        first_responder_id=responder,
        closed_at=closed_at,
        closed_by_kind=closed_by[0] if closed_by else None,
        closed_by_id=closed_by[1] if closed_by else None,
    )


async def seed(session: AsyncSession) -> None:
    session.add_all(
        User(id=uid, first_name=f"c{uid}", first_seen=ago(days=60), last_seen=NOW)
        for uid in range(1, 22)
    )
    session.add_all(
        [
            Agent(user_id=ALICE, name="Alice", created_at=ago(days=90)),
            Agent(user_id=BOB, name="Bob", created_at=ago(days=90)),
        ]
    )
    await session.flush()
    # Today in Shanghai starts at MIDNIGHT (16:00 UTC the day before).
    t_a = ticket(  # opened exactly at local midnight: today
        1,
        MIDNIGHT,
        first=60,
        responder=ALICE,
        closed_at=MIDNIGHT + timedelta(hours=1),
        closed_by=("agent", ALICE),
        assignee=ALICE,
    )
    t_b = ticket(2, ago(hours=2), first=900, responder=BOB, assignee=BOB)  # late answer
    t_c = ticket(3, ago(minutes=20))  # unanswered, past due: a miss
    t_d = ticket(4, ago(minutes=5))  # unanswered, not yet due: left out
    t_e = ticket(  # 23:59 local yesterday; answered after midnight; closed by the customer
        5,
        MIDNIGHT - timedelta(seconds=60),
        first=300,
        responder=ALICE,
        closed_at=ago(hours=3),
        closed_by=("customer", 5),
    )
    t_f = ticket(
        6,
        ago(days=3),
        first=1800,
        responder=BOB,
        closed_at=ago(days=3) + timedelta(hours=2),
        closed_by=("agent", BOB),
        assignee=BOB,
    )
    t_g = ticket(
        7,
        ago(days=6),
        first=30,
        responder=ALICE,
        closed_at=ago(days=6) + timedelta(seconds=600),
        closed_by=("agent", ALICE),
    )
    t_h = ticket(
        8,
        ago(days=20),
        first=3600,
        responder=BOB,
        closed_at=ago(days=19),
        closed_by=("agent", BOB),
        assignee=BOB,
    )
    t_i = ticket(  # opened before the 30 days, closed inside them
        9,
        ago(days=40),
        first=120,
        responder=ALICE,
        closed_at=ago(days=29),
        closed_by=("agent", ALICE),
        assignee=ALICE,
    )
    t_j = ticket(  # an import: never counted
        10,
        ago(hours=1),
        first=10,
        responder=ALICE,
        closed_at=ago(minutes=30),
        closed_by=("agent", ALICE),
        assignee=ALICE,
        source="import",
    )
    session.add_all([t_a, t_b, t_c, t_d, t_e, t_f, t_g, t_h, t_i, t_j])
    await session.flush()

    def csat(t: Ticket, score: int | None) -> Csat:
        assert t.closed_at is not None
        return Csat(
            ticket_id=t.id,
            user_id=t.user_id,
            asked_at=t.closed_at,
            score=score,
            rated_at=None if score is None else t.closed_at + timedelta(minutes=1),
        )

    session.add_all(
        [
            csat(t_a, 5),  # Alice (assignee)
            csat(t_e, None),  # Alice (first responder: closed by the customer, unassigned)
            csat(t_f, 2),  # Bob
            csat(t_g, 4),  # Alice (closed it)
            csat(t_h, 3),  # Bob
            csat(t_i, None),  # Alice
            csat(t_j, 1),  # import: ignored
        ]
    )

    def asked(uid: int, at: datetime) -> FaqInteraction:
        return FaqInteraction(
            user_id=uid,
            question="q",
            lang="zh",
            confidence=0.1,
            outcome="handoff",
            created_at=at,
        )

    session.add_all(
        [
            *(asked(uid, ago(hours=1)) for uid in range(1, 9)),  # 8 customers today
            asked(1, ago(minutes=10)),  # a second question: still one customer
            asked(9, MIDNIGHT - timedelta(seconds=1)),  # yesterday, local time
            *(asked(uid, ago(days=5)) for uid in range(10, 14)),  # 13 customers in 7 days
            asked(20, ago(days=25)),  # 14 in 30 days
            asked(21, ago(days=31)),  # too old
        ]
    )
    await session.commit()


async def test_windows_and_agents(session: AsyncSession) -> None:
    await seed(session)

    today, week, month = await support_stats(session, now=NOW, tz=SHANGHAI, sla_seconds=SLA)

    assert not session.in_transaction()  # the read was ended
    assert today == WindowFigures(
        label="today",
        since=MIDNIGHT,
        opened=4,  # a, b, c, d; e opened 23:59 local yesterday
        closed=2,  # a, e
        first_response_p50=300,  # of 60 (a), 300 (e: answered today), 900 (b)
        first_response_p90=900,
        resolution_p50=3600,  # of 3600 (a), 25260 (e)
        sla_hit_rate=1 / 3,  # a hit; b, c miss; d not yet due
        csat_avg=5.0,
        csat_asked=2,
        csat_rated=1,
        csat_response_rate=0.5,
        handoff_rate=0.5,  # 4 tickets / 8 customers asked the FAQ
        agents=(
            AgentFigures(ALICE, "Alice", 2, 1, 60, 5.0, 1),
            AgentFigures(BOB, "Bob", 1, 0, 900, None, 0),
        ),
    )
    assert week == WindowFigures(
        label="7d",
        since=NOW - timedelta(days=7),
        opened=7,
        closed=4,  # a, e, f, g
        first_response_p50=300,  # of 30, 60, 300, 900, 1800
        first_response_p90=1800,
        resolution_p50=3600,  # of 600, 3600, 7200, 25260
        sla_hit_rate=0.5,  # a, e, g hit; b, c, f miss
        csat_avg=11 / 3,
        csat_asked=4,
        csat_rated=3,
        csat_response_rate=0.75,
        handoff_rate=7 / 13,
        agents=(
            AgentFigures(ALICE, "Alice", 3, 2, 60, 4.5, 2),
            AgentFigures(BOB, "Bob", 2, 1, 900, 2.0, 1),
        ),
    )
    assert month == WindowFigures(
        label="30d",
        since=NOW - timedelta(days=30),
        opened=8,
        closed=6,  # + h, i (i opened 40 days ago)
        first_response_p50=300,  # of 30, 60, 300, 900, 1800, 3600
        first_response_p90=3600,
        resolution_p50=7200,  # of 600, 3600, 7200, 25260, 86400, 950400
        sla_hit_rate=3 / 7,
        csat_avg=3.5,
        csat_asked=6,
        csat_rated=4,
        csat_response_rate=4 / 6,
        handoff_rate=8 / 14,
        agents=(  # a tie on first responses: more closed first
            AgentFigures(ALICE, "Alice", 3, 3, 60, 4.5, 2),
            AgentFigures(BOB, "Bob", 3, 2, 1800, 2.5, 2),
        ),
    )


class HalfOpen:
    """Business hours open half of every stretch of time."""

    def __init__(self) -> None:
        self.calls = 0

    def open_seconds_between(self, start: datetime, end: datetime) -> float:
        self.calls += 1
        return (end - start).total_seconds() / 2


async def test_business_hours_measure_first_response_and_sla(session: AsyncSession) -> None:
    await seed(session)
    hours = HalfOpen()

    today, week, _ = await support_stats(
        session, now=NOW, tz=SHANGHAI, sla_seconds=SLA, hours=hours
    )

    assert hours.calls > 0
    assert (today.first_response_p50, today.first_response_p90) == (150, 450)
    # a (30) and b (450) are now in time; c has only 600 business seconds open: not yet due.
    assert today.sla_hit_rate == 1.0
    assert today.resolution_p50 == 3600  # wall time
    assert [(a.agent_id, a.first_response_p50) for a in today.agents] == [(ALICE, 30), (BOB, 450)]
    # a, b, e, g hit; f (900) misses; c and d are not yet due.
    assert week.sla_hit_rate == 0.8


async def test_no_rows(session: AsyncSession) -> None:
    figures = await support_stats(session, now=NOW, tz=SHANGHAI, sla_seconds=SLA)

    assert [f.label for f in figures] == ["today", "7d", "30d"]
    for f in figures:
        assert (f.opened, f.closed, f.csat_asked, f.csat_rated, f.agents) == (0, 0, 0, 0, ())
        assert f.first_response_p50 is f.first_response_p90 is f.resolution_p50 is None
        assert f.sla_hit_rate is f.csat_avg is f.csat_response_rate is f.handoff_rate is None


def test_local_midnight() -> None:
    assert local_midnight(NOW, SHANGHAI) == MIDNIGHT
    # 15:59 UTC is still the previous day in Shanghai; 16:00 UTC starts the next one.
    late = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)
    assert local_midnight(late, SHANGHAI) == MIDNIGHT
    assert local_midnight(late + timedelta(minutes=1), SHANGHAI) == MIDNIGHT + timedelta(days=1)
    with pytest.raises(ValueError, match="naive"):
        local_midnight(datetime(2026, 11, 20), SHANGHAI)  # noqa: DTZ001


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == 4.0
    assert percentile([float(n) for n in range(1, 11)], 90) == 9.0


@pytest.mark.parametrize(
    ("seconds", "en", "zh"),
    [
        (None, "—", "—"),
        (0, "0s", "0秒"),
        (45, "45s", "45秒"),
        (44.6, "45s", "45秒"),
        (60, "1m 00s", "1分00秒"),
        (200, "3m 20s", "3分20秒"),
        (3599, "59m 59s", "59分59秒"),
        (3900, "1h 05m", "1小时05分"),
        (90061, "25h 01m", "25小时01分"),
    ],
)
def test_format_duration(seconds: float | None, en: str, zh: str) -> None:
    assert format_duration(seconds, "en") == en
    assert format_duration(seconds, "zh") == zh
