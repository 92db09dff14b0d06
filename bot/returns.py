"""Delivering after-sales outbox rows (orders.returns.ReturnKind).

- A case's card goes to the customer's desk topic (created as needed, like a ticket's) or,
  in reply mode, to the support group: the customer's photos first, as one album, then the
  card with the agents' buttons, drawn from the case as it is at send time.
- A note tells the customer what an agent decided, in the language they used.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InputMediaPhoto, MediaUnion

from bot.sender import ObsoleteRow, Sender
from orders.returns import ReturnKind, case_card
from storage.models import AfterSalesCase
from storage.outbox import Claimed
from views import returns as views

if TYPE_CHECKING:
    from bot.desk import Desk, Target

log = logging.getLogger(__name__)


class ReturnDelivery:
    """Registered on the Sender next to the desk's deliverers, whose topics it shares."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def install(self, sender: Sender) -> None:
        sender.route(ReturnKind.CARD, self.send_card)
        sender.route(ReturnKind.NOTE, self.send_note)

    async def send_card(self, row: Claimed) -> None:
        desk = self.desk
        target = await desk.target(row, for_card=True)
        async with desk.sf() as s:
            card = await case_card(s, int(row.payload.get("case_id") or 0))
        if card is None:
            raise ObsoleteRow("case gone")
        if card.photos:
            await self.send_photos(row, target, card.photos)
        await desk._group_call(  # noqa: SLF001
            row,
            target,
            desk.bot.send_message(
                desk.chat_id,
                views.desk_card(desk.t, card, desk.tz),
                reply_markup=views.case_buttons(desk.t, card.case),
                **target.kwargs(),
            ),
        )

    async def send_photos(self, row: Claimed, target: Target, photos: tuple[str, ...]) -> None:
        """The customer's photos: one photo, or an album. A photo Telegram refuses (a file id
        gone stale) does not hold back the card, which says how many there were."""
        desk = self.desk
        call: Coroutine[Any, Any, object]
        if len(photos) == 1:
            call = desk.bot.send_photo(desk.chat_id, photos[0], **target.kwargs())
        else:
            album: list[MediaUnion] = [InputMediaPhoto(media=f) for f in photos]
            call = desk.bot.send_media_group(desk.chat_id, album, **target.kwargs())
        try:
            await desk._group_call(row, target, call)  # noqa: SLF001 (the desk's topics)
        except TelegramBadRequest as exc:
            log.warning("return case photos not sent: %s", exc.message)

    async def send_note(self, row: Claimed) -> None:
        if row.chat_id is None:
            raise ObsoleteRow("no customer")
        async with self.desk.sf() as s:
            case = await s.get(AfterSalesCase, int(row.payload.get("case_id") or 0))
            await s.commit()  # ends the read; loaded rows stay usable
        t = self.desk.catalogue.for_lang(str(row.payload.get("lang") or "zh"))
        args = dict(row.payload.get("args") or {})
        text = views.customer_note(t, str(row.payload.get("event")), args, case)
        await self.desk.bot.send_message(row.chat_id, text[:4096])
