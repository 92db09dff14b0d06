"""A customer blocking or unblocking the bot arrives as `my_chat_member` in their chat."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.types import ChatMemberUpdated
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.filters import PrivateChat
from support.relay import customer_back, customer_unreachable
from support.tickets import DeskPolicy

router = Router(name=__name__)
router.my_chat_member.filter(PrivateChat())


@router.my_chat_member()
async def on_my_chat_member(
    event: ChatMemberUpdated, session: AsyncSession, desk: DeskPolicy, now: datetime
) -> None:
    if event.new_chat_member.status in ("kicked", "left"):
        await customer_unreachable(session, desk, user_id=event.chat.id, now=now)
    else:
        await customer_back(session, desk, user_id=event.chat.id, now=now)
