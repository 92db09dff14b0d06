"""Coupon drops: members tap Claim in the group; managers create drops in private.

Manager syntax (admins, private chat; a CSV or text file of the shop's codes can be sent
with the command as its caption):

    /drop 100 Title | discount text | limit=1 days=7 audience=all start=2026-11-23 20:00

The title and discount go through the copy guard first: with forbidden absolute claims the
drop is stored as a draft and the manager sees the words marked, with "Publish anyway" (the
override is written to the audit log) and "Discard".
"""

from __future__ import annotations

import contextlib
import html
from datetime import datetime

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.copyguard import CopyGuard
from community import announce, drops, points
from community.codes import CodeFileError, parse_code_file
from community.drops import ClaimStatus, DropError
from community.policy import CommunityPolicy
from handlers.deps import SoldOut
from handlers.filters import IsAdmin, PrivateChat
from storage.models import CouponDrop, Member
from views.callbacks import ClaimDrop, PublishDrop, Redeem
from views.render import code_text
from views.texts import Texts

MAX_CODE_FILE = 5 * 1024 * 1024
CLAIM_TOASTS = {
    ClaimStatus.SOLD_OUT: "claim-sold-out",
    ClaimStatus.LIMIT_REACHED: "claim-limit",
    ClaimStatus.NOT_ELIGIBLE: "claim-not-eligible",
    ClaimStatus.NOT_STARTED: "claim-not-started",
    ClaimStatus.ENDED: "claim-ended",
    ClaimStatus.NOT_FOUND: "stale-button",
    ClaimStatus.INSUFFICIENT_POINTS: "claim-no-points",
}


class DropSpecError(ValueError):
    pass


def parse_drop_command(args: str, tz_now: datetime) -> dict[str, object]:
    """`100 Title | discount | key=value ...` -> create_drop keyword arguments."""
    parts = [p.strip() for p in args.split("|")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise DropSpecError("usage")
    head = parts[0].split(maxsplit=1)
    if len(head) < 2 or not head[0].isdigit():
        raise DropSpecError("usage")
    spec: dict[str, object] = {
        "quantity": int(head[0]),
        "title": head[1],
        "discount": parts[1],
        "starts_at": tz_now,
    }
    # key=value pairs; start= and until= may hold a date and a time
    tokens = " ".join(parts[2:]).split()
    i = 0
    while i < len(tokens):
        key, _, value = tokens[i].partition("=")
        joined = i + 1 < len(tokens) and "=" not in tokens[i + 1] and ":" in tokens[i + 1]
        if key in ("start", "until") and joined:
            value = f"{value} {tokens[i + 1]}"
            i += 1
        i += 1
        if key == "limit" and value.isdigit():
            spec["per_user_limit"] = int(value)
        elif key == "days" and value.isdigit():
            spec["valid_days"] = int(value)
        elif key == "until":
            spec["valid_until"] = _local_time(value, tz_now)
        elif key == "audience":
            spec["audience"] = value
        elif key == "cost" and value.isdigit():
            spec["cost_points"] = int(value) or None
        elif key == "start":
            spec["starts_at"] = tz_now if value == "now" else _local_time(value, tz_now)
        else:
            raise DropSpecError(f"{key}={value}")
    return spec


def _local_time(value: str, tz_now: datetime) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=tz_now.tzinfo)
        except ValueError:
            continue
    raise DropSpecError(value)


def drop_copy(title: str, discount: str) -> str:
    """What the group post of a drop says in the manager's words: the copy guard checks it."""
    return f"{title.strip()}\n{discount.strip()}"


