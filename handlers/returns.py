"""Returns and exchanges: the customer's guided dialogue and the agents' case buttons.

The dialogue (private chat; `/cancel` or the Cancel button leaves it at any step):
/return (or the order card's button, views.returns.ReturnStart) -> the order -> the items
-> the reason (eligibility is checked here: a "no" says why and offers a person) -> photos
when the reason needs them -> refund or exchange (+ the new size) -> the summary -> the case.
`/return status` (or the "My returns" button) lists the customer's cases.

Agents decide on the case's card in the support group: approve, decline (with a reason),
refund done / exchange sent. The rules live in orders/returns.py, which checks everything
again when the case is opened or decided.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.buttons import StaleButton, Tapped
from handlers.deps import ChatOptions
from handlers.filters import MenuButton, PrivateChat, SlashCommand, SupportChat
from orders import returns
from orders.policy import OrdersPolicy
from orders.returns import (
    ITEMS_MAX,
    NEW_SIZE_MAX,
    PHOTOS_MAX,
    Decision,
    DecisionOutcome,
    Reason,
    Refusal,
    Resolution,
    ReturnPolicy,
    ReturnRequest,
)
from support.tickets import DeskPolicy
from views import keyboards
from views import returns as views
from views.returns import CaseAction, ReturnForm, ReturnStart
from views.texts import Catalogue, Texts


class ReturnDialog(StatesGroup):
    order = State()
    items = State()
    reason = State()
    photos = State()
    resolution = State()
    new_size = State()
    confirm = State()


# States that wait for a button, not a message.
BUTTON_STATES = (
    ReturnDialog.order,
    ReturnDialog.reason,
    ReturnDialog.resolution,
    ReturnDialog.confirm,
)
DECISIONS = {"approve": Decision.APPROVE, "refund": Decision.REFUND, "why": Decision.REJECT}


class Answer(Filter):
    """A message that may answer a step: not a command, not a menu button (those leave the
    dialogue, see `on_leaving`)."""

    async def __call__(self, message: Message, catalogue: Catalogue) -> bool:
        text = message.text or ""
        return not text.startswith("/") and text not in keyboards.menu_labels(catalogue)


router = Router(name=__name__)
# Customers, in their private chat with the bot.
customer = Router(name=f"{__name__}.customer")
customer.message.filter(PrivateChat())
customer.callback_query.filter(PrivateChat())
# Agents, on case cards in the support group.
desk = Router(name=f"{__name__}.desk")
desk.callback_query.filter(SupportChat())
# Return buttons that nothing above took: stale, or forged so that they do not unpack.
leftovers = Router(name=f"{__name__}.leftovers")


# --- the dialogue's moves (not handlers) -----------------------------------------------------


async def show_orders(
    bot: Bot, user_id: int, texts: Texts, state: FSMContext, session: AsyncSession
) -> None:
    """The customer's orders to pick from (the dialogue's first step)."""
    await state.clear()
    found = await returns.returnable_orders(session, user_id)
    if not found:
        markup = views.refused_keyboard(texts)
        await bot.send_message(user_id, texts("returns-no-orders"), reply_markup=markup)
        return
    await state.set_state(ReturnDialog.order)
    markup = views.orders_keyboard(texts, found)
    await bot.send_message(user_id, texts("returns-intro"), reply_markup=markup)


async def refuse(
    bot: Bot,
    user_id: int,
    texts: Texts,
    state: FSMContext,
    refusal: Refusal | None,
    tz: ZoneInfo,
    verdict: returns.Eligibility | None = None,
) -> None:
    """Why not, in words, and a person to ask; the dialogue ends."""
    await state.clear()
    text = views.refusal_text(texts, refusal, tz, verdict) + "\n" + texts("returns-refused-human")
    await bot.send_message(user_id, text, reply_markup=views.refused_keyboard(texts))


async def ask_reason(bot: Bot, user_id: int, texts: Texts, state: FSMContext) -> None:
    await state.set_state(ReturnDialog.reason)
    markup = views.reasons_keyboard(texts)
    await bot.send_message(user_id, texts("returns-ask-reason"), reply_markup=markup)


async def ask_resolution(bot: Bot, user_id: int, texts: Texts, state: FSMContext) -> None:
    await state.set_state(ReturnDialog.resolution)
    markup = views.resolution_keyboard(texts)
    await bot.send_message(user_id, texts("returns-ask-resolution"), reply_markup=markup)


async def ask_confirm(bot: Bot, user_id: int, texts: Texts, state: FSMContext) -> None:
    await state.set_state(ReturnDialog.confirm)
    text = views.summary(texts, await state.get_data())
    await bot.send_message(user_id, text, reply_markup=views.confirm_keyboard(texts))


async def text_of(message: Message, texts: Texts, limit: int, too_long: str) -> str | None:
    """The message's text, or None after telling the customer what is expected."""
    if message.text is None:
        await message.answer(texts("returns-need-text"))
        return None
    text = " ".join(message.text.split())
    if not text:
        await message.answer(texts("returns-need-text"))
        return None
    if len(text) > limit:
        await message.answer(texts(too_long, max=limit))
        return None
    return text


