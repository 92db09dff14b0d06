"""Flash sales: managers plan them in a guided dialogue and manage them with /sales; members
tap 🔔 Remind me on a teaser.

The dialogue (admins, private chat; `/cancel` or the Cancel button leaves it at any step):
product -> prices -> stock -> image -> link -> start -> end -> target chats -> preview and
the copy guard -> publish. Each answer is checked at once; the rules live in
campaigns/sales.py, which checks everything again when the sale is stored.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import sales
from campaigns.policy import CampaignPolicy
from campaigns.sales import RemindStatus, SaleError
from handlers.filters import IsAdmin, PrivateChat
from storage.numbers import NumberError, read_int
from views import keyboards
from views import sales as sale_views
from views.callbacks import RemindMe, SaleForm, SaleMenu
from views.texts import Catalogue, Texts

REMIND_TOASTS = {
    RemindStatus.ADDED: "sale-remind-added",
    RemindStatus.ALREADY: "sale-remind-already",
    RemindStatus.STARTED: "sale-remind-started",
    RemindStatus.OVER: "sale-remind-over",
    RemindStatus.UNKNOWN: "stale-button",
}
STEPS = ("product", "price", "stock", "image", "link", "start", "end", "targets")
SKIPPABLE = ("stock", "image", "link")
PAST = ("sale-err-start-past", "sale-err-end-past")


class SaleDialog(StatesGroup):
    product = State()
    price = State()
    stock = State()
    image = State()
    link = State()
    start = State()
    end = State()
    targets = State()
    review = State()


class SaleFieldEdit(StatesGroup):
    value = State()


router = Router(name=__name__)
# Managers, in their private chat with the bot.
admin = Router(name=f"{__name__}.admin")
admin.message.filter(PrivateChat(), IsAdmin())
admin.callback_query.filter(PrivateChat(), IsAdmin())
# Sale buttons that nothing above took: stale or forged (e.g. an id no column holds).
leftovers = Router(name=f"{__name__}.leftovers")


# --- members -------------------------------------------------------------------------------


@router.callback_query(RemindMe.filter())
async def cb_remind(
    query: CallbackQuery,
    callback_data: RemindMe,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
) -> None:
    status = await sales.remind_me(
        session, sale_id=callback_data.sale, user_id=event_from_user.id, now=now
    )
    await query.answer(texts(REMIND_TOASTS[status]), show_alert=status is RemindStatus.ADDED)


# --- the dialogue's moves (not handlers) -----------------------------------------------------


def step_of(state: str | None) -> str | None:
    """The dialogue's step from the FSM state ("SaleDialog:price" -> "price"), or None."""
    if state is None or not state.startswith("SaleDialog:"):
        return None
    return state.split(":")[-1]


async def ask(
    bot: Bot, chat_id: int, texts: Texts, step: str, state: FSMContext, policy: CampaignPolicy
) -> None:
    """Move to `step` and ask for it."""
    await state.set_state(getattr(SaleDialog, step))
    if step == "targets":
        data = await state.get_data()
        if "targets" not in data:
            data = await state.update_data(targets=list(policy.targets[:1]))
        markup = keyboards.sale_targets(texts, policy, data["targets"])
    else:
        markup = keyboards.sale_step(texts, skip=step in SKIPPABLE)
    text = sale_views.prompt(texts, sale_views.STEP_PROMPTS[step], policy.tz)
    await bot.send_message(chat_id, text, reply_markup=markup)


async def review(
    bot: Bot,
    chat_id: int,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    policy: CampaignPolicy,
    catalogue: Catalogue,
) -> None:
    """The start post as the group will see it, the schedule, then the copy guard."""
    await state.set_state(SaleDialog.review)
    seen = sales.preview(await state.update_data(editing=False), policy=policy, now=now)
    group_texts = catalogue.for_lang(policy.group_language)
    post = sale_views.render_post(group_texts, seen.draft, sales.START, policy.tz)
    markup = keyboards.buy_keyboard(group_texts, seen.draft)
    await bot.send_message(chat_id, texts("sale-preview-title"))
    if seen.draft.image_file_id:
        await bot.send_photo(
            chat_id, seen.draft.image_file_id, caption=post, parse_mode="HTML", reply_markup=markup
        )
    else:
        await bot.send_message(chat_id, post, parse_mode="HTML", reply_markup=markup)
    await bot.send_message(chat_id, sale_views.schedule_text(texts, seen.planned, policy))
    markup = keyboards.sale_review(texts, guard_hits=bool(seen.guard_words))
    if not seen.guard_words:
        await bot.send_message(chat_id, texts("sale-guard-clean"), reply_markup=markup)
        return
    marked = policy.guard.mark(seen.checked)
    text = sale_views.guard_hits_text(texts, "sale-guard-hits", seen.guard_words, marked)
    await bot.send_message(chat_id, text, parse_mode="HTML", reply_markup=markup)


