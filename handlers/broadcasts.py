"""Broadcasts: /subscribe and /unsubscribe for everyone; the managers' /broadcast dialogue.

The dialogue (admins, private chat), one FSM state a step:

    message -> buttons (or Skip) -> coupon (or Skip) -> segment (toggles, live count)
    -> preview (+ the copy guard: Send, or Edit / Send anyway) -> sent: the confirmation
    message becomes the progress message, edited by the outbox until the final report.

/cancel (or the ✖ button) leaves it at any step. Every callback may be forged: the state
and the admin are checked here, the rest (segment values, broadcast ids) by the domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import broadcasts, segments
from campaigns.broadcasts import BroadcastDraft, BroadcastError
from campaigns.policy import CampaignPolicy
from campaigns.segments import Segment
from community.policy import CommunityPolicy
from community.tiers import Tier
from handlers.filters import IsAdmin, PrivateChat
from orders.rfm import RfmRules
from storage.numbers import NumberError, read_id
from views import keyboards
from views.broadcasts import (
    render_list,
    render_preview,
    render_refusal,
    render_segment,
    render_started,
    with_footer,
)
from views.callbacks import BroadcastForm, CancelBroadcast
from views.texts import Texts


class BroadcastDialog(StatesGroup):
    message = State()
    buttons = State()
    coupon = State()
    segment = State()
    preview = State()


router = Router(name=__name__)

public = Router(name=f"{__name__}.public")  # everyone: marketing on and off
public.message.filter(PrivateChat())

admin = Router(name=f"{__name__}.admin")  # the managers' dialogue and controls
admin.message.filter(PrivateChat(), IsAdmin())
admin.callback_query.filter(PrivateChat(), IsAdmin())

others = Router(name=f"{__name__}.others")  # anyone else tapping (or forging) their buttons


def _shown(query: CallbackQuery) -> Message | None:
    """The message the tapped button is on, when the bot can still edit it."""
    return query.message if isinstance(query.message, Message) else None


async def _broadcast_id(query: CallbackQuery, raw: str, texts: Texts) -> int | None:
    """The broadcast id a button carries; None (the tap answered) when it is forged."""
    try:
        return read_id(raw)
    except NumberError:
        await query.answer(texts("bc-button-invalid"), show_alert=True)
        return None


# --- everyone: marketing on and off ------------------------------------------------------


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


# --- the dialogue's screens --------------------------------------------------------------


async def _ask_message(target: Message, state: FSMContext, texts: Texts) -> None:
    await state.set_state(BroadcastDialog.message)
    await target.answer(
        texts("bc-ask-message"), reply_markup=keyboards.broadcast_step(texts, skip=False)
    )


async def _show_segment(
    target: Message,
    state: FSMContext,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    tiers: tuple[Tier, ...],
    rfm_rules: RfmRules,
    *,
    edit: bool,
) -> None:
    await state.set_state(BroadcastDialog.segment)
    seg = Segment.from_json((await state.get_data()).get("segment"))
    count = await broadcasts.audience_size(session, seg, now=now, rfm_rules=rfm_rules)
    text = render_segment(texts, seg, tiers, count, rfm_rules)
    markup = keyboards.broadcast_segment(texts, seg, tiers)
    if edit:
        await target.edit_text(text, reply_markup=markup)
    else:
        await target.answer(text, reply_markup=markup)


async def _show_preview(
    target: Message,
    state: FSMContext,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    campaigns: CampaignPolicy,
) -> bool:
    """The message as recipients see it, then the count and the copy guard's verdict;
    False (nothing shown) when the segment reaches nobody."""
    draft = BroadcastDraft.from_json(await state.get_data())
    facts = await broadcasts.preview(
        session, draft, guard=campaigns.guard, now=now, rfm_rules=campaigns.rfm
    )
    if facts.count == 0:
        return False
    await state.set_state(BroadcastDialog.preview)
    await state.update_data(editing=False)
    body = with_footer(texts, draft.html)
    claim = 0 if draft.coupon else None
    markup = keyboards.message_keyboard(
        texts, draft.buttons, claim, claim=BroadcastForm(action="noop")
    )
    if draft.photo:
        await target.answer_photo(
            draft.photo, caption=body, parse_mode="HTML", reply_markup=markup
        )
    else:
        await target.answer(body, parse_mode="HTML", reply_markup=markup)
    await target.answer(
        render_preview(texts, facts, draft),
        parse_mode="HTML",
        reply_markup=keyboards.broadcast_verdict(texts, held=bool(facts.hits)),
    )
    return True


# --- managers: commands and typed answers ------------------------------------------------


@admin.message(Command("broadcast"))
async def cmd_broadcast(message: Message, state: FSMContext, texts: Texts) -> None:
    await state.clear()
    await _ask_message(message, state, texts)


@admin.message(Command("cancel"), StateFilter(BroadcastDialog))
async def cmd_cancel(message: Message, state: FSMContext, texts: Texts) -> None:
    await state.clear()
    await message.answer(texts("bc-dialogue-cancelled"))


@admin.message(Command("broadcasts"))
async def cmd_broadcasts(
    message: Message, session: AsyncSession, texts: Texts, campaigns: CampaignPolicy
) -> None:
    listed = await broadcasts.recent(session, limit=10)
    await message.answer(render_list(texts, listed, campaigns.tz))


@admin.message(BroadcastDialog.message)
async def on_message(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    campaigns: CampaignPolicy,
) -> None:
    if message.photo:
        photo: str | None = message.photo[-1].file_id
        plain = message.caption or ""
        body = message.html_text if message.caption else ""
        limit = broadcasts.CAPTION_LIMIT
    elif message.text:
        if message.text.startswith("/"):
            await message.answer(texts("bc-looks-like-command"))
            return
        photo, plain, body, limit = None, message.text, message.html_text, broadcasts.TEXT_LIMIT
    else:
        await message.answer(texts("bc-not-a-message"))
        return
    if len(plain) > limit:
        await message.answer(texts("bc-too-long", limit=limit, length=len(plain)))
        return
    await state.update_data(html=body, plain=plain, photo=photo)
    if (await state.get_data()).get("editing"):
        if not await _show_preview(message, state, session, texts, now, campaigns):
            await state.set_state(BroadcastDialog.segment)
            await message.answer(texts("bc-nobody"))
        return
    await state.set_state(BroadcastDialog.buttons)
    await message.answer(
        texts("bc-ask-buttons"), reply_markup=keyboards.broadcast_step(texts, skip=True)
    )


@admin.message(BroadcastDialog.buttons)
async def on_buttons(message: Message, state: FSMContext, texts: Texts) -> None:
    try:
        found = broadcasts.parse_buttons(message.text or "")
    except broadcasts.ButtonsError as exc:
        await message.answer(
            texts("bc-bad-buttons", line=str(exc), max=broadcasts.MAX_BUTTONS),
            reply_markup=keyboards.broadcast_step(texts, skip=True),
        )
        return
    await state.update_data(buttons=[list(b) for b in found])
    await state.set_state(BroadcastDialog.coupon)
    await message.answer(
        texts("bc-ask-coupon"), reply_markup=keyboards.broadcast_step(texts, skip=True)
    )


@admin.message(BroadcastDialog.coupon)
async def on_coupon(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
    campaigns: CampaignPolicy,
) -> None:
    coupon = (message.text or "").strip()
    if not coupon or coupon.startswith("/"):
        await message.answer(
            texts("bc-ask-coupon"), reply_markup=keyboards.broadcast_step(texts, skip=True)
        )
        return
    if len(coupon) > broadcasts.COUPON_LIMIT:
        await message.answer(texts("bc-coupon-too-long", limit=broadcasts.COUPON_LIMIT))
        return
    await state.update_data(coupon=coupon)
    await _show_segment(
        message, state, session, texts, now, community.tiers, campaigns.rfm, edit=False
    )


@admin.message(StateFilter(BroadcastDialog.segment, BroadcastDialog.preview))
async def on_stray(message: Message, texts: Texts) -> None:
    await message.answer(texts("bc-use-buttons"))


# --- managers: the dialogue's buttons ----------------------------------------------------


@admin.callback_query(BroadcastForm.filter(F.action == "noop"))
async def cb_noop(query: CallbackQuery) -> None:
    """The preview's 🎁 button: it does nothing for the manager."""
    await query.answer()