def request_of(data: dict[str, object]) -> ReturnRequest | None:
    """The dialogue's answers as a request; None if a step is missing."""
    try:
        return ReturnRequest(
            order_id=str(data["order"]),
            items=str(data.get("items") or ""),
            reason=Reason(str(data["reason"])),
            resolution=Resolution(str(data["resolution"])),
            new_size=str(data["new_size"]) if data.get("new_size") else None,
            photos=tuple(str(p) for p in data.get("photos") or ()),  # type: ignore[attr-defined]
        )
    except (KeyError, ValueError):
        return None


# --- customers: commands ---------------------------------------------------------------------


@customer.message(Command("return"))
async def cmd_return(
    message: Message,
    command: CommandObject,
    bot: Bot,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    orders: OrdersPolicy,
) -> None:
    if (command.args or "").strip().lower() in ("status", "状态", "进度"):
        cases = await returns.cases_of(session, event_from_user.id)
        await message.answer(views.cases_text(texts, cases, orders.tz))
        return
    await show_orders(bot, event_from_user.id, texts, state, session)


@customer.message(Command("cancel"), StateFilter(ReturnDialog))
async def cmd_cancel(message: Message, texts: Texts, state: FSMContext) -> None:
    await state.clear()
    await message.answer(texts("returns-cancelled"))


@customer.message(StateFilter(ReturnDialog), SlashCommand())
@customer.message(StateFilter(ReturnDialog), MenuButton())
async def on_leaving(message: Message, state: FSMContext) -> None:
    """Another command or a menu button (a person, the FAQ...) leaves the dialogue and is
    handled as usual: what the customer writes next is not taken for an answer."""
    await state.clear()
    raise SkipHandler


# --- customers: the entry point and the order ------------------------------------------------


@customer.callback_query(ReturnStart.filter())
async def cb_start(
    query: CallbackQuery,
    bot: Bot,
    callback_data: ReturnStart,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    orders: OrdersPolicy,
) -> None:
    """The order card's button (an order), or "start at the list" (no order)."""
    user_id = event_from_user.id
    if not callback_data.order:
        await query.answer()
        await show_orders(bot, user_id, texts, state, session)
        return
    picked = await returns.pick_order(session, user_id, callback_data.order)
    if picked.order is None:  # someone else's, or made up
        await query.answer(texts("returns-not-your-order"), show_alert=True)
        return
    await query.answer()
    if picked.refusal is not None:
        await refuse(bot, user_id, texts, state, picked.refusal, orders.tz)
        return
    await state.set_state(ReturnDialog.items)
    await state.set_data({"order": picked.order.order_id, "photos": []})
    text = texts("returns-ask-items", id=picked.order.order_id, items=picked.order.items or "-")
    await bot.send_message(user_id, text, reply_markup=views.items_keyboard(texts))


@customer.callback_query(ReturnForm.filter(F.action == "status"))
async def cb_status(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    orders: OrdersPolicy,
) -> None:
    cases = await returns.cases_of(session, event_from_user.id)
    await query.answer()
    await bot.send_message(event_from_user.id, views.cases_text(texts, cases, orders.tz))


@customer.callback_query(ReturnForm.filter(F.action == "cancel"), StateFilter(ReturnDialog))
async def cb_cancel(
    query: CallbackQuery, bot: Bot, event_from_user: User, texts: Texts, state: FSMContext
) -> None:
    await state.clear()
    await query.answer()
    await bot.send_message(event_from_user.id, texts("returns-cancelled"))


# --- customers: items, reason, photos ----------------------------------------------------------


@customer.message(ReturnDialog.items, Answer())
async def on_items(
    message: Message, bot: Bot, event_from_user: User, texts: Texts, state: FSMContext
) -> None:
    items = await text_of(message, texts, ITEMS_MAX, "returns-items-too-long")
    if items is None:
        return
    await state.update_data(items=items)
    await ask_reason(bot, event_from_user.id, texts, state)