async def after(
    step: str,
    bot: Bot,
    user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    policy: CampaignPolicy,
    catalogue: Catalogue,
) -> None:
    """Go on from `step`: to the next one, or back to the preview when editing."""
    data = await state.get_data()
    if data.get("editing") and step == "price":
        await review(bot, user.id, texts, state, now, policy, catalogue)
        return
    nxt = STEPS[STEPS.index(step) + 1]
    await ask(bot, user.id, texts, nxt, state, policy)


async def text_of(message: Message, texts: Texts) -> str | None:
    """The message's text, or None after telling the manager what is expected."""
    if message.text is None:
        await message.answer(texts("sale-need-text"))
        return None
    if message.text.startswith("/"):
        await message.answer(texts("sale-finish-first"))
        return None
    return message.text.strip()


# --- managers: commands ------------------------------------------------------------------


@admin.message(Command("sale"))
async def cmd_sale(
    message: Message,
    bot: Bot,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    campaigns: CampaignPolicy,
) -> None:
    if not campaigns.targets:
        await message.answer(texts("sale-no-targets"))
        return
    await state.clear()
    await message.answer(texts("sale-intro"))
    await ask(bot, event_from_user.id, texts, "product", state, campaigns)


@admin.message(Command("cancel"), StateFilter(SaleDialog, SaleFieldEdit))
async def cmd_cancel(message: Message, texts: Texts, state: FSMContext) -> None:
    await state.clear()
    await message.answer(texts("sale-dialogue-cancelled"))


@admin.message(Command("sales"))
async def cmd_sales(
    message: Message,
    session: AsyncSession,
    texts: Texts,
    now: datetime,
    campaigns: CampaignPolicy,
) -> None:
    found = await sales.list_sales(session, now=now)
    if not found:
        await message.answer(texts("sales-none"))
        return
    await message.answer(
        sale_views.sales_list(texts, found, now, campaigns),
        parse_mode="HTML",
        reply_markup=keyboards.sales_menu(texts, found),
    )


# --- the dialogue's steps (after the commands, so that they stay commands) -----------------


@admin.message(
    StateFilter(
        SaleDialog.product,
        SaleDialog.price,
        SaleDialog.stock,
        SaleDialog.link,
        SaleDialog.start,
        SaleDialog.end,
    )
)
async def on_answer(
    message: Message,
    bot: Bot,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    campaigns: CampaignPolicy,
    catalogue: Catalogue,
) -> None:
    text = await text_of(message, texts)
    step = step_of(await state.get_state())
    if text is None or step is None:
        return
    data = await state.get_data()
    starts_at = datetime.fromisoformat(data["start"]) if data.get("start") else None
    try:
        changes = sales.read_answer(step, text, now=now, tz=campaigns.tz, starts_at=starts_at)
    except SaleError as exc:
        await message.answer(texts(exc.code, **exc.fields))
        return
    await state.update_data(**changes)
    await after(step, bot, event_from_user, texts, state, now, campaigns, catalogue)


@admin.message(SaleDialog.image)
async def on_image(
    message: Message,
    bot: Bot,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    campaigns: CampaignPolicy,
    catalogue: Catalogue,
) -> None:
    if not message.photo:
        await message.answer(texts("sale-need-photo"))
        return
    await state.update_data(image=message.photo[-1].file_id)
    await after("image", bot, event_from_user, texts, state, now, campaigns, catalogue)


@admin.message(StateFilter(SaleDialog.targets, SaleDialog.review))
async def on_text_instead_of_buttons(message: Message, texts: Texts) -> None:
    await message.answer(texts("sale-use-buttons"))


# --- the dialogue's buttons ----------------------------------------------------------------