def create_router(
    policy: CommunityPolicy,
    admin_ids: tuple[int, ...],
    sold_out: SoldOut | None = None,
    *,
    guard: CopyGuard | None = None,
) -> Router:
    router = Router(name=__name__)
    guard = CopyGuard() if guard is None else guard
    # Drops known to be over: their taps need no database write (see bot/middlewares).
    sold_out = SoldOut() if sold_out is None else sold_out

    @router.callback_query(ClaimDrop.filter())
    async def cb_claim(
        query: CallbackQuery,
        bot: Bot,
        callback_data: ClaimDrop,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        drop_id = callback_data.drop
        if drop_id in sold_out:
            await query.answer(texts("claim-sold-out"))
            return
        result = await drops.claim(
            session,
            drop_id=drop_id,
            user_id=event_from_user.id,
            now=now,
            tier=None,
            commit=False,
        )
        if result.status in (ClaimStatus.SOLD_OUT, ClaimStatus.ENDED) or result.sold_out_now:
            sold_out.add(drop_id)
        if result.status is not ClaimStatus.CLAIMED or result.code_id is None:
            await query.answer(texts(CLAIM_TOASTS.get(result.status, "stale-button")))
            return
        chat_id = query.message.chat.id if query.message is not None else None
        await announce.queue_code(
            session, user_id=event_from_user.id, code_id=result.code_id, now=now
        )
        await announce.queue_counter(
            session, drop_id=drop_id, chat_id=chat_id, final=result.sold_out_now, now=now
        )
        await session.commit()
        me = await bot.me()
        # The toast opens the bot's chat, where the code arrives; a member who never
        # started the bot gets it there with their first /start.
        await query.answer(texts("claim-done"), url=f"https://t.me/{me.username}?start=coupons")

    @router.message(CommandStart(deep_link=True), PrivateChat())
    async def start_coupons(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        if command.args != "coupons":
            await message.answer(texts("start-greeting", name=event_from_user.first_name))
            return
        waiting = await drops.undelivered(session, user_id=event_from_user.id)
        if not waiting:
            await message.answer(texts("coupons-nothing-waiting"))
            return
        for c in waiting:
            expires = (
                c.expires_at.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M")
                if c.expires_at
                else None
            )
            await message.answer(
                code_text(texts, c.code, c.title, c.discount, expires),
                parse_mode="HTML",
                protect_content=True,
            )
            await drops.mark_delivered(session, code_id=c.code_id, now=now)

    @router.message(Command("shop"), PrivateChat())
    async def cmd_shop(
        message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
    ) -> None:
        items, balance = await drops.shop_items(session, user_id=event_from_user.id, now=now)
        if not items:
            await message.answer(texts("shop-empty"))
            return
        kb = InlineKeyboardBuilder()
        lines = [texts("shop-title", balance=balance or 0)]
        for drop_id, title, discount, cost in items:
            lines.append(texts("shop-line", title=title, discount=discount, cost=cost))
            kb.button(
                text=texts("btn-redeem", title=title[:30], cost=cost),
                callback_data=Redeem(drop=drop_id),
            )
        kb.adjust(1)
        await message.answer("\n".join(lines), reply_markup=kb.as_markup())

    @router.callback_query(Redeem.filter(), PrivateChat())
    async def cb_redeem(
        query: CallbackQuery,
        bot: Bot,
        callback_data: Redeem,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        tier = await session.scalar(
            select(Member.tier).where(Member.user_id == event_from_user.id)
        )
        result = await drops.claim(
            session,
            drop_id=callback_data.drop,
            user_id=event_from_user.id,
            now=now,
            tier=tier or 0,
        )
        if result.status is not ClaimStatus.CLAIMED or result.code is None:
            await query.answer(
                texts(CLAIM_TOASTS.get(result.status, "stale-button")), show_alert=True
            )
            return
        await query.answer()
        expires = (
            result.expires_at.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M")
            if result.expires_at
            else None
        )
        names = (
            await session.execute(
                select(CouponDrop.title, CouponDrop.discount).where(
                    CouponDrop.id == callback_data.drop
                )
            )
        ).one()
        await session.rollback()
        await bot.send_message(
            event_from_user.id,
            code_text(texts, result.code, names.title, names.discount, expires),
            parse_mode="HTML",
            protect_content=True,
        )
        if result.code_id is not None:
            await drops.mark_delivered(session, code_id=result.code_id, now=now)

    admin = Router(name=f"{__name__}.admin")
    admin.message.filter(PrivateChat(), IsAdmin())
    # Others' taps on the held-drop buttons fall through to the stale-button answer.
    admin.callback_query.filter(PrivateChat(), IsAdmin())

    @admin.message(Command("drop"))
    async def cmd_drop(
        message: Message,
        bot: Bot,
        command: CommandObject,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        try:
            spec = parse_drop_command(command.args or "", now.astimezone(policy.tz))
        except DropSpecError as exc:
            extra = "" if str(exc) == "usage" else texts("drop-bad-option", option=str(exc))
            await message.answer(f"{extra}\n{texts('drop-usage')}".strip())
            return
        codes = None
        if message.document is not None:
            if (message.document.file_size or 0) > MAX_CODE_FILE:
                await message.answer(texts("drop-file-too-big"))
                return
            try:
                data = await bot.download(message.document)
                codes = parse_code_file(data.read() if data else b"")
            except CodeFileError as exc:
                await message.answer(texts("drop-bad-file", error=str(exc)))
                return
        # Forbidden absolute claims hold the drop as a draft until the manager decides.
        copy = drop_copy(str(spec["title"]), str(spec["discount"]))
        hits = guard.check(copy)
        try:
            drop = await drops.create_drop(
                session,
                created_by=event_from_user.id,
                now=now,
                codes=codes,
                hold=bool(hits),
                **spec,  # type: ignore[arg-type]
            )
        except DropError as exc:
            await message.answer(texts("drop-refused", error=str(exc)))
            return
        if hits:
            kb = InlineKeyboardBuilder()
            kb.button(
                text=texts("btn-drop-publish"),
                callback_data=PublishDrop(drop=drop.id, publish=True),
            )
            kb.button(
                text=texts("btn-drop-discard"),
                callback_data=PublishDrop(drop=drop.id, publish=False),
            )
            words = ", ".join(dict.fromkeys(h.word for h in hits))
            await message.answer(
                texts("drop-held", id=drop.id, words=html.escape(words), text=guard.mark(copy)),
                parse_mode="HTML",
                reply_markup=kb.as_markup(),
            )
            return
        if drop.status == "live" and policy.chat_id is not None:
            await announce.queue_post(session, drop_id=drop.id, chat_id=policy.chat_id, now=now)
            await session.commit()
        when = drop.starts_at.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M")
        await message.answer(
            texts(
                "drop-created",
                id=drop.id,
                title=html.escape(drop.title),
                quantity=drop.quantity,
                source=texts("drop-imported" if codes is not None else "drop-generated"),
                start=when,
            )
            + ("" if policy.chat_id is not None else "\n" + texts("drop-no-group")),
            parse_mode="HTML",
        )

    @admin.callback_query(PublishDrop.filter())
    async def cb_publish_drop(
        query: CallbackQuery,
        bot: Bot,
        callback_data: PublishDrop,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        """A held drop: publish it anyway (logged with the forbidden words) or discard it."""
        drop_id = callback_data.drop
        row = (
            await session.execute(
                select(CouponDrop.title, CouponDrop.discount, CouponDrop.starts_at).where(
                    CouponDrop.id == drop_id, CouponDrop.status == drops.DRAFT
                )
            )
        ).one_or_none()
        await session.commit()
        if row is None:  # released, discarded or ended already, or forged
            await query.answer(texts("stale-button"), show_alert=True)
            return
        if callback_data.publish:
            words = [h.word for h in guard.check(drop_copy(row.title, row.discount))]
            done = await drops.release_draft(
                session, drop_id, actor_id=event_from_user.id, now=now, words=words
            )
            start = row.starts_at.astimezone(policy.tz).strftime("%Y-%m-%d %H:%M")
            reply = texts("drop-released", id=drop_id, start=start)
            if policy.chat_id is None:
                reply += "\n" + texts("drop-no-group")
        else:
            done = await drops.discard_draft(session, drop_id)
            reply = texts("drop-discarded", id=drop_id)
        if not done:  # the other button won, a moment ago
            await query.answer(texts("stale-button"), show_alert=True)
            return
        await query.answer()
        if query.message is not None:
            with contextlib.suppress(TelegramBadRequest):  # too old to edit: no matter
                await bot.edit_message_reply_markup(
                    chat_id=query.message.chat.id,
                    message_id=query.message.message_id,
                    reply_markup=None,
                )
        await bot.send_message(event_from_user.id, reply)

    @admin.message(Command("dropstats"))
    async def cmd_dropstats(
        message: Message, command: CommandObject, session: AsyncSession, texts: Texts
    ) -> None:
        arg = (command.args or "").strip()
        if not arg.isdigit():
            await message.answer(texts("dropstats-usage"))
            return
        try:
            st = await drops.stats(session, drop_id=int(arg))
        except DropError:
            await message.answer(texts("dropstats-usage"))
            return
        await message.answer(
            texts(
                "dropstats",
                id=st.drop_id,
                title=st.title,
                status=st.status,
                claimed=st.claimed,
                quantity=st.quantity,
                delivered=st.delivered,
                used=st.used,
            )
        )

    @admin.message(Command("dropend"))
    async def cmd_dropend(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        texts: Texts,
        now: datetime,
    ) -> None:
        """End a drop early: no more claims; the group post shows it has ended."""
        arg = (command.args or "").strip()
        if not arg.isdigit():
            await message.answer(texts("dropend-usage"))
            return
        if not await drops.end_drop(session, drop_id=int(arg), now=now):
            await message.answer(texts("dropend-not-open", id=arg))
            return
        sold_out.add(int(arg))
        chat_id = await session.scalar(select(CouponDrop.chat_id).where(CouponDrop.id == int(arg)))
        await announce.queue_counter(
            session, drop_id=int(arg), chat_id=chat_id, final=True, now=now
        )
        await session.commit()
        await message.answer(texts("dropend-done", id=arg))

    @admin.message(Command("used"))
    async def cmd_used(
        message: Message,
        bot: Bot,
        command: CommandObject,
        session: AsyncSession,
        texts: Texts,
        now: datetime,
    ) -> None:
        """Codes the shop saw redeemed: typed after the command, or a file of them."""
        try:
            if message.document is not None:
                if (message.document.file_size or 0) > MAX_CODE_FILE:
                    await message.answer(texts("drop-file-too-big"))
                    return
                data = await bot.download(message.document)
                codes: list[str] = list(parse_code_file(data.read() if data else b""))
            else:
                codes = (command.args or "").replace(",", " ").split()
        except CodeFileError as exc:
            await message.answer(texts("drop-bad-file", error=str(exc)))
            return
        if not codes:
            await message.answer(texts("used-usage"))
            return
        report = await drops.mark_used(session, codes=codes, now=now)
        await message.answer(
            texts(
                "used-report",
                marked=report.marked,
                already=report.already_used,
                unknown=len(report.unknown),
                unclaimed=len(report.not_claimed),
            )
        )

    @admin.message(Command("points"))
    async def cmd_points(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        texts: Texts,
        now: datetime,
    ) -> None:
        """/points <user id> <+N|-N> <reason>: a manual change, kept in the ledger."""
        parts = (command.args or "").split(maxsplit=2)
        if len(parts) < 3 or not parts[0].isdigit() or not parts[1].lstrip("+-").isdigit():
            await message.answer(texts("points-usage"))
            return
        try:
            change = await points.adjust(
                session,
                user_id=int(parts[0]),
                delta=int(parts[1]),
                reason_text=parts[2],
                admin_id=message.from_user.id if message.from_user else 0,
                now=now,
                tiers=policy.tiers,
            )
        except (ValueError, IntegrityError):
            await session.rollback()
            await message.answer(texts("points-usage"))
            return
        if change.applied and change.tier_up:
            tier = policy.tiers[change.tier].label(texts.lang)
            await announce.queue_notice(
                session, chat_id=int(parts[0]), text=texts("tier-up", tier=tier), now=now
            )
            await session.commit()
        if change.applied:
            key = "points-adjusted"
        elif change.reason_code == "insufficient":
            key = "points-refused"
        else:
            key = "points-usage"
        await message.answer(texts(key, user=parts[0], delta=parts[1], balance=change.balance))

    router.include_router(admin)
    return router
