"""Keep aiogram's answer types alive between requests.

aiogram validates every Bot API answer as `Response[method.__returning__]`. pydantic caches
such parametrised classes only weakly, so after a garbage collection the next request builds
the class again: about 6 ms here, on every kind of answer, after every full collection.
Holding each class once keeps that cost to the first request of its kind.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

_KEPT: dict[Any, type[Response[Any]]] = {}


class KeepResponseTypes(BaseSession):
    """A session mix-in: `check_response` as aiogram's, with the answer type held."""

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in _KEPT:
            _KEPT[returning] = Response[returning]  # type: ignore[valid-type]
        return super().check_response(bot, method, status_code, content)


class TelegramSession(KeepResponseTypes, AiohttpSession):
    """The production session: aiohttp, with the answer types held."""
