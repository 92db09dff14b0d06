"""The webhook: Telegram posts each update to WEBHOOK_URL, served on the bot's HTTP server at
WEBHOOK_URL's path (public contract, docs/deploy.md).

A request must carry `X-Telegram-Bot-Api-Secret-Token: <WEBHOOK_SECRET>` (compared in constant
time), else 401 and nothing is read. The body must be a JSON object with an integer
`update_id`, else 400. The update is stored in the inbox (storage/inbox.py, the table polling
uses) and committed **before** the 200: a process killed after the 200 loses nothing (another
replica's sweep, or the next start, handles it), and Telegram's retry of an update already
stored gets 200 and is not handled again. A database that fails is 500: Telegram retries.
After the 200 the update is handled in the background by the poller's machinery
(`InboxPoller.schedule`: per chat in order, claimed in the database so one replica handles it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


@dataclass(frozen=True, slots=True)
class Webhook:
    """What the webhook route needs: where to store, the secret, and `schedule(update_id,
    payload)` that hands a newly stored update to the handlers (InboxPoller.schedule)."""

    sessions: async_sessionmaker[AsyncSession]
    secret: str
    clock: Callable[[], datetime]
    schedule: Callable[[int, dict[str, Any]], None]


WEBHOOK = web.AppKey("webhook", Webhook)


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


async def _store(hook: Webhook, update_id: int, payload: dict[str, Any]) -> bool:
    async with hook.sessions() as session:
        new = await inbox.store(session, [(update_id, payload)], now=hook.clock())
    return bool(new)


async def post_update(request: web.Request) -> web.Response:
    hook = request.app[WEBHOOK]
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), hook.secret.encode()):
        log.warning("webhook: a request without the right secret token was refused")
        return _refuse(401, "missing or wrong secret token")
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError):
        return _refuse(400, "the body is not valid JSON")
    update_id = body.get("update_id") if isinstance(body, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return _refuse(400, "the body must be an update: a JSON object with an integer update_id")
    payload = {k: v for k, v in body.items() if k != "update_id"}
    # A stop (or a dropped connection) while the update is written lets the write finish:
    # a commit cut in half leaves its connection to the garbage collector.
    storing = asyncio.ensure_future(_store(hook, update_id, payload))
    try:
        new = await asyncio.shield(storing)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await storing
        raise
    except Exception:
        log.exception("webhook: update %s could not be stored; Telegram will retry", update_id)
        return _refuse(500, "the update could not be stored; send it again")
    if new:
        hook.schedule(update_id, payload)
    else:
        log.info("webhook: update %s was already stored (a retried delivery)", update_id)
    return web.json_response({"ok": True})


def add_webhook(app: web.Application, path: str, hook: Webhook) -> None:
    app[WEBHOOK] = hook
    app.router.add_post(path, post_update)
