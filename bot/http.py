"""The bot's HTTP server: one aiohttp application that `python main.py run` serves next to
polling. Routes are added by area (`add_orders_api`); later ones (webhook, health, metrics)
join the same application and the same `HttpServer`.

POST /api/orders (public contract, docs/orders.md): one order object or a list of them, the
CSV's fields as JSON; `Authorization: Bearer <ORDERS_API_TOKEN>`. Everything is checked
before anything is written: a list with one bad order is refused whole.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orders.intake import upsert_orders
from orders.records import OrderRecord, parse_object

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024  # bytes; a larger body is 413
MAX_ERRORS = 100  # field errors listed in a 400


@dataclass(frozen=True, slots=True)
class OrdersApi:
    """What POST /api/orders needs. `wake`: called after an upsert queued customer updates
    (the outbox sender's wake-up), so they go out now rather than at its next poll."""

    sessions: async_sessionmaker[AsyncSession]
    token: str
    tz: tzinfo
    clock: Callable[[], datetime]
    wake: Callable[[], None] | None = None


ORDERS_API = web.AppKey("orders_api", OrdersApi)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _authorized(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Constant time: the comparison says nothing about how much of the token was right.
    return hmac.compare_digest(given.strip().encode(), token.encode())


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


async def post_orders(request: web.Request) -> web.Response:
    api = request.app[ORDERS_API]
    if not _authorized(request, api.token):
        return web.json_response(
            {"error": "missing or wrong token (Authorization: Bearer <ORDERS_API_TOKEN>)"},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        raw = await request.read()  # 413 past the application's client_max_size
    except web.HTTPRequestEntityTooLarge:
        limit = MAX_BODY // (1024 * 1024)
        return _error(413, f"the body is larger than {limit} MB; send fewer orders at a time")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        return _error(400, f"the body is not valid JSON ({exc})")
    single = isinstance(body, dict)
    if not single and not isinstance(body, list):
        return _error(400, "the body must be an order object or a list of them")
    items: list[Any] = [body] if single else body
    records: list[OrderRecord] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        parsed = parse_object(item, api.tz)
        if isinstance(parsed, OrderRecord):
            records.append(parsed)
            continue
        for e in parsed:
            where = {} if single else {"index": index}
            errors.append({**where, "field": e.field, "message": e.message})
    if errors:
        if single:
            return _error(400, "the order has bad fields; nothing was written", errors=errors)
        bad = len({e["index"] for e in errors})
        listed = "" if len(errors) <= MAX_ERRORS else f" (the first {MAX_ERRORS} errors listed)"
        return _error(
            400,
            f"{bad} of {len(items)} orders have bad fields; nothing was written{listed}",
            errors=errors[:MAX_ERRORS],
        )
    try:
        result = await upsert_orders(api.sessions, records, now=api.clock())
    except SQLAlchemyError:
        log.exception("POST /api/orders: the database failed")
        return _error(503, "the database is not available; send the orders again later")
    if result.notices and api.wake is not None:
        api.wake()
    log.info(
        "POST /api/orders: %d created, %d updated, %d unchanged, %d customer updates",
        result.created,
        result.updated,
        result.unchanged,
        result.notices,
    )
    return web.json_response(
        {"created": result.created, "updated": result.updated, "unchanged": result.unchanged}
    )


def add_orders_api(app: web.Application, api: OrdersApi) -> None:
    app[ORDERS_API] = api
    app.router.add_post("/api/orders", post_orders)


def create_http_app() -> web.Application:
    """The application every route is added to; bodies are capped at MAX_BODY."""
    return web.Application(client_max_size=MAX_BODY)


class HttpServer:
    """Serves an application on host:port until `stop`. A port that cannot be bound is an
    OSError from `start` (the caller names the setting)."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.runner = web.AppRunner(app, access_log=None)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await self.runner.cleanup()
            raise
        if self.port == 0:  # an ephemeral port (tests): say which one
            self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        await self.runner.cleanup()
