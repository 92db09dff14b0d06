"""Coupon drops: members tap Claim in the group; managers create drops in private.

Manager syntax (admins, private chat; a CSV or text file of the shop's codes can be sent
with the command as its caption): see community.drop_spec.

    /drop 100 Title | discount text | limit=1 days=7 audience=all start=2026-11-23 20:00

The title and discount go through the copy guard first: with forbidden absolute claims the
drop is stored as a draft and the manager sees the words marked, with "Publish anyway" (the
override is written to the audit log) and "Discard".
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.policy import CampaignPolicy
from community import drop_spec, drops, points
from community.claim_queue import ClaimQueue
from community.codes import CodeFileError, parse_code_file
from community.drop_spec import DropSpecError
from community.drops import ClaimStatus, DropError
from community.points import AdjustCommandError
from community.policy import CommunityPolicy
from handlers.deps import SoldOut
from handlers.filters import IsAdmin, PrivateChat
from storage.numbers import NumberError, read_id
from storage.queries import TgUser
from views import keyboards
from views.callbacks import ClaimDrop, PublishDrop, Redeem
from views.drops import (
    claim_done,
    claim_refusal,
    render_draft_decision,
    render_drop_created,
    render_drop_stats,
    render_held,
    render_points_change,
    render_shop,
    render_spec_error,
    shop_time,
)
from views.render import code_text
from views.texts import Catalogue, Texts

MAX_CODE_FILE = 5 * 1024 * 1024

router = Router(name=__name__)
# Taps on Claim: the loudest minute of the shop (a drop brings thousands a second). First
# among the routers (handlers.get_routers), so a tap is not tried against every filter of
# the routers before this one (none of which takes Claim data).
claims = Router(name=f"{__name__}.claims")
members = Router(name=f"{__name__}.members")
members.message.filter(PrivateChat())
admin = Router(name=f"{__name__}.admin")
admin.message.filter(PrivateChat(), IsAdmin())
# Others' taps on the held-drop buttons fall through to the stale-button answer.
admin.callback_query.filter(PrivateChat(), IsAdmin())


# --- members -----------------------------------------------------------------------------


@claims.callback_query(ClaimDrop.filter())
async def cb_claim(
    query: CallbackQuery,
    bot: Bot,
    callback_data: ClaimDrop,
    event_from_user: User,
    texts: Texts,
    catalogue: Catalogue,
    now: datetime,
    sold_out: SoldOut,
    claims: ClaimQueue,
) -> None:
    drop_id = callback_data.drop
    known = sold_out.get(drop_id)
    if known is not None:
        await query.answer(claim_refusal(texts, known))
        return
    chat_id = query.message.chat.id if query.message is not None else None
    # The claim queue settles the taps waiting together in one transaction and refreshes
    # the members with them (the update's middleware leaves group taps on Claim to it).
    result, language = await claims.claim(
        drop_id=drop_id,
        user=TgUser(
            event_from_user.id,
            event_from_user.username,
            event_from_user.first_name,
            event_from_user.language_code,
        ),
        chat_id=chat_id,
        now=now,
    )
    if language is not None:  # the member chose a language: answer in it
        texts = catalogue.for_lang(
            catalogue.resolve_language(language, event_from_user.language_code, texts.lang)
        )
    # Drops known to be over: their taps need no database work (see bot/middlewares).
    if result.status in (ClaimStatus.SOLD_OUT, ClaimStatus.ENDED):
        sold_out.mark(drop_id, result.status)
    elif result.sold_out_now:
        sold_out.mark(drop_id, ClaimStatus.SOLD_OUT)
    if result.status is not ClaimStatus.CLAIMED:
        await query.answer(claim_refusal(texts, result.status))
        return
    me = await bot.me()
    # The toast opens the bot's chat, where the code arrives; a member who never
    # started the bot gets it there with their first /start.
    await query.answer(
        claim_done(texts, result.cost), url=f"https://t.me/{me.username}?start=coupons"
    )


@members.message(CommandStart(deep_link=True))
async def cmd_start_coupons(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
) -> None:
    """`/start coupons` (the claim toast's link): codes that could not be sent before."""
    if command.args != "coupons":
        await message.answer(texts("start-greeting", name=event_from_user.first_name))
        return
    waiting = await drops.undelivered(session, user_id=event_from_user.id)
    if not waiting:
        await message.answer(texts("coupons-nothing-waiting"))
        return
    for c in waiting:
        expires = shop_time(c.expires_at, community.tz) if c.expires_at else None
        await message.answer(
            code_text(texts, c.code, c.title, c.discount, expires),
            parse_mode="HTML",
            protect_content=True,
        )
        await drops.mark_delivered(session, code_id=c.code_id, now=now)


@members.message(Command("shop"))
async def cmd_shop(
    message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
) -> None:
    items, balance = await drops.shop_items(session, user_id=event_from_user.id, now=now)
    if not items:
        await message.answer(texts("shop-empty"))
        return
    await message.answer(
        render_shop(texts, items, balance), reply_markup=keyboards.shop_items(texts, items)
    )


@members.callback_query(Redeem.filter(), PrivateChat())
async def cb_redeem(
    query: CallbackQuery,
    bot: Bot,
    callback_data: Redeem,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
) -> None:
    result = await drops.redeem(
        session, drop_id=callback_data.drop, user_id=event_from_user.id, now=now
    )
    if result.status is not ClaimStatus.CLAIMED or result.code is None:
        await query.answer(claim_refusal(texts, result.status), show_alert=True)
        return
    await query.answer(texts("redeem-done", cost=result.cost or 0))
    expires = shop_time(result.expires_at, community.tz) if result.expires_at else None
    await bot.send_message(
        event_from_user.id,
        code_text(texts, result.code, result.title or "", result.discount or "", expires),
        parse_mode="HTML",
        protect_content=True,
    )
    if result.code_id is not None:  # sent: it need not wait for /start coupons
        await drops.mark_delivered(session, code_id=result.code_id, now=now)


# --- managers ----------------------------------------------------------------------------


async def _code_file(message: Message, bot: Bot, texts: Texts) -> list[str] | None:
    """The codes of the file sent with the command; None (the manager told why) when the
    file is too big or unreadable."""
    assert message.document is not None
    if (message.document.file_size or 0) > MAX_CODE_FILE:
        await message.answer(texts("drop-file-too-big"))
        return None
    try:
        data = await bot.download(message.document)
        return list(parse_code_file(data.read() if data else b""))
    except CodeFileError as exc:
        await message.answer(texts("drop-bad-file", error=str(exc)))
        return None


@admin.message(Command("drop"))
async def cmd_drop(
    message: Message,
    bot: Bot,
    command: CommandObject,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
    campaigns: CampaignPolicy,
) -> None:
    tz_now = now.astimezone(community.tz)
    try:
        spec = drop_spec.parse_drop_spec(command.args or "", tz_now, community.tiers)
    except DropSpecError as exc:
        await message.answer(render_spec_error(texts, exc, community.tiers))
        return
    codes = None
    if message.document is not None:
        codes = await _code_file(message, bot, texts)
        if codes is None:
            return
    # Forbidden absolute claims hold the drop as a draft until the manager decides.
    hits = campaigns.guard.check(spec.copy)
    try:
        drop = await drop_spec.create(
            session,
            spec,
            created_by=event_from_user.id,
            now=now,
            codes=codes,
            hold=bool(hits),
            post_in=community.chat_id,
        )
    except DropError as exc:
        await message.answer(texts("drop-refused", error=str(exc)))
        return
    if hits:
        await message.answer(
            render_held(texts, drop.id, [h.word for h in hits], campaigns.guard.mark(spec.copy)),
            parse_mode="HTML",
            reply_markup=keyboards.held_drop(texts, drop.id),
        )
        return
    await message.answer(
        render_drop_created(
            texts,
            drop,
            community.tz,
            imported=codes is not None,
            has_group=community.chat_id is not None,
        ),
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
    community: CommunityPolicy,
    campaigns: CampaignPolicy,
) -> None:
    """A held drop: publish it anyway (logged with the forbidden words) or discard it."""
    decision = await drops.decide_draft(
        session,
        callback_data.drop,
        publish=callback_data.publish,
        actor_id=event_from_user.id,
        now=now,
        forbidden_words=lambda text: [h.word for h in campaigns.guard.check(text)],
    )
    if decision is None:  # decided already (the other button won), or forged
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
    reply = render_draft_decision(
        texts,
        decision.drop_id,
        published=decision.published,
        starts_at=decision.starts_at,
        tz=community.tz,
        has_group=community.chat_id is not None,
    )
    await bot.send_message(event_from_user.id, reply)


@admin.message(Command("dropstats"))
async def cmd_dropstats(
    message: Message, command: CommandObject, session: AsyncSession, texts: Texts
) -> None:
    try:
        drop_id = read_id(command.args or "")
    except NumberError:
        await message.answer(texts("dropstats-usage"))
        return
    try:
        st = await drops.stats(session, drop_id=drop_id)
    except DropError:
        await message.answer(texts("dropstats-not-found", id=drop_id))
        return
    await message.answer(render_drop_stats(texts, st))


@admin.message(Command("dropend"))
async def cmd_dropend(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    sold_out: SoldOut,
) -> None:
    """End a drop early: no more claims; the group post shows it has ended."""
    try:
        drop_id = read_id(command.args or "")
    except NumberError:
        await message.answer(texts("dropend-usage"))
        return
    if not await drops.end_drop(session, drop_id=drop_id, now=now):
        await message.answer(texts("dropend-not-open", id=drop_id))
        return
    sold_out.mark(drop_id, ClaimStatus.ENDED)
    await message.answer(texts("dropend-done", id=drop_id))


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
    if message.document is not None:
        codes = await _code_file(message, bot, texts)
        if codes is None:
            return
    else:
        codes = (command.args or "").replace(",", " ").split()
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
    event_from_user: User,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
) -> None:
    """/points <user id> <+N|-N> <reason>: a manual change, kept in the ledger."""
    try:
        order = points.parse_adjust_command(command.args or "")
    except AdjustCommandError as exc:
        key = "points-bad-amount" if exc.problem == "amount" else "points-usage"
        await message.answer(texts(key, max=points.MAX_ADJUSTMENT))
        return
    change = await points.adjust(
        session,
        user_id=order.user_id,
        delta=order.delta,
        reason_text=order.reason,
        admin_id=event_from_user.id,
        now=now,
        tiers=community.tiers,
        congratulate=lambda tier: texts("tier-up", tier=community.tiers[tier].label(texts.lang)),
    )
    await message.answer(render_points_change(texts, order.user_id, order.delta, change))


router.include_routers(members, admin)
