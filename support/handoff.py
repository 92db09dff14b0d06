"""Requests for a human. Until the support desk exists, a request is recorded and kept.

Rule: one pending request per customer at a time; asking again while one is pending
returns the same request instead of piling up duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import HandoffRequest


class HandoffReason(StrEnum):
    BUTTON = "button"
    COMMAND = "command"
    KEYWORD = "keyword"
    MISSES = "misses"
    FEEDBACK = "feedback"


@dataclass(frozen=True, slots=True)
class HandoffResult:
    request_id: int
    created: bool  # False: a pending request already existed


async def request_human(
    session: AsyncSession,
    *,
    user_id: int,
    reason: HandoffReason,
    question: str | None,
    now: datetime,
) -> HandoffResult:
    """Record that the customer wants a person (the caller commits)."""
    pending = await session.scalar(
        select(HandoffRequest.id)
        .where(HandoffRequest.user_id == user_id, HandoffRequest.status == "pending")
        .order_by(HandoffRequest.id.desc())
        .limit(1)
    )
    if pending is not None:
        return HandoffResult(pending, created=False)
    row = HandoffRequest(user_id=user_id, reason=reason.value, question=question, created_at=now)
    session.add(row)
    await session.flush()
    return HandoffResult(row.id, created=True)


async def ask_for_human(
    session: AsyncSession, *, user_id: int, reason: HandoffReason, now: datetime
) -> HandoffResult:
    """A button, command or 👎 path asking for a human; commits before the bot replies."""
    result = await request_human(session, user_id=user_id, reason=reason, question=None, now=now)
    await session.commit()
    return result
