"""The community group's hygiene: a welcome for new members, join notices removed, and
links or forwards from brand-new members held (deleted, the admins told)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Bot, Router
from aiogram.filters import Filter
from aiogram.types import Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from community import announce, hygiene
from community.policy import CommunityPolicy
from handlers.filters import InChat
from views.texts import Catalogue, Texts

LINK_ENTITIES = frozenset({"url", "text_link"})


class ServiceJoinOrLeave(Filter):
    async def __call__(self, message: Message) -> bool:
        return bool(message.new_chat_members) or message.left_chat_member is not None


class LinkOrForward(Filter):
    async def __call__(self, message: Message) -> bool:
        if message.forward_origin is not None:
            return True
        entities = (message.entities or []) + (message.caption_entities or [])
        return any(e.type in LINK_ENTITIES for e in entities)


def create_router(catalogue: Catalogue, policy: CommunityPolicy, default_language: str) -> Router:
    router = Router(name=__name__)
    router.message.filter(InChat(policy.chat_id))
    group_texts = catalogue.for_lang(default_language)

    @router.message(ServiceJoinOrLeave())
    async def on_join_or_leave(
        message: Message, bot: Bot, session: AsyncSession, now: datetime
    ) -> None:
        me = await bot.me()
        for member in message.new_chat_members or []:
            if member.is_bot:
                continue
            if await hygiene.joined(session, user_id=member.id, now=now):
                await announce.queue_group_reply(
                    session,
                    chat_id=message.chat.id,
                    reply_to=None,
                    text=group_texts("welcome", name=member.first_name),
                    delete_after=policy.welcome_lifetime,
                    button=(
                        group_texts("btn-start-bot"),
                        f"https://t.me/{me.username}?start=welcome",
                    ),
                    now=now,
                )
        # The "X joined" / "X left" notice itself goes at once.
        await announce.queue_delete(
            session,
            chat_id=message.chat.id,
            message_ids=[message.message_id],
            after=timedelta(0),
            now=now,
        )
        await session.commit()

    @router.message(LinkOrForward())
    async def on_link(
        message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
    ) -> None:
        if not await hygiene.is_new(
            session, user_id=event_from_user.id, now=now, hours=policy.antispam_hours
        ):
            await session.rollback()
            return
        await announce.queue_delete(
            session,
            chat_id=message.chat.id,
            message_ids=[message.message_id],
            after=timedelta(0),
            now=now,
        )
        report = group_texts(
            "spam-held",
            name=event_from_user.full_name,
            user_id=event_from_user.id,
            hours=policy.antispam_hours,
            text=(message.text or message.caption or "")[:300],
        )
        for admin_id in policy.admin_ids:
            await announce.queue_notice(session, chat_id=admin_id, text=report, now=now)
        await session.commit()

    return router
