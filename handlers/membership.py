"""A customer blocking or unblocking the bot arrives as `my_chat_member` in their chat."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.types import ChatMemberUpdated
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.filters import PrivateChat
from support.customers import note_reachability


def create_router() -> Router:
    router = Router(name=__name__)
    router.my_chat_member.filter(PrivateChat())

    @router.my_chat_member()
    async def on_my_chat_member(
        event: ChatMemberUpdated, session: AsyncSession, now: datetime
    ) -> None:
        status = event.new_chat_member.status
        await note_reachability(
            session, user_id=event.chat.id, blocked=status in ("kicked", "left"), now=now
        )

    return router
