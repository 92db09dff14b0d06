"""Broadcasts: /subscribe and /unsubscribe for everyone; the managers' /broadcast dialogue.

The dialogue (admins, private chat), one FSM state a step:

    message -> buttons (or Skip) -> coupon (or Skip) -> segment (toggles, live count)
    -> preview (+ the copy guard: Send, or Edit / Send anyway) -> sent: the confirmation
    message becomes the progress message, edited by the outbox until the final report.

/cancel (or the ✖ button) leaves it at any step. Every callback may be forged: the state,
the admin and the broadcast are checked here, the rest by the domain.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from campaigns import broadcasts, segments
from campaigns.broadcasts import BroadcastError
from campaigns.copyguard import Hit
from campaigns.policy import CampaignPolicy
from campaigns.segments import Segment
from community import drops
from community.drops import DropError
from community.tiers import DEFAULT_TIERS, Tier, parse_tiers
from handlers.filters import IsAdmin, PrivateChat
from storage.models import Broadcast
from views.broadcasts import with_footer
from views.callbacks import BroadcastForm, CancelBroadcast
from views.keyboards import cancel_keyboard, message_keyboard
from views.texts import Catalogue, Texts

# Room for the "unsubscribe" footer under Telegram's 4096 (text) and 1024 (caption).
TEXT_LIMIT = 3900
CAPTION_LIMIT = 900
COUPON_LIMIT = 256
COUPON_DAYS = 14
STREAKS = (7, 30)
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
_TAG = re.compile(r"<[^>]+>")


class BroadcastDialog(StatesGroup):
    message = State()
    buttons = State()
    coupon = State()
    segment = State()
    preview = State()


def _tiers(settings: Settings | None) -> tuple[Tier, ...]:
    try:
        return parse_tiers(settings.tiers) if settings is not None else DEFAULT_TIERS
    except ValueError:
        return DEFAULT_TIERS


def describe(t: Texts, seg: Segment, tiers: Sequence[Tier]) -> str:
    parts: list[str] = []
    if seg.new:
        parts.append(t("bc-seg-new"))
    if seg.active:
        parts.append(t("bc-seg-active"))
    if seg.dormant:
        parts.append(t("bc-seg-dormant"))
    if seg.tier_min is not None:
        name = tiers[seg.tier_min].label(t.lang) if seg.tier_min < len(tiers) else seg.tier_min
        parts.append(t("bc-seg-tier", tier=str(name)))
    if seg.streak_min is not None:
        parts.append(t("bc-seg-streak", days=seg.streak_min))
    if seg.language is not None:
        parts.append(t("bc-seg-language", language=LANGUAGE_NAMES.get(seg.language, "?")))
    return ", ".join(parts) if parts else t("bc-seg-all")


def toggle(seg: Segment, value: str, tiers: Sequence[Tier]) -> Segment | None:
    """The segment after a tap on a filter button; None for forged values."""
    name, _, arg = value.partition("=")
    current = seg.to_json()
    if name in ("new", "active", "dormant") and not arg:
        current[name] = not current[name]
    elif name == "all" and not arg:
        return Segment()
    elif name == "lang" and arg in LANGUAGE_NAMES:
        current["language"] = None if seg.language == arg else arg
    elif name == "tier" and arg.isdigit() and 1 <= int(arg) < len(tiers):
        current["tier_min"] = None if seg.tier_min == int(arg) else int(arg)
    elif name == "streak" and arg.isdigit() and int(arg) in STREAKS:
        current["streak_min"] = None if seg.streak_min == int(arg) else int(arg)
    else:
        return None
    return Segment.from_json(current)


def segment_keyboard(t: Texts, seg: Segment, tiers: Sequence[Tier]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()

    def add(label: str, value: str, on: bool) -> None:
        kb.button(
            text=("✅ " if on else "") + label,
            callback_data=BroadcastForm(action="seg", value=value),
        )

    add(t("bc-btn-new"), "new", seg.new)
    add(t("bc-btn-active"), "active", seg.active)
    add(t("bc-btn-dormant"), "dormant", seg.dormant)
    for code, name in LANGUAGE_NAMES.items():
        add(t("bc-btn-language", language=name), f"lang={code}", seg.language == code)
    for i in range(1, len(tiers)):
        add(t("bc-btn-tier", tier=tiers[i].label(t.lang)), f"tier={i}", seg.tier_min == i)
    for days in STREAKS:
        add(t("bc-btn-streak", days=days), f"streak={days}", seg.streak_min == days)
    add(t("bc-btn-reset"), "all", seg.is_all)
    kb.button(text=t("bc-btn-preview"), callback_data=BroadcastForm(action="preview"))
    kb.button(text=t("bc-btn-abort"), callback_data=BroadcastForm(action="abort"))
    tier_row = max(len(tiers) - 1, 0)
    kb.adjust(3, len(LANGUAGE_NAMES), *([tier_row] if tier_row else []), len(STREAKS), 1, 2)
    return kb.as_markup()


def step_keyboard(t: Texts, *, skip: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if skip:
        kb.button(text=t("bc-btn-skip"), callback_data=BroadcastForm(action="skip"))
    kb.button(text=t("bc-btn-abort"), callback_data=BroadcastForm(action="abort"))
    return kb.as_markup()


def guarded_text(data: dict[str, Any]) -> str:
    """Everything a recipient reads that the copy guard must see, one part a line."""
    labels = [str(label) for label, _url in data.get("buttons") or []]
    parts = [str(data.get("plain") or ""), str(data.get("coupon") or ""), *labels]
    return "\n".join(p for p in parts if p.strip())


def create_router(catalogue: Catalogue, policy: CampaignPolicy) -> Router:
    router = Router(name=__name__)

    # --- everyone: marketing on and off ------------------------------------------------------

    public = Router(name=f"{__name__}.public")
    public.message.filter(PrivateChat())

    @public.message(Command("unsubscribe"))
    async def cmd_unsubscribe(
        message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
    ) -> None:
        changed = await broadcasts.set_opt_out(
            session, user_id=event_from_user.id, opted_out=True, now=now
        )
        await message.answer(texts("unsubscribe-done" if changed else "unsubscribe-already"))

    @public.message(Command("subscribe"))
    async def cmd_subscribe(
        message: Message, session: AsyncSession, event_from_user: User, texts: Texts, now: datetime
    ) -> None:
        changed = await broadcasts.set_opt_out(
            session, user_id=event_from_user.id, opted_out=False, now=now
        )
        await message.answer(texts("subscribe-done" if changed else "subscribe-already"))

    # --- managers ----------------------------------------------------------------------------

    admin = Router(name=f"{__name__}.admin")
    admin.message.filter(PrivateChat(), IsAdmin())
    admin.callback_query.filter(PrivateChat(), IsAdmin())

    async def ask_message(target: Message, state: FSMContext, texts: Texts) -> None:
        await state.set_state(BroadcastDialog.message)
        await target.answer(texts("bc-ask-message"), reply_markup=step_keyboard(texts, skip=False))

    async def show_segment(
        target: Message,
        state: FSMContext,
        session: AsyncSession,
        texts: Texts,
        now: datetime,
        settings: Settings | None,
        *,
        edit: bool,
    ) -> None:
        await state.set_state(BroadcastDialog.segment)
        seg = Segment.from_json((await state.get_data()).get("segment"))
        n = await segments.count(session, seg, now=now)
        await session.commit()  # ends the read: no connection held while Telegram answers
        tiers = _tiers(settings)
        text = "\n".join(
            [
                texts("bc-segment-title"),
                texts("bc-segment-filters", filters=describe(texts, seg, tiers)),
                texts("bc-segment-count", count=n),
            ]
        )
        markup = segment_keyboard(texts, seg, tiers)
        if edit:
            await target.edit_text(text, reply_markup=markup)
        else:
            await target.answer(text, reply_markup=markup)

    async def show_preview(
        target: Message,
        state: FSMContext,
        session: AsyncSession,
        texts: Texts,
        now: datetime,
    ) -> bool:
        """The message as recipients see it, then the count and the copy guard's verdict;
        False (nothing shown) when the segment reaches nobody."""
        data = await state.get_data()
        seg = Segment.from_json(data.get("segment"))
        n = await segments.count(session, seg, now=now)
        await session.commit()
        if n == 0:
            return False
        await state.set_state(BroadcastDialog.preview)
        await state.update_data(editing=False)
        body = with_footer(texts, str(data.get("html") or ""))
        markup = message_keyboard(
            texts,
            data.get("buttons"),
            0 if data.get("coupon") else None,
            claim=BroadcastForm(action="noop"),
        )
        if data.get("photo"):
            await target.answer_photo(
                str(data["photo"]), caption=body, parse_mode="HTML", reply_markup=markup
            )
        else:
            await target.answer(body, parse_mode="HTML", reply_markup=markup)
        lines = [texts("bc-preview-title"), texts("bc-preview-summary", count=n)]
        if data.get("coupon"):
            lines.append(texts("bc-preview-coupon", discount=html.escape(str(data["coupon"]))))
        checked = guarded_text(data)
        hits = policy.guard.check(checked)
        kb = InlineKeyboardBuilder()
        if hits:
            lines += ["", texts("bc-guard-hits"), policy.guard.mark(checked)]
            kb.button(text=texts("bc-btn-edit"), callback_data=BroadcastForm(action="edit"))
            kb.button(
                text=texts("bc-btn-send-anyway"), callback_data=BroadcastForm(action="override")
            )
        else:
            lines.append(texts("bc-guard-ok"))
            kb.button(text=texts("bc-btn-send"), callback_data=BroadcastForm(action="send"))
            kb.button(text=texts("bc-btn-edit"), callback_data=BroadcastForm(action="edit"))
        kb.button(text=texts("bc-btn-abort"), callback_data=BroadcastForm(action="abort"))
        kb.adjust(2, 1)
        await target.answer("\n".join(lines), parse_mode="HTML", reply_markup=kb.as_markup())
        return True

    @admin.message(Command("broadcast"))
    async def cmd_broadcast(message: Message, state: FSMContext, texts: Texts) -> None:
        await state.clear()
        await ask_message(message, state, texts)

    @admin.message(Command("cancel"), StateFilter(BroadcastDialog))
    async def cmd_cancel(message: Message, state: FSMContext, texts: Texts) -> None:
        await state.clear()
        await message.answer(texts("bc-dialogue-cancelled"))

    @admin.message(Command("broadcasts"))
    async def cmd_broadcasts(message: Message, session: AsyncSession, texts: Texts) -> None:
        listed = await broadcasts.recent(session, limit=10)
        if not listed:
            await message.answer(texts("bc-list-empty"))
            return
        lines = [texts("bc-list-title")]
        for b in listed:
            snippet = html.unescape(_TAG.sub("", b.text)).replace("\n", " ").strip()
            lines.append(
                texts(
                    "bc-list-line",
                    id=b.id,
                    date=b.created_at.astimezone(policy.tz).strftime("%m-%d %H:%M"),
                    status=b.status,
                    sent=b.sent,
                    total=b.total,
                    text=snippet[:40] + ("…" if len(snippet) > 40 else ""),
                )
            )
        await message.answer("\n".join(lines))

    @admin.message(BroadcastDialog.message)
    async def on_message(
        message: Message, state: FSMContext, session: AsyncSession, texts: Texts, now: datetime
    ) -> None:
        if message.photo:
            photo: str | None = message.photo[-1].file_id
            plain = message.caption or ""
            body = message.html_text if message.caption else ""
            limit = CAPTION_LIMIT
        elif message.text:
            if message.text.startswith("/"):
                await message.answer(texts("bc-looks-like-command"))
                return
            photo, plain, body, limit = None, message.text, message.html_text, TEXT_LIMIT
        else:
            await message.answer(texts("bc-not-a-message"))
            return
        if len(plain) > limit:
            await message.answer(texts("bc-too-long", limit=limit, length=len(plain)))
            return
        await state.update_data(html=body, plain=plain, photo=photo)
        if (await state.get_data()).get("editing"):
            if not await show_preview(message, state, session, texts, now):
                await state.set_state(BroadcastDialog.segment)
                await message.answer(texts("bc-nobody"))
            return
        await state.set_state(BroadcastDialog.buttons)
        await message.answer(texts("bc-ask-buttons"), reply_markup=step_keyboard(texts, skip=True))

    @admin.message(BroadcastDialog.buttons)
    async def on_buttons(message: Message, state: FSMContext, texts: Texts) -> None:
        try:
            found = broadcasts.parse_buttons(message.text or "")
        except broadcasts.ButtonsError as exc:
            await message.answer(
                texts("bc-bad-buttons", line=str(exc), max=broadcasts.MAX_BUTTONS),
                reply_markup=step_keyboard(texts, skip=True),
            )
            return
        await state.update_data(buttons=[list(b) for b in found])
        await state.set_state(BroadcastDialog.coupon)
        await message.answer(texts("bc-ask-coupon"), reply_markup=step_keyboard(texts, skip=True))

    @admin.message(BroadcastDialog.coupon)
    async def on_coupon(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        texts: Texts,
        now: datetime,
        settings: Settings | None = None,
    ) -> None:
        coupon = (message.text or "").strip()
        if not coupon or coupon.startswith("/"):
            await message.answer(
                texts("bc-ask-coupon"), reply_markup=step_keyboard(texts, skip=True)
            )
            return
        if len(coupon) > COUPON_LIMIT:
            await message.answer(texts("bc-coupon-too-long", limit=COUPON_LIMIT))
            return
        await state.update_data(coupon=coupon)
        await show_segment(message, state, session, texts, now, settings, edit=False)

    @admin.message(StateFilter(BroadcastDialog.segment, BroadcastDialog.preview))
    async def on_stray(message: Message, texts: Texts) -> None:
        await message.answer(texts("bc-use-buttons"))

    @admin.callback_query(BroadcastForm.filter())
    async def cb_form(
        query: CallbackQuery,
        callback_data: BroadcastForm,
        state: FSMContext,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
        settings: Settings | None = None,
    ) -> None:
        message = query.message if isinstance(query.message, Message) else None
        step = await state.get_state()
        action = callback_data.action
        if action == "noop":
            await query.answer()
            return
        if action == "keep" and message is not None:
            await query.answer()
            await message.edit_text(texts("bc-kept", id=callback_data.value))
            return
        if message is None or step is None or not step.startswith(BroadcastDialog.__name__):
            await query.answer(texts("bc-dialogue-over"), show_alert=True)
            return
        if action == "abort":
            await state.clear()
            await query.answer()
            await message.edit_text(texts("bc-dialogue-cancelled"))
            return
        if action == "skip" and step == BroadcastDialog.buttons.state:
            await state.update_data(buttons=[])
            await state.set_state(BroadcastDialog.coupon)
            await query.answer()
            await message.answer(
                texts("bc-ask-coupon"), reply_markup=step_keyboard(texts, skip=True)
            )
            return
        if action == "skip" and step == BroadcastDialog.coupon.state:
            await state.update_data(coupon=None)
            await query.answer()
            await show_segment(message, state, session, texts, now, settings, edit=False)
            return
        if action == "seg" and step == BroadcastDialog.segment.state:
            tiers = _tiers(settings)
            current = Segment.from_json((await state.get_data()).get("segment"))
            changed = toggle(current, callback_data.value, tiers)
            if changed is None:
                await query.answer(texts("bc-dialogue-over"), show_alert=True)
                return
            await state.update_data(segment=changed.to_json())
            await query.answer()
            await show_segment(message, state, session, texts, now, settings, edit=True)
            return
        if action == "preview" and step == BroadcastDialog.segment.state:
            if not await show_preview(message, state, session, texts, now):
                await query.answer(texts("bc-nobody"), show_alert=True)
                return
            await query.answer()
            return
        if action == "edit" and step == BroadcastDialog.preview.state:
            await state.update_data(editing=True)
            await query.answer()
            await ask_message(message, state, texts)
            return
        if action in ("send", "override") and step == BroadcastDialog.preview.state:
            await send(query, message, action, state, session, event_from_user, texts, now)
            return
        await query.answer(texts("bc-dialogue-over"), show_alert=True)

    async def send(
        query: CallbackQuery,
        message: Message,
        action: str,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        data = await state.get_data()
        await state.clear()  # a second tap on Send finds no dialogue: one broadcast
        hits: list[Hit] = policy.guard.check(guarded_text(data))
        if hits and action != "override":  # a forged Send past the guard
            await state.set_state(BroadcastDialog.preview)
            await state.set_data(data)
            await query.answer(texts("bc-guard-hits"), show_alert=True)
            return
        seg = Segment.from_json(data.get("segment"))
        n = await segments.count(session, seg, now=now)
        if n == 0:
            await session.commit()
            await state.set_state(BroadcastDialog.segment)
            await state.set_data(data)
            await query.answer(texts("bc-nobody"), show_alert=True)
            return
        drop_id: int | None = None
        if data.get("coupon"):
            try:
                drop = await drops.create_drop(
                    session,
                    title=texts("bc-coupon-title"),
                    discount=str(data["coupon"]),
                    quantity=n,
                    valid_days=COUPON_DAYS,
                    audience="invited",
                    starts_at=now,
                    created_by=user.id,
                    now=now,
                )
            except DropError as exc:
                await session.rollback()
                await query.answer()
                await message.answer(texts("bc-coupon-failed", error=str(exc)))
                return
            drop_id = drop.id
        try:
            broadcast_id = await broadcasts.create(
                session,
                text=str(data.get("html") or ""),
                created_by=user.id,
                now=now,
                segment=seg,
                photo_file_id=data.get("photo"),
                buttons=[(str(label), str(url)) for label, url in data.get("buttons") or []],
                drop_id=drop_id,
                copy_override=bool(hits),
                override_words=[h.word for h in hits],
            )
        except BroadcastError as exc:
            await session.rollback()
            await query.answer()
            await message.answer(texts("bc-error", error=str(exc)))
            return
        started = await broadcasts.start(
            session,
            broadcast_id,
            rules=policy.marketing,
            now=now,
            progress_chat_id=message.chat.id,
            progress_message_id=message.message_id,
        )
        total, capped = (started.total, started.capped) if started else (0, 0)
        lines = [texts("bc-started", id=broadcast_id, total=total, capped=capped)]
        quiet = policy.marketing.quiet_until(now)
        if quiet is not None:
            lines.append(texts("bc-quiet", time=quiet.astimezone(policy.tz).strftime("%H:%M")))
        if total == 0:
            lines.append(texts("bc-nothing-queued", id=broadcast_id))
        await query.answer()
        await message.edit_text(
            "\n".join(lines), reply_markup=cancel_keyboard(texts, broadcast_id) if total else None
        )

    @admin.callback_query(CancelBroadcast.filter())
    async def cb_cancel(
        query: CallbackQuery,
        callback_data: CancelBroadcast,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        now: datetime,
    ) -> None:
        broadcast_id = callback_data.broadcast
        message = query.message if isinstance(query.message, Message) else None
        if not callback_data.confirm:
            status = await session.scalar(
                select(Broadcast.status).where(Broadcast.id == broadcast_id)
            )
            await session.commit()
            if status not in (broadcasts.DRAFT, broadcasts.SENDING) or message is None:
                await query.answer(texts("bc-cancel-too-late", id=broadcast_id), show_alert=True)
                return
            kb = InlineKeyboardBuilder()
            kb.button(
                text=texts("bc-btn-cancel-yes"),
                callback_data=CancelBroadcast(broadcast=broadcast_id, confirm=True),
            )
            kb.button(
                text=texts("bc-btn-cancel-no"),
                callback_data=BroadcastForm(action="keep", value=str(broadcast_id)),
            )
            await query.answer()
            await message.answer(
                texts("bc-cancel-confirm", id=broadcast_id), reply_markup=kb.as_markup()
            )
            return
        done = await broadcasts.cancel(session, broadcast_id, actor_id=event_from_user.id, now=now)
        key = "bc-cancel-done" if done else "bc-cancel-too-late"
        await query.answer()
        if message is not None:
            await message.edit_text(texts(key, id=broadcast_id))

    # --- anyone else tapping (or forging) the managers' buttons --------------------------

    others = Router(name=f"{__name__}.others")

    @others.callback_query(BroadcastForm.filter())
    @others.callback_query(CancelBroadcast.filter())
    async def cb_not_allowed(query: CallbackQuery, texts: Texts) -> None:
        await query.answer(texts("bc-not-allowed"), show_alert=True)

    router.include_routers(public, admin, others)
    return router
