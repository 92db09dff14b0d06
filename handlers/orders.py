"""The customer's orders in the private chat: linking them, and "where is my order".

Two routers. `router` sits before the support desk's: a shared contact, the shop's signed
link (/start o_...) and the order buttons are answered here even while a ticket is open (a
phone number is not relayed to the agents). `questions` sits after the desk's and before
the FAQ's: "where is my order" is answered from the customer's own orders, and while a
ticket is open the agents get the question instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.filters import PrivateChat
from orders import intent, linking, tracking
from orders.policy import OrdersPolicy
from storage.models import Order
from views import keyboards
from views import orders as order_views
from views import returns as return_views
from views.callbacks import ShowOrder
from views.texts import Catalogue, Texts

router = Router(name=__name__)
router.message.filter(PrivateChat())
router.callback_query.filter(PrivateChat())

questions = Router(name=f"{__name__}.questions")
questions.message.filter(PrivateChat())

START = "/start"


class SharedContact(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.contact is not None


class OrderLinkStart(Filter):
    """/start with the shop's order link parameter (o_...), as `link_parameter`."""

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        text = message.text or ""
        command, _, parameter = text.partition(" ")
        if command.split("@", 1)[0] != START or not parameter.startswith(linking.PREFIX):
            return False
        return {"link_parameter": parameter.strip()}


class OrderQuestionText(Filter):
    """A message about the customer's own order (orders.intent), as `order_question`; the
    menu's "My orders" button is one."""

    def __init__(self) -> None:
        self._labels: tuple[Catalogue, frozenset[str]] | None = None

    async def __call__(self, message: Message, catalogue: Catalogue) -> bool | dict[str, Any]:
        text = message.text
        if not text or text.startswith("/"):
            return False
        if self._labels is None or self._labels[0] is not catalogue:
            labels = frozenset(catalogue.get(lang, "menu-orders") for lang in catalogue.languages)
            self._labels = (catalogue, labels)
        if text in self._labels[1]:
            return {"order_question": intent.OrderQuestion(numbers=(), lang=None)}
        found = intent.detect(text)
        return {"order_question": found} if found is not None else False


def _card_buttons(t: Texts, order: Order, policy: OrdersPolicy) -> InlineKeyboardMarkup | None:
    """A returnable order's card offers the return dialogue for it."""
    if order.status not in policy.returnable:
        return None
    return return_views.card_keyboard(t, order.order_id)


async def _answer(
    bot: Bot, chat_id: int, t: Texts, found: tracking.Tracking, policy: OrdersPolicy
) -> None:
    if found.found is tracking.Found.ORDER and found.order is not None:
        await bot.send_message(
            chat_id,
            order_views.render_card(t, found.order, policy.tz),
            reply_markup=_card_buttons(t, found.order, policy),
        )
    elif found.found is tracking.Found.LIST:
        text, markup = order_views.order_list(t, found.orders)
        await bot.send_message(chat_id, text, reply_markup=markup)
    elif found.found is tracking.Found.NOT_FOUND:
        await bot.send_message(
            chat_id, t("order-not-found"), reply_markup=order_views.share_phone(t)
        )
    else:
        await bot.send_message(chat_id, t("order-none"), reply_markup=order_views.share_phone(t))


@questions.message(OrderQuestionText())
async def on_order_question(
    message: Message,
    bot: Bot,
    order_question: intent.OrderQuestion,
    session: AsyncSession,
    event_from_user: User,
    catalogue: Catalogue,
    texts: Texts,
    lang_override: str | None,
    orders: OrdersPolicy,
    now: datetime,
) -> None:
    found = await tracking.where_is(
        session,
        user_id=event_from_user.id,
        text=message.text or "",
        question=order_question,
        usual_lang=lang_override or texts.lang,
        now=now,
    )
    t = catalogue.for_lang(lang_override or found.lang or texts.lang)
    await _answer(bot, message.chat.id, t, found, orders)


@router.message(SharedContact())
async def on_contact(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    orders: OrdersPolicy,
    now: datetime,
) -> None:
    contact = message.contact
    assert contact is not None
    result = await linking.share_phone(
        session,
        user_id=event_from_user.id,
        contact_user_id=contact.user_id,
        phone=contact.phone_number,
        now=now,
    )
    if result.status is linking.PhoneStatus.NOT_OWN:
        await message.answer(
            texts("order-contact-not-own"), reply_markup=order_views.share_phone(texts)
        )
        return
    if result.status is linking.PhoneStatus.INVALID:
        await message.answer(
            texts("order-contact-invalid"), reply_markup=order_views.share_phone(texts)
        )
        return
    # The share-phone keyboard gives way to the menu it replaced.
    menu = keyboards.main_menu(texts)
    if not result.orders:
        await message.answer(texts("order-contact-linked-none"), reply_markup=menu)
        return
    await message.answer(texts("order-contact-linked"), reply_markup=menu)
    if len(result.orders) == 1:
        found = tracking.Tracking(tracking.Found.ORDER, order=result.orders[0])
    else:
        found = tracking.Tracking(tracking.Found.LIST, orders=tuple(result.orders))
    await _answer(bot, message.chat.id, texts, found, orders)


@router.message(OrderLinkStart())
async def on_order_link(
    message: Message,
    link_parameter: str,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    orders: OrdersPolicy,
    now: datetime,
) -> None:
    result = await linking.open_link(
        session,
        user_id=event_from_user.id,
        parameter=link_parameter,
        secret=orders.link_secret,
        now=now,
    )
    if result.status is linking.LinkStatus.INVALID:
        await message.answer(texts("order-link-invalid"), reply_markup=keyboards.main_menu(texts))
        return
    if result.order is None:
        await message.answer(texts("order-link-waiting", id=result.order_id))
        return
    await message.answer(
        order_views.render_card(texts, result.order, orders.tz),
        reply_markup=_card_buttons(texts, result.order, orders),
    )


@router.callback_query(ShowOrder.filter())
async def cb_show_order(
    query: CallbackQuery,
    bot: Bot,
    callback_data: ShowOrder,
    session: AsyncSession,
    event_from_user: User,
    texts: Texts,
    orders: OrdersPolicy,
) -> None:
    found = await tracking.show(session, user_id=event_from_user.id, order_id=callback_data.order)
    await query.answer()
    await _answer(bot, event_from_user.id, texts, found, orders)
