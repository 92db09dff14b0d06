"""Members in a private chat: check-in, points, tier, streak, make-up cards, coupons."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from community import announce, checkins, drops, points
from community.checkins import Status
from community.policy import CommunityPolicy
from handlers.filters import InChat, PrivateChat
from views.callbacks import MemberAction
from views.texts import Texts

TOP = 10
GROUP_REPLY_LIFETIME = timedelta(minutes=1)


def member_keyboard(
    t: Texts, policy: CommunityPolicy, profile: checkins.Profile
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if not profile.checked_in_today:
        kb.button(text=t("btn-checkin"), callback_data=MemberAction(action="checkin"))
    if profile.can_make_up:
        kb.button(text=t("btn-makeup"), callback_data=MemberAction(action="makeup"))
    kb.button(
        text=t("btn-buy-card", price=policy.rules.card_price),
        callback_data=MemberAction(action="buycard"),
    )
    kb.adjust(1)
    return kb.as_markup()


def checkin_text(t: Texts, policy: CommunityPolicy, r: checkins.CheckinResult) -> str:
    if r.status is Status.ALREADY:
        return t("checkin-already", streak=r.streak, balance=r.balance)
    bonus = t("checkin-bonus", bonus=r.bonus) if r.bonus else ""
    lines = [
        t("checkin-done", points=r.points, bonus_text=bonus, streak=r.streak, balance=r.balance)
    ]
    if r.card_rewarded:
        lines.append(t("checkin-card-rewarded"))
    if r.tier_up:
        lines.append(t("tier-up", tier=policy.tiers[r.tier].label(t.lang)))
    if r.missed_yesterday:
        lines.append(t("checkin-missed"))
    return "\n".join(lines)


def create_router(policy: CommunityPolicy) -> Router:
    router = Router(name=__name__)
    router.callback_query.filter(PrivateChat())

    async def do_checkin(session: AsyncSession, user_id: int, t: Texts, now: datetime) -> str:
        result = await checkins.check_in(
            session, user_id=user_id, now=now, tz=policy.tz, rules=policy.rules, tiers=policy.tiers
        )
        return checkin_text(t, policy, result)

    async def me_text(
        session: AsyncSession, user: User, t: Texts, now: datetime
    ) -> tuple[str, InlineKeyboardMarkup]:
        p = await checkins.profile(
            session, user_id=user.id, now=now, tz=policy.tz, tiers=policy.tiers
        )
        coupons = await drops.my_coupons(session, user_id=user.id, now=now)
        lines = [
            t("me-title", name=html.escape(user.first_name)),
            t("me-points", balance=p.balance, earned=p.earned),
            t("me-tier", tier=policy.tiers[p.tier].label(t.lang)),
        ]
        if p.next_tier is not None and p.points_to_next is not None:
            lines.append(
                t("me-next-tier", points=p.points_to_next, tier=p.next_tier.label(t.lang))
            )
        lines += [
            t("me-streak", streak=p.streak, today=t("yes" if p.checked_in_today else "no")),
            t("me-cards", cards=p.makeup_cards),
            t("me-coupons", count=sum(1 for c in coupons if not c.used and not c.expired)),
        ]
        return "\n".join(lines), member_keyboard(t, policy, p)

    @router.message(Command("checkin"), InChat(policy.chat_id))
    async def group_checkin(
        message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
    ) -> None:
        """In the group: one short reply, removed with the command after a while."""
        text = await do_checkin(session, event_from_user.id, texts, now)
        await announce.queue_group_reply(
            session,
            chat_id=message.chat.id,
            reply_to=message.message_id,
            text=text.splitlines()[0],
            delete_after=GROUP_REPLY_LIFETIME,
            now=now,
        )
        await session.commit()

    @router.message(Command("checkin"), PrivateChat())
    async def cmd_checkin(
        message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
    ) -> None:
        await message.answer(await do_checkin(session, event_from_user.id, texts, now))

    @router.message(Command("me"), PrivateChat())
    async def cmd_me(
        message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
    ) -> None:
        text, markup = await me_text(session, event_from_user, texts, now)
        await message.answer(text, reply_markup=markup)

    @router.message(Command("top"), PrivateChat())
    async def cmd_top(
        message: Message, session: AsyncSession, texts: Texts, now: datetime
    ) -> None:
        week = await points.leaderboard(
            session, since=checkins.week_start(now, policy.tz), limit=TOP
        )
        ever = await points.leaderboard(session, since=None, limit=TOP)
        lines: list[str] = []
        for title, board in (("top-title-week", week), ("top-title-all", ever)):
            lines.append(texts(title))
            lines += [
                texts("top-line", rank=i, name=html.escape(name), points=score)
                for i, (_, name, score) in enumerate(board, 1)
            ] or [texts("top-empty")]
            lines.append("")
        await message.answer("\n".join(lines).strip(), parse_mode="HTML")

    @router.message(Command("mycoupons"), PrivateChat())
    async def cmd_mycoupons(
        message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
    ) -> None:
        coupons = await drops.my_coupons(session, user_id=event_from_user.id, now=now)
        if not coupons:
            await message.answer(texts("mycoupons-none"))
            return
        lines = [texts("mycoupons-title")]
        for c in coupons[:30]:
            if c.used:
                state = texts("mycoupons-used")
            elif c.expired:
                state = texts("mycoupons-expired")
            elif c.expires_at is not None:
                local = c.expires_at.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M")
                state = texts("mycoupons-valid-until", date=local)
            else:
                state = texts("mycoupons-no-expiry")
            lines.append(
                texts(
                    "mycoupons-line",
                    title=html.escape(c.title),
                    discount=html.escape(c.discount),
                    code=html.escape(c.code),
                    state=state,
                )
            )
        # Codes are for this member only: no forwarding or saving.
        await message.answer("\n".join(lines), parse_mode="HTML", protect_content=True)

    @router.callback_query(MemberAction.filter())
    async def cb_member(
        query: CallbackQuery,
        bot: Bot,
        callback_data: MemberAction,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        user_id = event_from_user.id
        common = {"user_id": user_id, "now": now, "rules": policy.rules, "tiers": policy.tiers}
        if callback_data.action == "checkin":
            text = await do_checkin(session, user_id, texts, now)
        elif callback_data.action == "makeup":
            made = await checkins.make_up(session, tz=policy.tz, **common)  # type: ignore[arg-type]
            if made.status is Status.NO_CARD:
                text = texts("makeup-no-card", price=policy.rules.card_price)
            elif made.status is Status.NOTHING_TO_REPAIR:
                text = texts("makeup-nothing")
            else:
                text = texts("makeup-done", streak=made.streak, cards=made.cards)
        elif callback_data.action == "buycard":
            bought = await checkins.buy_card(session, **common)  # type: ignore[arg-type]
            if bought.applied:
                p = await checkins.profile(
                    session, user_id=user_id, now=now, tz=policy.tz, tiers=policy.tiers
                )
                text = texts(
                    "card-bought",
                    price=policy.rules.card_price,
                    balance=bought.balance,
                    cards=p.makeup_cards,
                )
            else:
                text = texts(
                    "card-not-enough", price=policy.rules.card_price, balance=bought.balance
                )
        else:
            await query.answer(texts("stale-button"), show_alert=True)
            return
        await query.answer()
        await bot.send_message(user_id, text)

    return router
