"""Callback data, named as intents. Everything here may arrive forged: the domain checks it."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import BeforeValidator

from storage.numbers import read_id


def _read_id(value: object) -> object:
    return read_id(value) if isinstance(value, str) else value


# A row id in callback data, read by storage.numbers.read_id (ASCII digits, 1 .. 2**63-1):
# `²` or 20 digits make the data not unpack, so the handler's filter does not match.
CallbackId = Annotated[int, BeforeValidator(_read_id)]


class Feedback(CallbackData, prefix="fb"):
    interaction: int
    helpful: bool


class PickAnswer(CallbackData, prefix="pick"):
    interaction: int
    entry: str


class TalkToHuman(CallbackData, prefix="human"):
    source: str  # button | feedback


class SetLanguage(CallbackData, prefix="lang"):
    lang: str


# The support desk. Ticket ids arrive forged too: the domain checks ownership and state.
class CloseTicket(CallbackData, prefix="tclose"):
    ticket: int


class Rate(CallbackData, prefix="rate"):
    ticket: int
    score: int


class SkipComment(CallbackData, prefix="skipc"):
    ticket: int


class TakeTicket(CallbackData, prefix="desk"):
    ticket: int
    action: str  # take | close


class TransferMenu(CallbackData, prefix="tmenu"):
    ticket: int


class TransferTo(CallbackData, prefix="tto"):
    ticket: int
    agent: int  # 0: back to the queue


class UseCanned(CallbackData, prefix="canned"):
    ticket: int
    key: str


# Teaching the FAQ (support.learning). Entry ids are KB ids (a-z, 0-9, _, at most 32
# characters): with a ticket or question id the data stays within Telegram's 64 bytes.
class TeachEntry(CallbackData, prefix="teach"):
    """A closed ticket's question joins an FAQ entry (the desk)."""

    ticket: int
    entry: str


class TeachNew(CallbackData, prefix="teachnew"):
    """A closed ticket makes a new FAQ entry of the agent's last reply (the desk)."""

    ticket: int


class AttachQuestion(CallbackData, prefix="qadd"):
    """/unanswered: the question joins an FAQ entry."""

    question: int
    entry: str


class IgnoreQuestion(CallbackData, prefix="qskip"):
    question: int


class HandQuestion(CallbackData, prefix="qhand"):
    """/unanswered: the question goes to the support desk, for an agent to answer."""

    question: int


class MoreQuestions(CallbackData, prefix="qmore"):
    offset: int  # 0 and up


# The community.
class MemberAction(CallbackData, prefix="member"):
    action: str  # checkin | makeup | buycard


class ClaimDrop(CallbackData, prefix="claim"):
    drop: CallbackId


class Redeem(CallbackData, prefix="redeem"):
    drop: CallbackId


# Campaigns. Sale and broadcast ids arrive forged too: handlers check the admin and the row.
class RemindMe(CallbackData, prefix="remind"):
    sale: CallbackId


class SaleForm(CallbackData, prefix="salef"):
    """A step of the flash-sale dialogue: skip | target | offsets | publish | override |
    edit | restart | cancel (value: a chat id, a field name, ...)."""

    action: str
    value: str = ""


class SaleMenu(CallbackData, prefix="salem"):
    """The /sales list: show | edit | cancel | cancel_yes for one sale (field: what to edit)."""

    action: str
    sale: CallbackId
    field: str = ""


class BroadcastForm(CallbackData, prefix="bcf"):
    """A step of the broadcast dialogue: segment toggles, skip, send, override, cancel."""

    action: str
    value: str = ""


class CancelBroadcast(CallbackData, prefix="bcx"):
    broadcast: str  # the id, read by storage.numbers.read_id (a forged one is refused)
    confirm: bool = False


class PublishDrop(CallbackData, prefix="dropok"):
    """Publish a drop held by the copy guard (override, logged) or discard it."""

    drop: CallbackId
    publish: bool


# Orders. The order id arrives forged too: the domain shows only the customer's own orders.
class ShowOrder(CallbackData, prefix="ord"):
    order: str
