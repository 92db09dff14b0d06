"""Last resort: log the failure with its update, apologise to the person, never a traceback."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Router
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.texts import Catalogue

log = logging.getLogger(__name__)


def create_router(catalogue: Catalogue, default_language: str) -> Router:
    router = Router(name=__name__)

    @router.errors()
    async def on_error(event: ErrorEvent) -> bool:
        update = event.update
        # Ids only: the update itself holds customers' names and words.
        where = UserContextMiddleware.resolve_event_context(update)
        log.error(
            "update %s (%s) failed: user %s, chat %s",
            update.update_id,
            update.event_type,
            where.user.id if where.user else None,
            where.chat.id if where.chat else None,
            exc_info=event.exception,
        )
        user = (update.message and update.message.from_user) or (
            update.callback_query and update.callback_query.from_user
        )
        lang = catalogue.resolve_language(
            None, user.language_code if user else None, default_language
        )
        text = catalogue.get(lang, "error-generic")
        # The apology itself may fail (blocked, network): nothing more to do then.
        with contextlib.suppress(TelegramAPIError, OSError):
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            elif update.message is not None and update.message.chat.type == "private":
                await update.message.answer(text)
        return True

    return router
