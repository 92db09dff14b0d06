"""The community group's hygiene: a welcome for new members, join notices removed, and
links or forwards from brand-new members held (deleted, the admins told)."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from community import hygiene
from community.policy import CommunityPolicy
from handlers.deps import ChatOptions
from handlers.filters import CommunityChat, PrivateChat
from views.texts import Catalogue, Texts

LINK_ENTITIES = frozenset({"url", "text_link"})

router = Router(name=__name__)
router.message.filter(CommunityChat())
# Every callback gets an answer, or its button keeps spinning. This router is the last to
# see taps outside private chats (the routers after it are private-only), so what reaches
# `elsewhere` is a private-chat button tapped in a group (or forged data).
elsewhere = Router(name=f"{__name__}.elsewhere")


class ServiceJoinOrLeave(Filter):
    async def __call__(self, message: Message) -> bool:
        return bool(message.new_chat_members) or message.left_chat_member is not None


class LinkOrForward(Filter):
    async def __call__(self, message: Message) -> bool:
        if message.forward_origin is not None:
            return True
        entities = (message.entities or []) + (message.caption_entities or [])
        return any(e.type in LINK_ENTITIES for e in entities)


@router.message(ServiceJoinOrLeave())
async def on_join_or_leave(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    now: datetime,
    catalogue: Catalogue,
    community: CommunityPolicy,
    options: ChatOptions,
) -> None:
    """Welcome each person joining (once), and remove the "X joined" / "X left" notice."""
    group_texts = catalogue.for_lang(options.default_language)
    me = await bot.me()
    await hygiene.members_joined(
        session,
        chat_id=message.chat.id,
        notice_id=message.message_id,
        welcomes=[
            (m.id, group_texts("welcome", name=m.first_name))
            for m in message.new_chat_members or []
            if not m.is_bot
        ],
        button=(group_texts("btn-start-bot"), f"https://t.me/{me.username}?start=welcome"),
        lifetime=community.welcome_lifetime,
        now=now,
    )


@router.message(LinkOrForward())
async def on_link(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    now: datetime,
    catalogue: Catalogue,
    community: CommunityPolicy,
    options: ChatOptions,
) -> None:
    """A link or forward from a member who joined less than antispam_hours ago is held."""
    report = catalogue.get(
        options.default_language,
        "spam-held",
        name=event_from_user.full_name,
        user_id=event_from_user.id,
        hours=community.antispam_hours,
        text=(message.text or message.caption or "")[:300],
    )
    await hygiene.hold_link(
        session,
        user_id=event_from_user.id,
        chat_id=message.chat.id,
        message_id=message.message_id,
        hours=community.antispam_hours,
        admin_ids=community.admin_ids,
        report=report,
        now=now,
    )


class NotPrivateChat(Filter):
    async def __call__(self, query: CallbackQuery) -> bool:
        return not await PrivateChat()(query)


@elsewhere.callback_query(NotPrivateChat())
async def cb_elsewhere(query: CallbackQuery, bot: Bot, texts: Texts) -> None:
    """A button no group handler knows: it works in the bot's private chat (opened by the
    answer's link), in the tapper's language."""
    me = await bot.me()
    await query.answer(
        texts("button-private-only"), url=f"https://t.me/{me.username}?start=button"
    )


router.include_router(elsewhere)
