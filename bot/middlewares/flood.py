"""Flood control for private chats: over N messages in M seconds gets one notice, then quiet.

Per process and in memory on purpose: it protects this process's work, and losing the
window on restart is harmless. An album counts once (Telegram sends each photo as its own
message), and a customer talking to an agent is never muted: `exempt` is asked, only when
a mute would happen, whether this customer has an open ticket.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

from views.texts import Texts

MAX_TRACKED_USERS = 50_000


class FloodControlMiddleware(BaseMiddleware):
    def __init__(
        self,
        *,
        max_messages: int,
        window_seconds: float,
        mute_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        exempt: Callable[[dict[str, Any], int], Awaitable[bool]] | None = None,
    ) -> None:
        self.exempt = exempt
        self._albums: dict[int, str] = {}
        self.max_messages = max_messages
        self.window = window_seconds
        self.mute = mute_seconds
        self.monotonic = monotonic
        self._hits: dict[int, deque[float]] = {}
        self._muted_until: dict[int, float] = {}

    def _is_flooding(self, user_id: int, now: float) -> tuple[bool, bool]:
        """(ignore this message, send the one notice)."""
        until = self._muted_until.get(user_id)
        if until is not None:
            if now < until:
                return True, False
            del self._muted_until[user_id]
        if len(self._hits) > MAX_TRACKED_USERS:
            self._hits.clear()
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] > self.window:
            hits.popleft()
        hits.append(now)
        if len(hits) > self.max_messages:
            hits.clear()
            self._muted_until[user_id] = now + self.mute
            return True, True
        return False, False

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message) or event.chat.type != "private" or not event.from_user:
            return await handler(event, data)
        user_id = event.from_user.id
        if event.media_group_id is not None:
            if self._albums.get(user_id) == event.media_group_id:
                return await handler(event, data)  # the rest of an album already counted
            if len(self._albums) > MAX_TRACKED_USERS:
                self._albums.clear()
            self._albums[user_id] = event.media_group_id
        ignore, notify = self._is_flooding(user_id, self.monotonic())
        if ignore and self.exempt is not None and await self.exempt(data, user_id):
            self._muted_until.pop(user_id, None)
            ignore = False
        if not ignore:
            return await handler(event, data)
        if notify:
            texts: Texts = data["texts"]
            await event.answer(texts("flood-notice"))
        return None
