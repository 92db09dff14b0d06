"""Unanswered questions grouped for managers, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import UnansweredQuestion
from storage.queries import upsert_user
from support.insights import unanswered_questions
from tests.conftest import T0


async def test_same_question_is_grouped_and_most_asked_comes_first(session: AsyncSession) -> None:
    for uid in (1, 2, 3):
        await upsert_user(
            session, user_id=uid, username=None, first_name="x", language_code="zh", now=T0
        )

    def gap(uid: int, text: str, reason: str, days_ago: float = 0) -> UnansweredQuestion:
        return UnansweredQuestion(
            user_id=uid,
            question=text,
            lang="zh",
            best_entry_id="fit",
            confidence=0.3,
            reason=reason,
            created_at=T0 - timedelta(days=days_ago),
        )

    session.add_all(
        [
            gap(1, "有实体店吗", "no_match"),
            gap(2, " 有实体店吗", "no_match"),
            gap(2, "有实体店吗", "clarify"),
            gap(3, "面料是纯棉吗", "disliked"),
            gap(3, "上个月的问题", "no_match", days_ago=40),
        ]
    )
    resolved = gap(1, "已处理", "no_match")
    resolved.resolved = True
    session.add(resolved)
    await session.commit()

    gaps = await unanswered_questions(session, since=T0 - timedelta(days=30))
    assert [(g.question.strip(), g.times, g.customers) for g in gaps] == [
        ("有实体店吗", 3, 2),
        ("面料是纯棉吗", 1, 1),
    ]
    assert gaps[0].reasons == "clarify, no_match"
