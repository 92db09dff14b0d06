"""The audit log: decisions a person must answer for, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    subject: str,
    detail: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Add one entry (no commit: it stands or falls with the change it records)."""
    session.add(
        AuditEntry(
            actor_id=actor_id, action=action, subject=subject, detail=detail, created_at=now
        )
    )


def copy_override(
    session: AsyncSession,
    *,
    actor_id: int | None,
    subject: str,
    words: Iterable[str],
    now: datetime,
) -> None:
    """A text published over the copy guard's warning, with the words it flagged."""
    record(
        session,
        actor_id=actor_id,
        action="copy_override",
        subject=subject,
        detail={"words": list(dict.fromkeys(words))},
        now=now,
    )