@admin.callback_query(BroadcastForm.filter(F.action == "keep"))
async def cb_keep(query: CallbackQuery, callback_data: BroadcastForm, texts: Texts) -> None:
    broadcast_id = await _broadcast_id(query, callback_data.value, texts)
    if broadcast_id is None:
        return
    message = _shown(query)
    await query.answer()
    if message is not None:
        await message.edit_text(texts("bc-kept", id=broadcast_id))


@admin.callback_query(BroadcastForm.filter(F.action == "abort"), StateFilter(BroadcastDialog))
async def cb_abort(query: CallbackQuery, state: FSMContext, texts: Texts) -> None:
    await state.clear()
    await query.answer()
    message = _shown(query)
    if message is not None:
        await message.edit_text(texts("bc-dialogue-cancelled"))


@admin.callback_query(BroadcastForm.filter(F.action == "skip"), BroadcastDialog.buttons)
async def cb_skip_buttons(query: CallbackQuery, state: FSMContext, texts: Texts) -> None:
    await state.update_data(buttons=[])
    await state.set_state(BroadcastDialog.coupon)
    await query.answer()
    message = _shown(query)
    if message is not None:
        await message.answer(
            texts("bc-ask-coupon"), reply_markup=keyboards.broadcast_step(texts, skip=True)
        )