@admin.callback_query(
    SaleForm.filter(F.action == "cancel"), StateFilter(SaleDialog, SaleFieldEdit)
)
async def cb_cancel_dialogue(
    query: CallbackQuery, bot: Bot, event_from_user: User, texts: Texts, state: FSMContext
) -> None:
    await state.clear()
    await query.answer()
    await bot.send_message(event_from_user.id, texts("sale-dialogue-cancelled"))


@admin.callback_query(
    SaleForm.filter(F.action == "skip"),
    StateFilter(SaleDialog.stock, SaleDialog.image, SaleDialog.link),
)
async def cb_skip(
    query: CallbackQuery,
    bot: Bot,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    campaigns: CampaignPolicy,
    catalogue: Catalogue,
) -> None:
    step = step_of(await state.get_state()) or ""
    await state.update_data({{"link": "url"}.get(step, step): None})
    await query.answer()
    await after(step, bot, event_from_user, texts, state, now, campaigns, catalogue)


@admin.callback_query(SaleForm.filter(F.action == "target"), SaleDialog.targets)
async def cb_target(
    query: CallbackQuery,
    bot: Bot,
    callback_data: SaleForm,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    campaigns: CampaignPolicy,
    catalogue: Catalogue,
) -> None:
    chosen: list[int] = list((await state.get_data()).get("targets", []))
    if callback_data.value == "done":
        if not chosen:
            await query.answer(texts("sale-choose-target"), show_alert=True)
            return
        await query.answer()
        await review(bot, event_from_user.id, texts, state, now, campaigns, catalogue)
        return
    try:
        chat_id = read_int(callback_data.value, signed=True)
    except NumberError:
        chat_id = 0
    if chat_id not in campaigns.targets:  # forged
        await query.answer(texts("stale-button"))
        return
    chosen = [c for c in campaigns.targets if (c in chosen) != (c == chat_id)]
    await state.update_data(targets=chosen)
    await query.answer()
    if query.message is not None:
        await bot.edit_message_reply_markup(
            chat_id=event_from_user.id,
            message_id=query.message.message_id,
            reply_markup=keyboards.sale_targets(texts, campaigns, chosen),
        )


@admin.callback_query(SaleForm.filter(F.action.in_({"publish", "override"})), SaleDialog.review)
async def cb_publish(
    query: CallbackQuery,
    bot: Bot,
    callback_data: SaleForm,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    campaigns: CampaignPolicy,
) -> None:
    data = await state.get_data()
    await state.clear()  # a second tap finds no dialogue: one sale
    try:
        sale = await sales.publish(
            session,
            data,
            policy=campaigns,
            created_by=event_from_user.id,
            now=now,
            override=callback_data.action == "override",
        )
    except SaleError as exc:
        await state.set_data(data)
        await state.set_state(SaleDialog.review)
        if exc.code == "sale-guard-blocked":
            await query.answer(texts(exc.code), show_alert=True)
            return
        await query.answer()
        await bot.send_message(event_from_user.id, texts(exc.code, **exc.fields))
        if exc.code in PAST:
            await ask(bot, event_from_user.id, texts, "start", state, campaigns)
        return
    await query.answer()
    await bot.send_message(
        event_from_user.id,
        sale_views.published_text(texts, sale, campaigns.tz),
        parse_mode="HTML",
    )


@admin.callback_query(SaleForm.filter(F.action == "edit"), SaleDialog.review)
async def cb_edit_text(
    query: CallbackQuery,
    bot: Bot,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    campaigns: CampaignPolicy,
) -> None:
    await state.update_data(editing=True)
    await query.answer()
    await ask(bot, event_from_user.id, texts, "product", state, campaigns)


@admin.callback_query(SaleForm.filter())
async def cb_form_expired(query: CallbackQuery, texts: Texts) -> None:
    """A dialogue button of another step, or of a dialogue that is over."""
    await query.answer(texts("sale-dialogue-expired"))


# --- /sales: show, edit, cancel --------------------------------------------------------------


async def refuse(query: CallbackQuery, texts: Texts, exc: SaleError) -> None:
    if exc.code == "sale-err-unknown":
        await query.answer(texts("stale-button"))
    else:
        await query.answer(texts(exc.code, **exc.fields), show_alert=True)