@customer.callback_query(ReturnForm.filter(F.action == "all"), ReturnDialog.items)
async def cb_all_items(
    query: CallbackQuery, bot: Bot, event_from_user: User, texts: Texts, state: FSMContext
) -> None:
    await state.update_data(items="")  # the order's own list, when the case is opened
    await query.answer()
    await ask_reason(bot, event_from_user.id, texts, state)


@customer.callback_query(ReturnForm.filter(F.action == "reason"), ReturnDialog.reason)
async def cb_reason(
    query: CallbackQuery,
    bot: Bot,
    callback_data: ReturnForm,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    returns_policy: ReturnPolicy,
    orders: OrdersPolicy,
) -> None:
    if callback_data.value not in set(Reason):
        await query.answer(texts("stale-button"))
        return
    reason, user_id = Reason(callback_data.value), event_from_user.id
    order_id = str((await state.get_data()).get("order", ""))
    verdict = await returns.check(
        session, returns_policy, user_id=user_id, order_id=order_id, reason=reason, now=now
    )
    await query.answer()
    if not verdict.ok:
        await refuse(bot, user_id, texts, state, verdict.refusal, orders.tz, verdict)
        return
    await state.update_data(reason=reason.value)
    if returns_policy.needs_photos(reason):
        await state.set_state(ReturnDialog.photos)
        text = texts("returns-ask-photos", max=PHOTOS_MAX)
        await bot.send_message(user_id, text, reply_markup=views.photos_keyboard(texts))
        return
    await ask_resolution(bot, user_id, texts, state)


@customer.message(ReturnDialog.photos, Answer())
async def on_photo(message: Message, texts: Texts, state: FSMContext) -> None:
    """A photo is kept (its largest size); anything else is politely asked again."""
    if not message.photo:
        await message.answer(
            texts("returns-photo-needed"), reply_markup=views.photos_keyboard(texts)
        )
        return
    data = await state.get_data()
    photos: list[str] = list(data.get("photos") or [])
    if len(photos) >= PHOTOS_MAX:
        await message.answer(texts("returns-photos-max", max=PHOTOS_MAX))
        return
    photos.append(message.photo[-1].file_id)
    album = message.media_group_id
    await state.update_data(photos=photos, album=album)
    if album is not None and album == data.get("album"):
        return  # one answer per album, not one per picture
    text = texts("returns-photo-received", count=len(photos))
    await message.answer(text, reply_markup=views.photos_keyboard(texts))


@customer.callback_query(ReturnForm.filter(F.action == "done"), ReturnDialog.photos)
async def cb_photos_done(
    query: CallbackQuery, bot: Bot, event_from_user: User, texts: Texts, state: FSMContext
) -> None:
    if not (await state.get_data()).get("photos"):
        await query.answer(texts("returns-photos-required"), show_alert=True)
        return
    await query.answer()
    await ask_resolution(bot, event_from_user.id, texts, state)


# --- customers: refund or exchange, and the case -------------------------------------------------


@customer.callback_query(ReturnForm.filter(F.action == "resolution"), ReturnDialog.resolution)
async def cb_resolution(
    query: CallbackQuery,
    bot: Bot,
    callback_data: ReturnForm,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
) -> None:
    if callback_data.value not in set(Resolution):
        await query.answer(texts("stale-button"))
        return
    await state.update_data(resolution=callback_data.value)
    await query.answer()
    if callback_data.value == Resolution.EXCHANGE:
        await state.set_state(ReturnDialog.new_size)
        markup = views.cancel_keyboard(texts)
        await bot.send_message(
            event_from_user.id, texts("returns-ask-new-size"), reply_markup=markup
        )
        return
    await ask_confirm(bot, event_from_user.id, texts, state)


@customer.message(ReturnDialog.new_size, Answer())
async def on_new_size(
    message: Message, bot: Bot, event_from_user: User, texts: Texts, state: FSMContext
) -> None:
    size = await text_of(message, texts, NEW_SIZE_MAX, "returns-new-size-too-long")
    if size is None:
        return
    await state.update_data(new_size=size)
    await ask_confirm(bot, event_from_user.id, texts, state)


@customer.callback_query(ReturnForm.filter(F.action == "confirm"), ReturnDialog.confirm)
async def cb_confirm(
    query: CallbackQuery,
    bot: Bot,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    desk: DeskPolicy,
    returns_policy: ReturnPolicy,
    orders: OrdersPolicy,
) -> None:
    data = await state.get_data()
    await state.clear()  # a second tap finds no dialogue: one case
    request = request_of(data)
    if request is None:
        await query.answer(texts("returns-step-over"), show_alert=True)
        return
    opened = await returns.open_case(
        session,
        returns_policy,
        desk,
        request,
        user_id=event_from_user.id,
        lang=texts.lang,
        now=now,
    )
    await query.answer()
    if opened.case_id is None:
        await refuse(bot, event_from_user.id, texts, state, opened.refusal, orders.tz)
        return
    text = texts("returns-opened", id=opened.case_id)
    await bot.send_message(event_from_user.id, text, reply_markup=views.status_keyboard(texts))