@admin.callback_query(BroadcastForm.filter(F.action == "skip"), BroadcastDialog.coupon)
async def cb_skip_coupon(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
    campaigns: CampaignPolicy,
) -> None:
    await state.update_data(coupon=None)
    await query.answer()
    message = _shown(query)
    if message is not None:
        await _show_segment(
            message, state, session, texts, now, community.tiers, campaigns.rfm, edit=False
        )


@admin.callback_query(BroadcastForm.filter(F.action == "seg"), BroadcastDialog.segment)
async def cb_segment(
    query: CallbackQuery,
    callback_data: BroadcastForm,
    state: FSMContext,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    community: CommunityPolicy,
    campaigns: CampaignPolicy,
) -> None:
    current = Segment.from_json((await state.get_data()).get("segment"))
    changed = segments.toggled(current, callback_data.value, tiers=len(community.tiers))
    message = _shown(query)
    if changed is None or message is None:
        key = "bc-button-invalid" if changed is None else "bc-dialogue-over"
        await query.answer(texts(key), show_alert=True)
        return
    await state.update_data(segment=changed.to_json())
    await query.answer()
    await _show_segment(
        message, state, session, texts, now, community.tiers, campaigns.rfm, edit=True
    )


@admin.callback_query(BroadcastForm.filter(F.action == "preview"), BroadcastDialog.segment)
async def cb_preview(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    campaigns: CampaignPolicy,
) -> None:
    message = _shown(query)
    if message is None:
        await query.answer(texts("bc-dialogue-over"), show_alert=True)
    elif not await _show_preview(message, state, session, texts, now, campaigns):
        await query.answer(texts("bc-nobody"), show_alert=True)
    else:
        await query.answer()


@admin.callback_query(BroadcastForm.filter(F.action == "edit"), BroadcastDialog.preview)
async def cb_edit(query: CallbackQuery, state: FSMContext, texts: Texts) -> None:
    await state.update_data(editing=True)
    await query.answer()
    message = _shown(query)
    if message is not None:
        await _ask_message(message, state, texts)


