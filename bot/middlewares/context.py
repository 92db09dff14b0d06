"""Per update: a DB session, repeat deliveries dropped, the user upserted, texts chosen."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.broadcasts import mark_returned
from handlers.deps import SoldOut
from storage.queries import SeenUser, mark_update_processed, upsert_user
from views.texts import Catalogue

log = logging.getLogger(__name__)

# Group taps within this time of the user's last refresh skip the upsert (last_seen is
# then at most this stale, which segments measured in days do not notice).
GROUP_TAP_REFRESH = timedelta(minutes=5)
MAX_REMEMBERED = 100_000


def _claim_in_group(event: Update) -> bool:
    """A tap on a drop's Claim button in a group: the claim queue refreshes the member in
    the claim's own transaction (handlers/drops.py), so it is not done here too."""
    query = event.callback_query
    return (
        query is not None
        and query.message is not None
        and query.message.chat.type != "private"
        and SoldOut.drop_of(query.data) is not None
    )


class UpdateContextMiddleware(BaseMiddleware):
    """Outer middleware on `update`; runs after aiogram has set `event_from_user`."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        catalogue: Catalogue,
        *,
        default_language: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.session_factory = session_factory
        self.catalogue = catalogue
        self.default_language = default_language
        self.clock = clock
        self._seen: dict[int, tuple[datetime, tuple[str | None, str, str | None], SeenUser]] = {}

    def _recent(self, user: User, event: Update, now: datetime) -> SeenUser | None:
        """The user as refreshed moments ago, for taps in groups (a coupon drop brings
        thousands in seconds); private chats always refresh, so a language change shows."""
        if event.callback_query is None or event.callback_query.message is None:
            return None
        if event.callback_query.message.chat.type == "private":
            return None
        hit = self._seen.get(user.id)
        if hit is None:
            return None
        stamp, key, seen = hit
        if now - stamp > GROUP_TAP_REFRESH or key != (
            user.username,
            user.first_name,
            user.language_code,
        ):
            return None
        return seen

    def _remember(self, user: User, event: Update, seen: SeenUser, now: datetime) -> None:
        if event.callback_query is None:
            return
        if len(self._seen) > MAX_REMEMBERED:
            self._seen.clear()
        self._seen[user.id] = (now, (user.username, user.first_name, user.language_code), seen)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        now = self.clock()
        tg_user: User | None = data.get("event_from_user")
        async with self.session_factory() as session:
            # One short transaction records the update id (at most once, guarded by the
            # primary key) and refreshes the user, before any handler acts.
            # Updates from the polling inbox were de-duplicated when they were stored.
            if not data.get("from_inbox") and not await mark_update_processed(
                session, event.update_id, now
            ):
                await session.rollback()
                log.info("update %s delivered again; ignored", event.update_id)
                return None
            override: str | None = None
            if tg_user is not None and not tg_user.is_bot and not _claim_in_group(event):
                seen = self._recent(tg_user, event, now)
                if seen is None:
                    chat = data.get("event_chat")
                    private = chat is not None and chat.type == "private"
                    seen = await upsert_user(
                        session,
                        user_id=tg_user.id,
                        username=tg_user.username,
                        first_name=tg_user.first_name,
                        language_code=tg_user.language_code,
                        now=now,
                        private=private,
                    )
                    if private:
                        # Back in the bot's chat after a marketing message: "came back".
                        # (Not for group taps: a coupon drop brings thousands a second,
                        # and each extra write slowed its claims by about 15%.)
                        await mark_returned(session, user_id=tg_user.id, now=now)
                    self._remember(tg_user, event, seen, now)
                override = seen.language
                data["user_record"] = seen
            if session.in_transaction():  # nothing to end after a tap that wrote nothing
                await session.commit()
            lang = self.catalogue.resolve_language(
                override, tg_user.language_code if tg_user else None, self.default_language
            )
            data["session"] = session
            data["lang"] = lang
            data["lang_override"] = override
            data["texts"] = self.catalogue.for_lang(lang)
            data["now"] = now
            return await handler(event, data)
