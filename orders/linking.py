"""Linking a customer to their orders: a shared phone number, or the shop's signed link.

(The third way, the order's ``telegram_id`` from the shop's import, needs nothing here.)

The signed deep link is ``https://t.me/<bot>?start=o_<order>_<signature>``: the signature
is HMAC-SHA256 with the shop's secret (``ORDER_LINK_SECRET``) over the order id, base64url,
its first SIGNATURE_CHARS characters (96 bits). Telegram allows 64 characters of
``A-Za-z0-9_-`` in a start parameter, so an order id is linkable when it is made of those
characters and at most MAX_LINKABLE_ID characters long (45). The signature has a fixed
length, so an order id may itself contain ``_``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orders.ownership import normalize_phone, order_for, orders_of
from storage.models import CustomerPhone, Order, OrderLink
from storage.queries import insert_for

PREFIX = "o_"
SIGNATURE_CHARS = 16
START_PARAMETER_CHARS = 64  # Telegram's limit for ?start=
MAX_LINKABLE_ID = START_PARAMETER_CHARS - len(PREFIX) - 1 - SIGNATURE_CHARS
_LINKABLE_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_LINKABLE_ID}}}")
_PARAMETER_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
RECENT = 5


class NotLinkable(ValueError):
    """The order id cannot be put in a deep link (characters or length), or no secret."""


def linkable(order_id: str) -> bool:
    return _LINKABLE_RE.fullmatch(order_id) is not None


def signature(secret: bytes, order_id: str) -> str:
    digest = hmac.new(secret, order_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:SIGNATURE_CHARS]


def start_parameter(secret: bytes | None, order_id: str) -> str:
    """``o_<order>_<signature>``; NotLinkable for an id a link cannot carry, or no secret."""
    if not secret:
        raise NotLinkable("ORDER_LINK_SECRET is not set")
    if not linkable(order_id):
        raise NotLinkable(
            f"order id {order_id!r}: a deep link carries ids of at most {MAX_LINKABLE_ID} "
            "characters of A-Z, a-z, 0-9, _ and -"
        )
    return f"{PREFIX}{order_id}_{signature(secret, order_id)}"


def deep_link(bot_username: str, secret: bytes | None, order_id: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={start_parameter(secret, order_id)}"


def verified_order(secret: bytes | None, parameter: str) -> str | None:
    """The order id of a genuine start parameter, else None (no secret, bad form, forged)."""
    if not secret or not parameter.startswith(PREFIX) or not _PARAMETER_RE.fullmatch(parameter):
        return None
    body = parameter[len(PREFIX) :]
    if len(body) < SIGNATURE_CHARS + 2 or body[-SIGNATURE_CHARS - 1] != "_":
        return None
    order_id, given = body[: -SIGNATURE_CHARS - 1], body[-SIGNATURE_CHARS:]
    if not linkable(order_id):
        return None
    if not hmac.compare_digest(signature(secret, order_id).encode(), given.encode()):
        return None
    return order_id


class PhoneStatus(StrEnum):
    LINKED = "linked"
    NOT_OWN = "not_own"  # someone else's contact card: only one's own number counts
    INVALID = "invalid"  # not a phone number


@dataclass(frozen=True, slots=True)
class PhoneResult:
    status: PhoneStatus
    orders: list[Order]


async def share_phone(
    session: AsyncSession,
    *,
    user_id: int,
    contact_user_id: int | None,
    phone: str,
    now: datetime,
) -> PhoneResult:
    """A contact the customer sent: their own (Telegram's button sends the sender's user id
    with it) links the number to them, moving it from another account that had it; someone
    else's contact links nothing. Commits; the customer's recent orders come back.

    Telegram sends the account's own number in international form, with a "+" or without
    one depending on the client: it is never read as a national number."""
    if contact_user_id != user_id:
        return PhoneResult(PhoneStatus.NOT_OWN, [])
    digits = phone.strip()
    number = normalize_phone(digits if digits.startswith("+") else f"+{digits}")
    if number is None:
        return PhoneResult(PhoneStatus.INVALID, [])
    table = CustomerPhone.__table__
    stmt = insert_for(session, table).values(phone=number, user_id=user_id, shared_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.phone], set_={"user_id": user_id, "shared_at": now}
    )
    await session.execute(stmt)
    found = await orders_of(session, user_id, limit=RECENT)
    await session.commit()
    return PhoneResult(PhoneStatus.LINKED, found)


class LinkStatus(StrEnum):
    LINKED = "linked"  # the order is shown
    WAITING = "waiting"  # linked; the shop has not sent the order yet
    INVALID = "invalid"  # no secret, or a forged or damaged link: nothing linked


@dataclass(frozen=True, slots=True)
class LinkResult:
    status: LinkStatus
    order_id: str = ""
    order: Order | None = None


async def open_link(
    session: AsyncSession, *, user_id: int, parameter: str, secret: bytes | None, now: datetime
) -> LinkResult:
    """The shop's signed link was opened: link the order to the customer (once; the order
    may arrive later) and return it. Commits."""
    order_id = verified_order(secret, parameter)
    if order_id is None:
        return LinkResult(LinkStatus.INVALID)
    table = OrderLink.__table__
    stmt = insert_for(session, table).values(order_id=order_id, user_id=user_id, linked_at=now)
    stmt = stmt.on_conflict_do_nothing(index_elements=[table.c.order_id, table.c.user_id])
    await session.execute(stmt)
    order = await order_for(session, user_id, order_id)
    await session.commit()
    return LinkResult(LinkStatus.LINKED if order else LinkStatus.WAITING, order_id, order)


async def phones_of(session: AsyncSession, user_id: int) -> list[str]:
    """The numbers the customer shared (for tests and support)."""
    stmt = select(CustomerPhone.phone).where(CustomerPhone.user_id == user_id)
    return list(await session.scalars(stmt.order_by(CustomerPhone.phone)))
