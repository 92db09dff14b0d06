"""Flash sales: managers plan them in a guided dialogue and manage them with /sales; members
tap 🔔 Remind me on a teaser.

The dialogue (admins, private chat; `/cancel` or the Cancel button leaves it at any step):
product -> prices -> stock -> image -> link -> start -> end -> target chats -> preview and
the copy guard -> publish. Each answer is checked at once; the rules live in
campaigns/sales.py, which checks everything again when the sale is stored.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import sales
from campaigns.policy import CampaignPolicy
from campaigns.sales import RemindStatus, SaleError
from handlers.filters import IsAdmin, PrivateChat
from storage.models import Sale
from views.callbacks import RemindMe, SaleForm, SaleMenu
from views.keyboards import buy_keyboard
from views.sales import chat_name, local, render_post, stage_name
from views.texts import Catalogue, Texts

REMIND_TOASTS = {
    RemindStatus.ADDED: "sale-remind-added",
    RemindStatus.ALREADY: "sale-remind-already",
    RemindStatus.STARTED: "sale-remind-started",
    RemindStatus.OVER: "sale-remind-over",
    RemindStatus.UNKNOWN: "stale-button",
}
# Fields of /sales -> Edit, and the prompt that asks for each.
EDIT_FIELDS = {
    "product": "sale-ask-product",
    "price": "sale-ask-price",
    "stock": "sale-ask-stock",
    "url": "sale-ask-link",
    "start": "sale-ask-start",
    "end": "sale-ask-end",
}
STEP_KEYS = {
    "product": "sale-ask-product",
    "price": "sale-ask-price",
    "stock": "sale-ask-stock",
    "image": "sale-ask-image",
    "link": "sale-ask-link",
    "start": "sale-ask-start",
    "end": "sale-ask-end",
    "targets": "sale-ask-targets",
}
SKIPPABLE = ("stock", "image", "link")


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


class SaleEdit(StatesGroup):
    value = State()


def guard_text(product: str, price: str, original: str | None) -> str:
    """What the manager wrote that the posts show: the copy guard checks this."""
    return "\n".join(p for p in (product, price, original) if p)


def sale_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The sale as the dialogue's answers describe it (what create_sale takes)."""
    return {
        "product": data["product"],
        "price": data["price"],
        "original_price": data.get("original"),
        "stock": data.get("stock"),
        "image_file_id": data.get("image"),
        "url": data.get("url"),
        "starts_at": datetime.fromisoformat(data["start"]),
        "ends_at": datetime.fromisoformat(data["end"]),
        "targets": list(data.get("targets", [])),
    }


def draft_sale(data: dict[str, Any]) -> Sale:
    """A transient Sale (never stored) from the dialogue's answers, for the preview."""
    return Sale(
        id=0,
        **sale_fields(data),
        teaser_offsets=[],
        ending_soon_minutes=0,
        status=sales.SCHEDULED,
    )


def _keyboard(texts: Texts, *, skip: bool = False) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if skip:
        kb.button(text=texts("btn-sale-skip"), callback_data=SaleForm(action="skip"))
    kb.button(text=texts("btn-sale-cancel"), callback_data=SaleForm(action="cancel"))
    kb.adjust(2)
    return kb.as_markup()


