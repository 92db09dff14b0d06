"""Members in a private chat: check-in, points, tier, streak, make-up cards, coupons; and
/checkin in the community group."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from community import checkins, drops, points
from community.checkins import GroupReply
from community.policy import CommunityPolicy
from handlers.filters import CommunityChat, PrivateChat
from views import keyboards
from views.callbacks import MemberAction
from views.community import card_text, checkin_text, makeup_text, me_text, mycoupons_text, top_text
from views.texts import Texts

TOP = 10
GROUP_REPLY_LIFETIME = timedelta(minutes=1)

router = Router(name=__name__)
router.callback_query.filter(PrivateChat())
group = Router(name=f"{__name__}.group")
group.message.filter(CommunityChat())
private = Router(name=f"{__name__}.private")
private.message.filter(PrivateChat())


@group.message(Command("checkin"))
async def cmd_checkin_in_group(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
) -> None:
    """In the group: one short reply, removed with the command after a while."""
    await checkins.check_in(
        session,
        user_id=event_from_user.id,
        now=now,
        tz=community.tz,
        rules=community.rules,
        tiers=community.tiers,
        group_reply=GroupReply(
            chat_id=message.chat.id,
            reply_to=message.message_id,
            lifetime=GROUP_REPLY_LIFETIME,
            text=lambda result: checkin_text(texts, community.tiers, result).splitlines()[0],
        ),
    )


@private.message(Command("checkin"))
async def cmd_checkin(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
) -> None:
    result = await checkins.check_in(
        session,
        user_id=event_from_user.id,
        now=now,
        tz=community.tz,
        rules=community.rules,
        tiers=community.tiers,
    )
    await message.answer(checkin_text(texts, community.tiers, result))


@private.message(Command("me"))
async def cmd_me(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
) -> None:
    user_id = event_from_user.id
    p = await checkins.profile(
        session, user_id=user_id, now=now, tz=community.tz, tiers=community.tiers
    )
    coupons = await drops.my_coupons(session, user_id=user_id, now=now)
    await message.answer(
        me_text(texts, community.tiers, event_from_user.first_name, p, coupons),
        parse_mode="HTML",
        reply_markup=keyboards.member_actions(texts, p, community.rules.card_price),
    )


@private.message(Command("top"))
async def cmd_top(
    message: Message,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
) -> None:
    since = checkins.week_start(now, community.tz)
    week = await points.leaderboard(session, since=since, limit=TOP)
    ever = await points.leaderboard(session, since=None, limit=TOP)
    await message.answer(top_text(texts, week, ever), parse_mode="HTML")


@private.message(Command("mycoupons"))
async def cmd_mycoupons(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
) -> None:
    coupons = await drops.my_coupons(session, user_id=event_from_user.id, now=now)
    # Codes are for this member only: no forwarding or saving.
    await message.answer(
        mycoupons_text(texts, coupons, community.tz),
        parse_mode="HTML",
        protect_content=bool(coupons),
    )


@router.callback_query(MemberAction.filter())
async def cb_member(
    query: CallbackQuery,
    bot: Bot,
    callback_data: MemberAction,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
) -> None:
    """The buttons under /me: check in, repair yesterday with a card, buy a card."""
    user_id, tiers, rules = event_from_user.id, community.tiers, community.rules
    if callback_data.action == "checkin":
        result = await checkins.check_in(
            session, user_id=user_id, now=now, tz=community.tz, rules=rules, tiers=tiers
        )
        text = checkin_text(texts, tiers, result)
    elif callback_data.action == "makeup":
        made = await checkins.make_up(
            session, user_id=user_id, now=now, tz=community.tz, rules=rules, tiers=tiers
        )
        text = makeup_text(texts, made, rules.card_price)
    elif callback_data.action == "buycard":
        bought = await checkins.buy_card(
            session, user_id=user_id, now=now, rules=rules, tiers=tiers
        )
        cards = 0
        if bought.applied:  # how many the member holds now
            p = await checkins.profile(
                session, user_id=user_id, now=now, tz=community.tz, tiers=tiers
            )
            cards = p.makeup_cards
        text = card_text(texts, bought.applied, rules.card_price, bought.balance, cards)
    else:
        await query.answer(texts("stale-button"), show_alert=True)
        return
    await query.answer()
    await bot.send_message(user_id, text)


router.include_routers(group, private)