# --- customers: anything else during the dialogue -----------------------------------------------


@customer.message(StateFilter(*BUTTON_STATES), Answer())
async def on_text_instead_of_buttons(message: Message, texts: Texts) -> None:
    await message.answer(texts("returns-use-buttons"))


@customer.callback_query(ReturnForm.filter())
async def cb_form_expired(query: CallbackQuery, texts: Texts) -> None:
    """A button of another step, or of a dialogue that is over."""
    await query.answer(texts("returns-step-over"))


# --- agents: the case card -----------------------------------------------------------------------


async def redraw(
    query: CallbackQuery, bot: Bot, t: Texts, card: returns.CaseCard | None, tz: ZoneInfo
) -> None:
    """The tapped card as the case is now (text and buttons)."""
    if card is None or query.message is None:
        return
    # Unchanged, or the card was deleted: the decision stands either way.
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_text(
            views.desk_card(t, card, tz),
            chat_id=query.message.chat.id,
            message_id=query.message.message_id,
            reply_markup=views.case_buttons(t, card.case),
        )


async def show_markup(query: CallbackQuery, bot: Bot, markup: InlineKeyboardMarkup | None) -> None:
    if query.message is None:
        return
    with contextlib.suppress(TelegramBadRequest):
        await bot.edit_message_reply_markup(
            chat_id=query.message.chat.id, message_id=query.message.message_id, reply_markup=markup
        )


async def case_menu(
    query: CallbackQuery,
    bot: Bot,
    t: Texts,
    action: str,
    card: returns.CaseCard | None,
    tz: ZoneInfo,
) -> None:
    """Decline: the reasons to pick from, while the case is open; Back: the card again. A
    card that is out of date is redrawn as the case is now."""
    if card is None:
        await query.answer(t("case-not-found"), show_alert=True)
        return
    status = card.case.status
    if action == "reject" and status == returns.CaseStatus.OPEN:
        await query.answer(t("case-choose-reason"))
        await show_markup(query, bot, views.reject_reasons(t, card.case.id))
        return
    if action == "reject":
        await query.answer(t("case-already", state=t(f"case-state-{status}")), show_alert=True)
    else:
        await query.answer()
    await redraw(query, bot, t, card, tz)


@desk.callback_query(Tapped(CaseAction))
async def cb_case(
    query: CallbackQuery,
    bot: Bot,
    callback_data: CaseAction,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    now: datetime,
    orders: OrdersPolicy,
) -> None:
    """Approve, decline (pick a reason first), refund done; "back" from the reasons."""
    t = catalogue.for_lang(options.agents_language)
    action, case_id = callback_data.action, callback_data.case
    if action in ("reject", "back"):
        card = await returns.case_card(session, case_id)
        await case_menu(query, bot, t, action, card, orders.tz)
        return
    if action not in DECISIONS:
        await query.answer(t("desk-stale-button"))
        return
    decided = await returns.decide(
        session,
        desk,
        case_id=case_id,
        decision=DECISIONS[action],
        agent_id=event_from_user.id,
        now=now,
        reject_reason=callback_data.reason or None,
        shop_name=options.shop_name,
    )
    card = decided.card
    state = t(f"case-state-{card.case.status}") if card is not None else ""
    toasts = {
        DecisionOutcome.DONE: t("case-done", state=state),
        DecisionOutcome.ALREADY: t("case-already", state=state),
        DecisionOutcome.NOT_FOUND: t("case-not-found"),
        DecisionOutcome.NOT_AGENT: t("case-not-agent"),
    }
    await query.answer(
        toasts[decided.outcome], show_alert=decided.outcome is not DecisionOutcome.DONE
    )
    await redraw(query, bot, t, card, orders.tz)


# --- leftovers -----------------------------------------------------------------------------------


@leftovers.callback_query(StaleButton(ReturnStart, ReturnForm, CaseAction))
async def cb_unreadable(query: CallbackQuery, texts: Texts) -> None:
    """Return buttons whose data does not unpack (forged, or from a case card elsewhere)."""
    await query.answer(texts("stale-button"))


router.include_router(customer)
router.include_router(desk)
router.include_router(leftovers)
