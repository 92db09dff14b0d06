"""Canned replies kept in the database: admins add and remove them, agents use them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CannedReply
from storage.queries import insert_for
from support.canned import check_key, check_template

ANY_LANG = "*"


async def save(
    session: AsyncSession, *, key: str, lang: str, text: str, by: int, now: datetime
) -> str:
    """Add or replace a canned reply; raises ValueError (or UnknownVariable) on bad input."""
    key = check_key(key)
    check_template(text)
    table = CannedReply.__table__
    stmt = insert_for(session, table).values(
        key=key, lang=lang, text=text, created_by=by, created_at=now, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key, table.c.lang],
        set_={"text": stmt.excluded.text, "updated_at": now, "created_by": by},
    )
    await session.execute(stmt)
    await session.commit()
    return key


async def remove(session: AsyncSession, *, key: str) -> int:
    """Remove the key's replies (every language); BadKey if it cannot be a key."""
    key = check_key(key)
    done = await session.execute(delete(CannedReply).where(CannedReply.key == key))
    await session.commit()
    return int(done.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class CannedEntry:
    key: str
    lang: str  # zh | en | * (any)
    text: str


async def all_replies(session: AsyncSession) -> tuple[CannedEntry, ...]:
    """Every canned reply by key and language, read in one statement (read only)."""
    rows = await session.execute(
        select(CannedReply.key, CannedReply.lang, CannedReply.text).order_by(
            CannedReply.key, CannedReply.lang
        )
    )
    # Plain values, taken before the read ends: a rollback expires ORM rows, and touching one
    # afterwards would load it again outside the greenlet (MissingGreenlet).
    found = tuple(CannedEntry(r.key, r.lang, r.text) for r in rows)
    await session.rollback()
    return found


async def find(session: AsyncSession, *, key: str, lang: str) -> CannedReply | None:
    """The reply in the customer's language, else the one for any language."""
    rows = {
        r.lang: r
        for r in await session.scalars(
            select(CannedReply).where(
                CannedReply.key == key.strip().lower(), CannedReply.lang.in_((lang, ANY_LANG))
            )
        )
    }
    return rows.get(lang) or rows.get(ANY_LANG)