def create_router(catalogue: Catalogue, policy: CampaignPolicy) -> Router:
    router = Router(name=__name__)
    tz = policy.tz
    group_texts = catalogue.for_lang(policy.group_language)

    # --- members -----------------------------------------------------------------------

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

    # --- managers ----------------------------------------------------------------------

    admin = Router(name=f"{__name__}.admin")
    admin.message.filter(PrivateChat(), IsAdmin())
    admin.callback_query.filter(PrivateChat(), IsAdmin())

    def schedule_lines(texts: Texts, data: dict[str, Any], now: datetime) -> list[str]:
        planned = sales.plan(
            starts_at=datetime.fromisoformat(data["start"]),
            ends_at=datetime.fromisoformat(data["end"]),
            targets=list(data["targets"]),
            teaser_offsets=policy.teaser_offsets,
            ending_soon_minutes=policy.ending_soon_minutes,
            now=now,
        )
        grouped: dict[tuple[datetime, str], list[str]] = {}
        for p in planned:
            grouped.setdefault((p.due_at, p.stage), []).append(chat_name(texts, policy, p.chat_id))
        return [
            texts(
                "sale-schedule-line",
                time=local(due, tz),
                stage=stage_name(texts, stage),
                chats=", ".join(chats),
            )
            for (due, stage), chats in grouped.items()
        ]

    async def ask(bot: Bot, chat_id: int, texts: Texts, step: str, state: FSMContext) -> None:
        """Move to `step` and ask for it."""
        await state.set_state(getattr(SaleDialog, step))
        if step == "targets":
            await show_targets(bot, chat_id, texts, state)
            return
        args: dict[str, Any] = {}
        if step in ("start", "end"):
            args["tz"] = str(tz)
        await bot.send_message(
            chat_id,
            texts(STEP_KEYS[step], **args),
            reply_markup=_keyboard(texts, skip=step in SKIPPABLE),
        )

    def targets_keyboard(texts: Texts, chosen: list[int]) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        for chat_id in policy.targets:
            mark = "✅" if chat_id in chosen else "⬜"
            kb.button(
                text=f"{mark} {chat_name(texts, policy, chat_id)}",
                callback_data=SaleForm(action="target", value=str(chat_id)),
            )
        kb.button(
            text=texts("btn-sale-done"), callback_data=SaleForm(action="target", value="done")
        )
        kb.button(text=texts("btn-sale-cancel"), callback_data=SaleForm(action="cancel"))
        kb.adjust(1)
        return kb.as_markup()

    async def show_targets(bot: Bot, chat_id: int, texts: Texts, state: FSMContext) -> None:
        data = await state.get_data()
        if "targets" not in data:
            data = await state.update_data(targets=list(policy.targets[:1]))
        await bot.send_message(
            chat_id,
            texts("sale-ask-targets"),
            reply_markup=targets_keyboard(texts, data["targets"]),
        )

    async def review(
        bot: Bot, chat_id: int, texts: Texts, state: FSMContext, now: datetime
    ) -> None:
        """The start post as the group will see it, the schedule, then the copy guard."""
        await state.set_state(SaleDialog.review)
        data = await state.update_data(editing=False)
        draft = draft_sale(data)
        post = render_post(group_texts, draft, sales.START, tz)
        markup = buy_keyboard(group_texts, draft)
        await bot.send_message(chat_id, texts("sale-preview-title"))
        if draft.image_file_id:
            await bot.send_photo(
                chat_id, draft.image_file_id, caption=post, parse_mode="HTML", reply_markup=markup
            )
        else:
            await bot.send_message(chat_id, post, parse_mode="HTML", reply_markup=markup)
        lines = [texts("sale-schedule-title", tz=str(tz)), *schedule_lines(texts, data, now)]
        await bot.send_message(chat_id, "\n".join(lines))
        checked = guard_text(data["product"], data["price"], data.get("original"))
        hits = policy.guard.check(checked)
        kb = InlineKeyboardBuilder()
        if hits:
            kb.button(text=texts("btn-sale-edit-text"), callback_data=SaleForm(action="edit"))
            kb.button(text=texts("btn-sale-override"), callback_data=SaleForm(action="override"))
            kb.button(text=texts("btn-sale-cancel"), callback_data=SaleForm(action="cancel"))
            kb.adjust(1)
            words = ", ".join(dict.fromkeys(h.word for h in hits))
            await bot.send_message(
                chat_id,
                texts(
                    "sale-guard-hits", words=html.escape(words), text=policy.guard.mark(checked)
                ),
                parse_mode="HTML",
                reply_markup=kb.as_markup(),
            )
            return
        kb.button(text=texts("btn-sale-publish"), callback_data=SaleForm(action="publish"))
        kb.button(text=texts("btn-sale-cancel"), callback_data=SaleForm(action="cancel"))
        kb.adjust(2)
        await bot.send_message(chat_id, texts("sale-guard-clean"), reply_markup=kb.as_markup())

    async def publish(
        query: CallbackQuery,
        bot: Bot,
        session: AsyncSession,
        user: User,
        texts: Texts,
        state: FSMContext,
        now: datetime,
        *,
        override: bool,
    ) -> None:
        data = await state.get_data()
        checked = guard_text(data["product"], data["price"], data.get("original"))
        hits = policy.guard.check(checked)
        if hits and not override:
            await query.answer(texts("sale-guard-blocked"), show_alert=True)
            return
        await state.clear()  # a second tap finds no dialogue: one sale
        try:
            sale = await sales.create_sale(
                session,
                **sale_fields(data),
                policy=policy,
                created_by=user.id,
                now=now,
                copy_override=bool(hits) and override,
                override_words=[h.word for h in hits],
            )
        except SaleError as exc:
            await session.rollback()
            await state.set_data(data)
            await query.answer()
            if exc.code in ("sale-err-start-past", "sale-err-end-past"):
                await bot.send_message(user.id, texts(exc.code, **exc.fields))
                await ask(bot, user.id, texts, "start", state)
                return
            await bot.send_message(user.id, texts(exc.code, **exc.fields))
            await state.set_state(SaleDialog.review)
            return
        await query.answer()
        await bot.send_message(
            user.id,
            texts(
                "sale-published",
                id=sale.id,
                product=html.escape(sale.product),
                start=local(sale.starts_at, tz),
            ),
            parse_mode="HTML",
        )

    @admin.message(Command("sale"))
    async def cmd_sale(
        message: Message, bot: Bot, event_from_user: User, texts: Texts, state: FSMContext
    ) -> None:
        if not policy.targets:
            await message.answer(texts("sale-no-targets"))
            return
        await state.clear()
        await message.answer(texts("sale-intro"))
        await ask(bot, event_from_user.id, texts, "product", state)

    @admin.message(Command("cancel"), StateFilter(SaleDialog, SaleEdit))
    async def cmd_cancel(message: Message, texts: Texts, state: FSMContext) -> None:
        await state.clear()
        await message.answer(texts("sale-dialogue-cancelled"))

    @admin.message(Command("sales"))
    async def cmd_sales(
        message: Message, session: AsyncSession, texts: Texts, state: FSMContext, now: datetime
    ) -> None:
        found = await sales.list_sales(session, now=now)
        if not found:
            await message.answer(texts("sales-none"))
            return
        kb = InlineKeyboardBuilder()
        lines = [texts("sales-title")]
        for sale in found:
            lines.append(sale_line(texts, sale, now))
            kb.button(
                text=texts("btn-sale-edit", id=sale.id),
                callback_data=SaleMenu(action="edit", sale=sale.id),
            )
            kb.button(
                text=texts("btn-sale-cancel-sale", id=sale.id),
                callback_data=SaleMenu(action="cancel", sale=sale.id),
            )
        kb.adjust(2)
        await message.answer("\n".join(lines), parse_mode="HTML", reply_markup=kb.as_markup())

    def sale_line(texts: Texts, sale: Sale, now: datetime) -> str:
        return texts(
            "sales-line",
            id=sale.id,
            product=html.escape(sale.product),
            phase=texts(f"sale-phase-{sales.phase(sale, now)}"),
            start=local(sale.starts_at, tz),
            end=local(sale.ends_at, tz),
            chats=", ".join(chat_name(texts, policy, c) for c in sale.targets),
        )

    # --- the dialogue's steps (after the commands, so that they stay commands) -----------

    async def text_of(message: Message, texts: Texts) -> str | None:
        """The message's text, or None after telling the manager what is expected."""
        if message.text is None:
            await message.answer(texts("sale-need-text"))
            return None
        if message.text.startswith("/"):
            await message.answer(texts("sale-finish-first"))
            return None
        return message.text.strip()

    async def after(
        step: str, bot: Bot, user: User, texts: Texts, state: FSMContext, now: datetime
    ) -> None:
        """Go on from `step`: to the next one, or back to the preview when editing."""
        data = await state.get_data()
        if data.get("editing") and step in ("product", "price"):
            if step == "price":
                await review(bot, user.id, texts, state, now)
            else:
                await ask(bot, user.id, texts, "price", state)
            return
        order = ["product", "price", "stock", "image", "link", "start", "end", "targets"]
        nxt = order[order.index(step) + 1]
        await ask(bot, user.id, texts, nxt, state)

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
    async def step_text(
        message: Message, bot: Bot, event_from_user: User, texts: Texts, state: FSMContext,
        now: datetime,
    ) -> None:  # fmt: skip
        text = await text_of(message, texts)
        if text is None:
            return
        step = (await state.get_state() or "").split(":")[-1]
        try:
            data = await state.get_data()
            starts_at = datetime.fromisoformat(data["start"]) if data.get("start") else None
            changes = sales.read_answer(step, text, now=now, tz=tz, starts_at=starts_at)
        except SaleError as exc:
            await message.answer(texts(exc.code, **exc.fields))
            return
        await state.update_data(**changes)
        await after(step, bot, event_from_user, texts, state, now)

    @admin.message(SaleDialog.image)
    async def step_image(
        message: Message, bot: Bot, event_from_user: User, texts: Texts, state: FSMContext,
        now: datetime,
    ) -> None:  # fmt: skip
        if not message.photo:
            await message.answer(texts("sale-need-photo"))
            return
        await state.update_data(image=message.photo[-1].file_id)
        await after("image", bot, event_from_user, texts, state, now)

    @admin.message(StateFilter(SaleDialog.targets, SaleDialog.review))
    async def step_buttons(message: Message, texts: Texts) -> None:
        await message.answer(texts("sale-use-buttons"))

    @admin.callback_query(SaleForm.filter())
    async def cb_form(
        query: CallbackQuery,
        bot: Bot,
        callback_data: SaleForm,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        state: FSMContext,
        now: datetime,
    ) -> None:
        current = await state.get_state()
        step = current.split(":")[-1] if current and current.startswith("SaleDialog:") else None
        action = callback_data.action
        if action == "cancel" and current is not None and current.startswith("Sale"):
            await state.clear()
            await query.answer()
            await bot.send_message(event_from_user.id, texts("sale-dialogue-cancelled"))
            return
        if step is None:
            await query.answer(texts("sale-dialogue-expired"))
            return
        if action == "cancel":
            await state.clear()
            await query.answer()
            await bot.send_message(event_from_user.id, texts("sale-dialogue-cancelled"))
        elif action == "skip" and step in SKIPPABLE:
            await state.update_data({{"link": "url"}.get(step, step): None})
            await query.answer()
            await after(step, bot, event_from_user, texts, state, now)
        elif action == "target" and step == "targets":
            await toggle_target(
                query, bot, callback_data.value, event_from_user, texts, state, now
            )
        elif action in ("publish", "override") and step == "review":
            await publish(
                query, bot, session, event_from_user, texts, state, now,
                override=action == "override",
            )  # fmt: skip
        elif action == "edit" and step == "review":
            await state.update_data(editing=True)
            await query.answer()
            await ask(bot, event_from_user.id, texts, "product", state)
        else:
            await query.answer(texts("sale-dialogue-expired"))

    async def toggle_target(
        query: CallbackQuery,
        bot: Bot,
        value: str,
        user: User,
        texts: Texts,
        state: FSMContext,
        now: datetime,
    ) -> None:
        data = await state.get_data()
        chosen: list[int] = list(data.get("targets", []))
        if value == "done":
            if not chosen:
                await query.answer(texts("sale-choose-target"), show_alert=True)
                return
            await query.answer()
            await review(bot, user.id, texts, state, now)
            return
        try:
            chat_id = int(value)
        except ValueError:
            chat_id = 0
        if chat_id not in policy.targets:  # forged
            await query.answer(texts("stale-button"))
            return
        chosen = [c for c in policy.targets if (c in chosen) != (c == chat_id)]
        await state.update_data(targets=chosen)
        await query.answer()
        if query.message is not None:
            await bot.edit_message_reply_markup(
                chat_id=user.id,
                message_id=query.message.message_id,
                reply_markup=targets_keyboard(texts, chosen),
            )

    # --- /sales: show, edit, cancel --------------------------------------------------------

    @admin.callback_query(SaleMenu.filter())
    async def cb_menu(
        query: CallbackQuery,
        bot: Bot,
        callback_data: SaleMenu,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        state: FSMContext,
        now: datetime,
    ) -> None:
        sale = await sales.get(session, callback_data.sale)
        if sale is None:
            await query.answer(texts("stale-button"))
            return
        action = callback_data.action
        over = sales.phase(sale, now) in (sales.CANCELLED, sales.ENDED)
        if over and action != "show":
            await query.answer(texts("sale-err-over", id=sale.id), show_alert=True)
            return
        uid = event_from_user.id
        if action == "show":
            await query.answer()
            await show_sale(bot, uid, session, sale, texts, now)
        elif action == "edit":
            kb = InlineKeyboardBuilder()
            for name in EDIT_FIELDS:
                kb.button(
                    text=texts(f"sale-field-{name}"),
                    callback_data=SaleMenu(action="field", sale=sale.id, field=name),
                )
            kb.adjust(3)
            await query.answer()
            await bot.send_message(
                uid,
                texts("sale-edit-choose", id=sale.id, product=html.escape(sale.product)),
                parse_mode="HTML",
                reply_markup=kb.as_markup(),
            )
        elif action == "field" and callback_data.field in EDIT_FIELDS:
            await state.set_state(SaleEdit.value)
            await state.set_data({"sale": sale.id, "field": callback_data.field})
            await query.answer()
            await bot.send_message(
                uid,
                texts(EDIT_FIELDS[callback_data.field], tz=str(tz)),
                reply_markup=_keyboard(texts),
            )
        elif action == "cancel":
            kb = InlineKeyboardBuilder()
            kb.button(
                text=texts("btn-sale-cancel-yes"),
                callback_data=SaleMenu(action="cancel_yes", sale=sale.id),
            )
            kb.button(
                text=texts("btn-sale-keep"), callback_data=SaleMenu(action="show", sale=sale.id)
            )
            await query.answer()
            await bot.send_message(
                uid,
                texts("sale-cancel-confirm", id=sale.id, product=html.escape(sale.product)),
                parse_mode="HTML",
                reply_markup=kb.as_markup(),
            )
        elif action == "cancel_yes":
            try:
                await sales.cancel_sale(session, sale.id, now=now, actor_id=uid)
            except SaleError as exc:
                await query.answer(texts(exc.code, **exc.fields), show_alert=True)
                return
            await query.answer()
            await bot.send_message(
                uid,
                texts("sale-cancelled-done", id=sale.id, product=html.escape(sale.product)),
                parse_mode="HTML",
            )
        else:
            await query.answer(texts("stale-button"))

    async def show_sale(
        bot: Bot, chat_id: int, session: AsyncSession, sale: Sale, texts: Texts, now: datetime
    ) -> None:
        rows = await sales.posts(session, sale.id)
        lines = [sale_line(texts, sale, now)]
        lines.extend(
            texts(
                "sale-post-line",
                time=local(p.due_at, tz),
                stage=stage_name(texts, p.stage),
                chat=chat_name(texts, policy, p.chat_id),
                status=texts(f"sale-post-{p.status}"),
            )
            for p in rows
        )
        await bot.send_message(chat_id, "\n".join(lines), parse_mode="HTML")

    @admin.message(SaleEdit.value)
    async def edit_value(
        message: Message,
        bot: Bot,
        session: AsyncSession,
        event_from_user: User,
        texts: Texts,
        state: FSMContext,
        now: datetime,
    ) -> None:
        text = await text_of(message, texts)
        if text is None:
            return
        data = await state.get_data()
        sale_id, name = int(data["sale"]), str(data["field"])
        try:
            changes = await parse_change(session, sale_id, name, text, now)
        except SaleError as exc:
            await message.answer(texts(exc.code, **exc.fields))
            return
        words = [
            h.word for v in changes.values() if isinstance(v, str) for h in policy.guard.check(v)
        ]
        if words:
            shown = "\n".join(policy.guard.mark(v) for v in changes.values() if isinstance(v, str))
            await message.answer(
                texts("sale-guard-edit", words=html.escape(", ".join(words)), text=shown),
                parse_mode="HTML",
            )
            return
        try:
            sale = await sales.update_sale(
                session, sale_id, policy=policy, now=now, actor_id=event_from_user.id, **changes
            )
        except SaleError as exc:
            await message.answer(texts(exc.code, **exc.fields))
            return
        await state.clear()
        await message.answer(texts("sale-edited", id=sale.id))
        await show_sale(bot, event_from_user.id, session, sale, texts, now)

    async def parse_change(
        session: AsyncSession, sale_id: int, name: str, text: str, now: datetime
    ) -> dict[str, Any]:
        if name == "product":
            if not text or len(text) > sales.MAX_PRODUCT:
                raise SaleError("sale-err-product-long", limit=sales.MAX_PRODUCT, length=len(text))
            return {"product": text}
        if name == "price":
            price, original = sales.parse_prices(text)
            return {"price": price, "original_price": original}
        if name == "stock":
            return {"stock": sales.parse_stock(text)}
        if name == "url":
            return {"url": sales.check_url(text)}
        if name == "start":
            return {"starts_at": sales.parse_when(text, now=now, tz=tz)}
        sale = await sales.get(session, sale_id)
        if sale is None:
            raise SaleError("sale-err-unknown", id=sale_id)
        return {"ends_at": sales.parse_end(text, starts_at=sale.starts_at, now=now, tz=tz)}

    router.include_router(admin)
    return router
