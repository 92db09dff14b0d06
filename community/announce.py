"""What a drop needs sent, queued in the outbox (the sender delivers it at the group's pace).

- the post with the Claim button, once per drop (dedupe `drop_post:<id>`);
- the live counter: at most one edit waiting per drop, drawn from the row when it is sent;
- the final "sold out" / "ended" edit, once, ahead of cosmetic counter edits;
- each claimed code to its member's private chat.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import OutboxMessage

POST, COUNTER, FINAL, CODE = "drop_post", "drop_counter", "drop_final", "coupon_code"
GROUP_REPLY, DELETE, NOTICE = "group_reply", "delete_message", "notice"


def drop_lane(drop_id: int) -> str:
    return f"d:{drop_id}"


async def queue_post(session: AsyncSession, *, drop_id: int, chat_id: int, now: datetime) -> None:
    """Post the drop in the community group (no commit)."""
    await outbox.enqueue(
        session,
        kind=POST,
        lane=drop_lane(drop_id),
        chat_id=chat_id,
        payload={"drop_id": drop_id},
        dedupe_key=f"drop_post:{drop_id}",
        now=now,
    )


async def queue_counter(
    session: AsyncSession, *, drop_id: int, chat_id: int | None, final: bool, now: datetime
) -> None:
    """Redraw the drop's post (no commit). The final edit is queued once and never skipped;
    counter edits are coalesced: one waiting per drop is enough, it shows the latest count."""
    if chat_id is None:
        return
    if final:
        await outbox.enqueue(
            session,
            kind=FINAL,
            lane=drop_lane(drop_id),
            chat_id=chat_id,
            payload={"drop_id": drop_id},
            dedupe_key=f"drop_final:{drop_id}",
            priority=1,
            now=now,
        )
        return
    waiting = await session.scalar(
        select(
            exists().where(
                OutboxMessage.lane == drop_lane(drop_id),
                OutboxMessage.kind == COUNTER,
                OutboxMessage.status == "pending",
            )
        )
    )
    if not waiting:
        await outbox.enqueue(
            session,
            kind=COUNTER,
            lane=drop_lane(drop_id),
            chat_id=chat_id,
            payload={"drop_id": drop_id},
            priority=2,
            now=now,
        )


async def queue_code(session: AsyncSession, *, user_id: int, code_id: int, now: datetime) -> None:
    """Send a claimed code to the member's private chat (no commit)."""
    await outbox.enqueue(
        session,
        kind=CODE,
        lane=f"u:{user_id}",
        chat_id=user_id,
        payload={"code_id": code_id},
        dedupe_key=f"code:{code_id}",
        now=now,
    )


async def queue_codes(
    session: AsyncSession, claimed: Sequence[tuple[int, int]], *, now: datetime
) -> None:
    """`queue_code` for many (user id, code id) pairs, in one statement (no commit)."""
    await outbox.enqueue_many(
        session,
        [
            {
                "kind": CODE,
                "lane": f"u:{user_id}",
                "chat_id": user_id,
                "payload": {"code_id": code_id},
                "dedupe_key": f"code:{code_id}",
            }
            for user_id, code_id in claimed
        ],
        now=now,
    )


async def queue_group_reply(
    session: AsyncSession,
    *,
    chat_id: int,
    reply_to: int | None,
    text: str,
    delete_after: timedelta,
    now: datetime,
    button: tuple[str, str] | None = None,
) -> None:
    """A short reply in the group (paced like every group post), removed with the message
    it answers after `delete_after`, so the group stays tidy (no commit)."""
    await outbox.enqueue(
        session,
        kind=GROUP_REPLY,
        lane=f"g:{chat_id}",
        chat_id=chat_id,
        payload={
            "reply_to": reply_to,
            "text": text,
            "delete_after": delete_after.total_seconds(),
            "button": list(button) if button else None,
        },
        priority=2,
        now=now,
    )


async def queue_delete(
    session: AsyncSession, *, chat_id: int, message_ids: list[int], after: timedelta, now: datetime
) -> None:
    await outbox.enqueue(
        session,
        kind=DELETE,
        lane=f"x:{chat_id}:{message_ids[0]}",
        chat_id=None,  # deleting is not a post: no pacing
        payload={"chat_id": chat_id, "message_ids": message_ids},
        delay=after,
        now=now,
    )


async def queue_notice(session: AsyncSession, *, chat_id: int, text: str, now: datetime) -> None:
    """A plain message to one person (e.g. an admin told about a held spam message)."""
    await outbox.enqueue(
        session, kind=NOTICE, lane=f"u:{chat_id}", chat_id=chat_id, payload={"text": text}, now=now
    )