@admin.callback_query(
    BroadcastForm.filter(F.action.in_({"send", "override"})), BroadcastDialog.preview
)
async def cb_send(
    query: CallbackQuery,
    callback_data: BroadcastForm,
    state: FSMContext,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    campaigns: CampaignPolicy,
) -> None:
    message = _shown(query)
    if message is None:
        await query.answer(texts("bc-dialogue-over"), show_alert=True)
        return
    data = await state.get_data()
    await state.clear()  # a second tap on Send finds no dialogue: one broadcast
    try:
        launched = await broadcasts.launch(
            session,
            BroadcastDraft.from_json(data),
            policy=campaigns,
            created_by=event_from_user.id,
            override=callback_data.action == "override",
            coupon_title=texts("bc-coupon-title"),
            now=now,
            progress_chat_id=message.chat.id,
            progress_message_id=message.message_id,
        )
    except BroadcastError as refused:
        await _refused(query, message, state, data, texts, refused)
        return
    await query.answer()
    markup = keyboards.cancel_keyboard(texts, launched.broadcast_id) if launched.total else None
    await message.edit_text(render_started(texts, launched, campaigns.tz), reply_markup=markup)


async def _refused(
    query: CallbackQuery,
    message: Message,
    state: FSMContext,
    data: dict[str, Any],
    texts: Texts,
    refused: BroadcastError,
) -> None:
    """Back to the step that can fix it (held by the guard, nobody to send to), or the
    reason the broadcast could not be made."""
    if refused.reason in (broadcasts.GUARD, broadcasts.NOBODY):
        held = refused.reason == broadcasts.GUARD
        await state.set_state(BroadcastDialog.preview if held else BroadcastDialog.segment)
        await state.set_data(data)
        await query.answer(render_refusal(texts, refused), show_alert=True)
        return
    await query.answer()
    await message.answer(render_refusal(texts, refused))


@admin.callback_query(BroadcastForm.filter())
async def cb_dialogue_over(query: CallbackQuery, texts: Texts) -> None:
    """A step's button when the dialogue is at another step, or over."""
    await query.answer(texts("bc-dialogue-over"), show_alert=True)


# --- managers: stopping a broadcast in flight --------------------------------------------


@admin.callback_query(CancelBroadcast.filter(~F.confirm))
async def cb_cancel_ask(
    query: CallbackQuery, callback_data: CancelBroadcast, session: AsyncSession, texts: Texts
) -> None:
    broadcast_id = await _broadcast_id(query, callback_data.broadcast, texts)
    if broadcast_id is None:
        return
    message = _shown(query)
    if message is None or not await broadcasts.cancellable(session, broadcast_id):
        await query.answer(texts("bc-cancel-too-late", id=broadcast_id), show_alert=True)
        return
    await query.answer()
    await message.answer(
        texts("bc-cancel-confirm", id=broadcast_id),
        reply_markup=keyboards.broadcast_cancel_confirm(texts, broadcast_id),
    )


@admin.callback_query(CancelBroadcast.filter(F.confirm))
async def cb_cancel_yes(
    query: CallbackQuery,
    callback_data: CancelBroadcast,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
) -> None:
    broadcast_id = await _broadcast_id(query, callback_data.broadcast, texts)
    if broadcast_id is None:
        return
    done = await broadcasts.cancel(session, broadcast_id, actor_id=event_from_user.id, now=now)
    await query.answer()
    message = _shown(query)
    if message is not None:
        await message.edit_text(
            texts("bc-cancel-done" if done else "bc-cancel-too-late", id=broadcast_id)
        )


@others.callback_query(BroadcastForm.filter())
@others.callback_query(CancelBroadcast.filter())
async def cb_not_allowed(query: CallbackQuery, texts: Texts) -> None:
    await query.answer(texts("bc-not-allowed"), show_alert=True)


router.include_routers(public, admin, others)
