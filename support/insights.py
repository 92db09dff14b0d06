"""What customers asked that the FAQ could not answer, grouped for managers.

The same question asked by many people is one row with a count, so the most common gaps
come first. The export's first two columns are `question,expected`: once a manager fills
in `expected`, the file is a test set for `python main.py faq eval`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import UnansweredQuestion


@dataclass(frozen=True, slots=True)
class Gap:
    question: str
    lang: str
    times: int
    customers: int
    best_guess: str | None
    confidence: float
    reasons: str
    last_asked: datetime


async def unanswered_questions(
    session: AsyncSession, *, since: datetime, limit: int = 500
) -> list[Gap]:
    """Open unanswered questions since `since`, most asked first."""
    key = func.lower(func.trim(UnansweredQuestion.question))
    rows = (
        await session.execute(
            select(
                func.min(UnansweredQuestion.question),
                func.min(UnansweredQuestion.lang),
                func.count(),
                func.count(func.distinct(UnansweredQuestion.user_id)),
                func.max(UnansweredQuestion.best_entry_id),
                func.max(UnansweredQuestion.confidence),
                func.min(UnansweredQuestion.reason),
                func.max(UnansweredQuestion.reason),
                func.max(UnansweredQuestion.created_at),
            )
            .where(UnansweredQuestion.created_at >= since, UnansweredQuestion.resolved.is_(False))
            .group_by(key)
            .order_by(func.count().desc(), func.max(UnansweredQuestion.created_at).desc())
            .limit(limit)
        )
    ).all()
    await session.rollback()  # a read: end it before the caller talks to Telegram
    return [
        Gap(
            question=r[0],
            lang=r[1],
            times=int(r[2]),
            customers=int(r[3]),
            best_guess=r[4],
            confidence=float(r[5]),
            reasons=r[6] if r[6] == r[7] else f"{r[6]}, {r[7]}",
            last_asked=r[8],
        )
        for r in rows
    ]