@admin.callback_query(SaleMenu.filter(F.action == "show"))
async def cb_show(
    query: CallbackQuery,
    bot: Bot,
    callback_data: SaleMenu,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
    campaigns: CampaignPolicy,
) -> None:
    found = await sales.overview(session, callback_data.sale)
    if found is None:
        await query.answer(texts("stale-button"))
        return
    await query.answer()
    text = sale_views.sale_overview(texts, *found, now, campaigns)
    await bot.send_message(event_from_user.id, text, parse_mode="HTML")


@admin.callback_query(SaleMenu.filter(F.action.in_({"edit", "field", "cancel"})))
async def cb_manage(
    query: CallbackQuery,
    bot: Bot,
    callback_data: SaleMenu,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    campaigns: CampaignPolicy,
) -> None:
    """Edit (which field?), a field (ask its new value), Cancel (are you sure?)."""
    try:
        sale = await sales.manageable(session, callback_data.sale, now=now)
    except SaleError as exc:
        await refuse(query, texts, exc)
        return
    action, field = callback_data.action, callback_data.field
    if sale is None or (action == "field" and field not in sales.EDIT_FIELDS):
        await query.answer(texts("stale-button"))
        return
    await query.answer()
    uid = event_from_user.id
    if action == "edit":
        text = sale_views.about_sale(texts, "sale-edit-choose", sale)
        markup = keyboards.sale_fields(texts, sale.id, sales.EDIT_FIELDS)
    elif action == "cancel":
        text = sale_views.about_sale(texts, "sale-cancel-confirm", sale)
        markup = keyboards.sale_cancel_confirm(texts, sale.id)
    else:
        await state.set_state(SaleFieldEdit.value)
        await state.set_data({"sale": sale.id, "field": field})
        prompt_key = sale_views.FIELD_PROMPTS[field]
        await bot.send_message(
            uid,
            sale_views.prompt(texts, prompt_key, campaigns.tz),
            reply_markup=keyboards.sale_step(texts),
        )
        return
    await bot.send_message(uid, text, parse_mode="HTML", reply_markup=markup)


@admin.callback_query(SaleMenu.filter(F.action == "cancel_yes"))
async def cb_cancel_sale(
    query: CallbackQuery,
    bot: Bot,
    callback_data: SaleMenu,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    now: datetime,
) -> None:
    try:
        sale = await sales.cancel_sale(
            session, callback_data.sale, now=now, actor_id=event_from_user.id
        )
    except SaleError as exc:
        await refuse(query, texts, exc)
        return
    await query.answer()
    await bot.send_message(
        event_from_user.id,
        sale_views.about_sale(texts, "sale-cancelled-done", sale),
        parse_mode="HTML",
    )


@admin.message(SaleFieldEdit.value)
async def on_new_value(
    message: Message,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    state: FSMContext,
    now: datetime,
    campaigns: CampaignPolicy,
) -> None:
    text = await text_of(message, texts)
    if text is None:
        return
    data = await state.get_data()
    try:
        edited = await sales.edit_sale(
            session,
            int(data["sale"]),
            str(data["field"]),
            text,
            policy=campaigns,
            now=now,
            actor_id=event_from_user.id,
        )
    except SaleError as exc:
        await message.answer(texts(exc.code, **exc.fields))
        return
    if edited.sale is None:
        marked = "\n".join(campaigns.guard.mark(v) for v in edited.held)
        text = sale_views.guard_hits_text(texts, "sale-guard-edit", edited.guard_words, marked)
        await message.answer(text, parse_mode="HTML")
        return
    await state.clear()
    await message.answer(texts("sale-edited", id=edited.sale.id))
    overview = sale_views.sale_overview(texts, edited.sale, edited.posts, now, campaigns)
    await message.answer(overview, parse_mode="HTML")


# --- leftovers -----------------------------------------------------------------------------


@admin.callback_query(SaleMenu.filter())
async def cb_menu_stale(query: CallbackQuery, texts: Texts) -> None:
    await query.answer(texts("stale-button"))


@leftovers.callback_query(
    F.data.startswith(f"{RemindMe.__prefix__}:")
    | F.data.startswith(f"{SaleMenu.__prefix__}:")
    | F.data.startswith(f"{SaleForm.__prefix__}:")
)
async def cb_unreadable(query: CallbackQuery, texts: Texts) -> None:
    """Sale buttons whose data does not parse (forged: `²`, an id of 20 digits)."""
    await query.answer(texts("stale-button"))


router.include_router(admin)
router.include_router(leftovers)
