"""Last resort: log the failure with its update, apologise to the person, never a traceback.

In a private chat the apology is a message; in a group, a reply to the message that failed
(in the agents' language in the support group, else the group's); on a button, an alert."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Router
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, ReplyParameters, Update

from campaigns.policy import CampaignPolicy
from handlers.deps import ChatOptions
from support.tickets import DeskPolicy
from views.texts import Catalogue

log = logging.getLogger(__name__)

router = Router(name=__name__)


def _language(
    update: Update, catalogue: Catalogue, options: ChatOptions, desk: DeskPolicy, group: str
) -> str:
    message = update.message
    if update.callback_query is None and message is not None and message.chat.type != "private":
        return options.agents_language if message.chat.id == desk.chat_id else group
    user = (message and message.from_user) or (
        update.callback_query and update.callback_query.from_user
    )
    return catalogue.resolve_language(
        None, user.language_code if user else None, options.default_language
    )


@router.errors()
async def on_error(
    event: ErrorEvent,
    catalogue: Catalogue,
    options: ChatOptions,
    desk: DeskPolicy,
    campaigns: CampaignPolicy,
) -> bool:
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
    lang = _language(update, catalogue, options, desk, campaigns.group_language)
    text = catalogue.get(lang, "error-generic")
    message = update.message
    # The apology itself may fail (blocked, network): nothing more to do then.
    with contextlib.suppress(TelegramAPIError, OSError):
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif message is not None and message.chat.type == "private":
            await message.answer(text)
        elif message is not None:  # a group: answer the command that failed, in its thread
            to = ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
            await message.answer(text, reply_parameters=to)
    return True
