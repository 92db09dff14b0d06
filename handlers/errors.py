"""Last resort: log the failure with its update, apologise to the person, never a traceback."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from handlers.deps import ChatOptions
from views.texts import Catalogue

log = logging.getLogger(__name__)

router = Router(name=__name__)


@router.errors()
async def on_error(event: ErrorEvent, catalogue: Catalogue, options: ChatOptions) -> bool:
    update = event.update
    log.error(
        "update %s failed: %r",
        update.update_id,
        update.model_dump_json(exclude_none=True)[:2000],
        exc_info=event.exception,
    )
    user = (update.message and update.message.from_user) or (
        update.callback_query and update.callback_query.from_user
    )
    lang = catalogue.resolve_language(
        None, user.language_code if user else None, options.default_language
    )
    text = catalogue.get(lang, "error-generic")
    # The apology itself may fail (blocked, network): nothing more to do then.
    with contextlib.suppress(TelegramAPIError, OSError):
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.message is not None and update.message.chat.type == "private":
            await update.message.answer(text)
    return True
