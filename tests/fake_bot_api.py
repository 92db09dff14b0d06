"""A local fake of the Telegram Bot API over HTTP, for end-to-end tests and benchmarks.

It speaks the HTTP protocol aiogram's ``AiohttpSession`` uses with
``TelegramAPIServer.from_base(api.url)``: ``POST /bot{token}/{method}`` with form fields
(nested objects such as ``reply_markup`` arrive as JSON strings, uploads as multipart parts
referenced by ``attach://name``), answered with ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": ..., "description": ...}``. What each method answers, and the
state behind it (messages, forum topics, members), is `bot.fake_api.FakeTelegram`'s, shared
with the in-process `bot.local.LocalSession`; this server adds the transport, the update
queue (getUpdates), recorded calls, injected faults, holds, blocked users and rate limits.

    async with FakeBotAPI(token="123456:TEST") as api:
        api.push_update(api.user_message(42, "/start"))
        call = await api.wait_for("sendMessage", lambda c: c.params["chat_id"] == 42)

Forum supergroups: ``api.add_group(-100123)`` registers one; ``createForumTopic`` and
friends keep ``api.topics[chat_id][thread_id]`` (see ``Topic``), and posting into a deleted,
unknown or closed topic fails the way Telegram does.

Webhooks: ``setWebhook``/``deleteWebhook``/``getWebhookInfo`` keep ``api.webhook`` (url,
secret, allowed_updates; getUpdates answers 409 while one is set, as Telegram does), and
``await api.deliver(update)`` posts an update to it with the secret header the way Telegram
does, retrying until a 200. ``api.webhook_targets`` (a list of URLs) stands for a load
balancer: deliveries go round-robin over them, a failed one is retried on the next.

Standalone, for trying the bot by hand: ``python -m tests.fake_bot_api --port 8081``, then
``curl -d user_id=42 -d text=/start http://127.0.0.1:8081/_fake/message`` types a message;
every call the bot makes is logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.fake_api import (
    EDIT_METHODS,
    SEND_METHODS,
    ApiError,
    FakeTelegram,
    JSONDict,
    Topic,
    resolve_attachments,
)

__all__ = [
    "SEND_METHODS",
    "ApiError",
    "Call",
    "FakeBotAPI",
    "Hold",
    "Topic",
    "WebhookInfo",
    "read_params",
]

logger = logging.getLogger(__name__)

# Methods that reach the user, so they fail with 403 once the user has blocked the bot.
TO_CHAT_METHODS = SEND_METHODS | {"sendChatAction"} | EDIT_METHODS
# Methods that post or edit; in a group (negative chat_id) they count for ``group_per_minute``.
GROUP_LIMITED_METHODS = SEND_METHODS | {"createForumTopic", "editForumTopic"} | EDIT_METHODS

# Form fields that are always plain strings, even when they look like numbers or JSON.
STRING_FIELDS = frozenset({
    "text", "caption", "title", "name", "description", "short_description", "query", "url", "data",
    "emoji", "photo", "document", "sticker", "custom_title", "invite_link", "callback_query_id",
    "inline_message_id", "parse_mode", "action", "language_code", "secret_token",
    "message_effect_id", "business_connection_id", "icon_custom_emoji_id", "video", "voice",
    "audio", "animation", "media_group_id",
})  # fmt: skip
WEBHOOK_METHODS = frozenset({"setwebhook", "deletewebhook", "getwebhookinfo"})
_JSON_SCALAR = re.compile(r"-?\d+(\.\d+)?|true|false|null")


@dataclass(frozen=True)
class Call:
    """One request the bot made; ``status``/``result`` are what the fake answered."""

    method: str
    params: JSONDict
    at: float  # FakeBotAPI.clock() (time.monotonic by default) when the request arrived
    status: int = 200
    result: Any = None


@dataclass
class Hold:
    """Calls kept unanswered by ``FakeBotAPI.hold`` until ``release()``."""

    method: str
    chat_id: int | None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first one held
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class WebhookInfo:
    """What the bot asked for with setWebhook; ``url`` is empty when none is set."""

    url: str = ""
    secret: str | None = None
    allowed_updates: list[str] | None = None
    drop_pending_updates: bool = False


@dataclass
class _Fault:
    method: str
    error: ApiError
    remaining: int
    chat_id: int | None


class _Window:
    """Sliding-window limiter: at most ``capacity`` accepted sends per ``span`` seconds."""

    def __init__(self, per_s: float) -> None:
        self.span = max(1.0, 1.0 / per_s)
        self.capacity = max(1, int(per_s * self.span))
        self.stamps: deque[float] = deque()

    def full(self, now: float) -> bool:
        while self.stamps and now - self.stamps[0] >= self.span:
            self.stamps.popleft()
        return len(self.stamps) >= self.capacity


def _decode(key: str, value: str) -> Any:
    if key in STRING_FIELDS or not (value[:1] in "{[" or _JSON_SCALAR.fullmatch(value)):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def read_params(request: web.Request) -> JSONDict:
    """Decode a Bot API request the way Telegram does: query, form or JSON body."""
    if request.content_type == "application/json":
        body = await request.json()
        return dict(body) if isinstance(body, dict) else {}
    params: JSONDict = {}
    files: dict[str, JSONDict] = {}
    form = await request.post()
    for key, value in itertools.chain(request.query.items(), form.items()):
        if isinstance(value, web.FileField):
            with value.file:
                content = value.file.read()
            files[key] = {
                "file_name": value.filename,
                "mime_type": value.content_type,
                "content": content,
            }
        else:
            params[key] = _decode(key, str(value))
    return resolve_attachments(params, files)


class FakeBotAPI(FakeTelegram):
    """The fake server plus helpers for tests (see the module docstring); the state and the
    helpers building updates (``user_message``, ``callback_query``, ...) are FakeTelegram's.

    ``rate_limit_per_s``/``per_chat_per_s`` limit the send methods (sendMessage, sendPhoto, ...)
    over a sliding window of one second (longer for rates below 1/s): sends over the limit get
    429 with retry_after=1 and are counted in ``rejected_429``. ``group_per_minute`` limits
    the calls that post or edit in each group chat (``GROUP_LIMITED_METHODS``, negative
    chat_id) over a sliding window of 60 s: calls over it get 429 with retry_after = seconds
    until the oldest call leaves the window, also counted in ``rejected_429``.
    ``max_poll_timeout`` caps how long getUpdates waits for updates, whatever ``timeout`` the
    bot asks for. ``clock`` (time.monotonic by default) times calls and the rate limits.
    """

    def __init__(
        self,
        token: str = "123456:TEST",  # noqa: S107 - the fake's well-known test token
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_s: float | None = None,
        per_chat_per_s: float | None = None,
        group_per_minute: int | None = None,
        max_poll_timeout: float = 1.0,
    ) -> None:
        self.token, self.host, self.port = token, host, port
        self.max_poll_timeout = max_poll_timeout
        self.group_per_minute = group_per_minute
        self.clock: Callable[[], float] = time.monotonic
        self.url = ""
        super().__init__(
            {
                "id": int(token.split(":")[0]),
                "is_bot": True,
                "first_name": "Test Shop",
                "username": "test_shop_bot",
            }
        )
        self.calls: list[Call] = []
        self.blocked: set[int] = set()
        self.rejected_429 = 0
        self._updates: list[JSONDict] = []
        self._faults: list[_Fault] = []
        self._holds: list[Hold] = []
        self._update_ids = itertools.count(1)
        self._global = _Window(rate_limit_per_s) if rate_limit_per_s else None
        self._per_chat_rate = per_chat_per_s
        self._per_chat: dict[int, _Window] = {}
        self._group_calls: dict[int, deque[float]] = {}
        self._new_update = asyncio.Event()
        self._new_call = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.webhook = WebhookInfo()
        self.webhook_targets: list[str] = []  # where deliver() posts; empty: webhook.url
        self.deliveries = 0  # webhook posts made by deliver(), retries included
        self._next_target = 0
        self._client: ClientSession | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_post("/_fake/message", self._fake_message)
        app.router.add_route("*", "/{path:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        host, port = self._runner.addresses[0][:2]
        self.port, self.url = port, f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
        self._closing = True
        self._new_update.set()
        for hold in self._holds:
            hold.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- helpers for tests -------------------------------------------------------------------
    def push_update(self, update: JSONDict) -> int:
        """Queue an Update for getUpdates; assigns ``update_id`` if absent and returns it."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        else:
            self._update_ids = itertools.count(
                max(next(self._update_ids), update["update_id"] + 1)
            )
        self._updates.append(update)
        self._updates.sort(key=lambda u: int(u["update_id"]))
        self._new_update.set()
        self._new_update = asyncio.Event()
        return int(update["update_id"])

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sent_texts(self, chat_id: int) -> list[str]:
        """Texts (and media captions) successfully sent to ``chat_id``, in order."""
        return [
            str(call.params.get("text", call.params.get("caption")))
            for call in self.calls
            if call.method in SEND_METHODS
            and call.status == 200
            and call.params.get("chat_id") == chat_id
            and ("text" in call.params or "caption" in call.params)
        ]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of this helper's interface
        after: int = 0,
    ) -> Call:
        """The first call of ``method`` (among ``calls[after:]``) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        seen = after
        while True:
            for call in self.calls[seen:]:
                if call.method == method and (predicate is None or predicate(call)):
                    return call
            seen = len(self.calls)
            event = self._new_call
            try:
                await asyncio.wait_for(event.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                lines = [f"  {c.method} {c.status} {c.params}" for c in self.calls[after:][-40:]]
                msg = f"no matching {method} call within {timeout}s; calls seen:\n"
                raise TimeoutError(msg + ("\n".join(lines) or "  (none)")) from None

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (to ``chat_id``, if given) fail."""
        if description is None:
            description = {
                429: f"Too Many Requests: retry after {retry_after}",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: chat not found",
            }.get(error_code, "Internal Server Error")
        error = ApiError(error_code, description, retry_after if error_code == 429 else None)
        self._faults.append(_Fault(method, error, count, chat_id))

    def hold(self, method: str, *, chat_id: int | None = None) -> Hold:
        """Keep calls of ``method`` (to ``chat_id``, if given) waiting for an answer until
        ``release()``: a slow Telegram, or a request in flight when the bot dies. A held call
        is recorded when it is answered, with ``at`` its arrival."""
        hold = Hold(method, chat_id)
        self._holds.append(hold)
        return hold

    async def post_webhook(
        self, update: JSONDict, *, url: str | None = None, secret: str | None = None
    ) -> int:
        """One POST of ``update`` to ``url`` (the next target by default) with ``secret`` (the
        one from setWebhook by default) in Telegram's header; the HTTP status, 0 when the
        connection failed. Assigns ``update_id`` if absent."""
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        if url is None:
            targets = self.webhook_targets or [self.webhook.url]
            url = targets[self._next_target % len(targets)]
            self._next_target += 1
        if not url:
            raise RuntimeError("no webhook: the bot has not called setWebhook")
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=10))
        key = self.webhook.secret if secret is None else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": key} if key else {}
        self.deliveries += 1
        try:
            async with self._client.post(url, json=update, headers=headers) as response:
                await response.read()
                return response.status
        except (ClientError, TimeoutError):
            return 0

    async def deliver(
        self,
        update: JSONDict,
        *,
        timeout: float = 30.0,  # noqa: ASYNC109 - part of this helper's interface
        retry_every: float = 0.2,
    ) -> int:
        """Post ``update`` to the webhook as Telegram does until it is answered 200,
        round-robin over ``webhook_targets``; returns its ``update_id``."""
        deadline = time.monotonic() + timeout
        while True:
            status = await self.post_webhook(update)
            if status == 200:
                return int(update["update_id"])
            if time.monotonic() > deadline:
                raise TimeoutError(f"update {update['update_id']}: no 200 (last: {status})")
            await asyncio.sleep(retry_every)

    def block_user(self, chat_id: int) -> None:
        self.blocked.add(chat_id)

    def unblock_user(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    # -- HTTP --------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        at = self.clock()
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        params = await read_params(request)
        self._holds = [h for h in self._holds if not h.released.is_set()]
        for hold in self._holds:
            if hold.method == method and hold.chat_id in (None, params.get("chat_id")):
                hold.arrived.set()
                await hold.released.wait()
        result: Any = None
        try:
            webhook_method = method.lower() in WEBHOOK_METHODS
            if not self.answers(method) and method.lower() != "getupdates" and not webhook_method:
                raise ApiError(404, "Not Found: method not found")
            self._check_faults(method, params, at)
            if method.lower() == "getupdates":
                if self.webhook.url:
                    raise ApiError(
                        409,
                        "Conflict: can't use getUpdates method while webhook is active; "
                        "use deleteWebhook to delete the webhook first",
                    )
                result = await self._get_updates(params)
            elif webhook_method:
                result = self._webhook_method(method.lower(), params)
            else:
                result = self.call(method, params)
            body: JSONDict = {"ok": True, "result": result}
            status = 200
        except ApiError as error:
            body, status = error.body(), error.code
        self.calls.append(Call(method, params, at, status, result))
        self._new_call.set()
        self._new_call = asyncio.Event()
        if method != "getUpdates":
            logger.info("%s %s -> %s", method, params, status)
        return web.json_response(body, status=status)

    def _check_faults(self, method: str, params: JSONDict, now: float) -> None:
        chat_id = params.get("chat_id")
        for fault in self._faults:
            if fault.method == method and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                raise fault.error
        if method in TO_CHAT_METHODS and chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        windows: list[_Window] = []
        if method in SEND_METHODS:
            windows += [self._global] if self._global else []
            if self._per_chat_rate and isinstance(chat_id, int):
                windows.append(self._per_chat.setdefault(chat_id, _Window(self._per_chat_rate)))
        if any(window.full(now) for window in windows):
            self.rejected_429 += 1
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        group_calls: deque[float] | None = None
        if (
            self.group_per_minute is not None
            and method in GROUP_LIMITED_METHODS
            and isinstance(chat_id, int)
            and chat_id < 0
        ):
            group_calls = self._group_calls.setdefault(chat_id, deque())
            while group_calls and now - group_calls[0] >= 60.0:
                group_calls.popleft()
            if len(group_calls) >= self.group_per_minute:
                self.rejected_429 += 1
                retry_after = max(1, math.ceil(group_calls[0] + 60.0 - now))
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )
        for window in windows:
            window.stamps.append(now)
        if group_calls is not None:
            group_calls.append(now)

    def _webhook_method(self, method: str, p: JSONDict) -> Any:
        if method == "setwebhook":
            url = str(p.get("url", ""))
            if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
                raise ApiError(400, "Bad Request: bad webhook: HTTPS url must be provided")
            allowed = p.get("allowed_updates")
            self.webhook = WebhookInfo(
                url=url,
                secret=str(p["secret_token"]) if p.get("secret_token") else None,
                allowed_updates=list(allowed) if isinstance(allowed, list) else None,
                drop_pending_updates=bool(p.get("drop_pending_updates")),
            )
            return True
        if method == "deletewebhook":
            self.webhook = WebhookInfo()
            return True
        info: JSONDict = {"url": self.webhook.url, "has_custom_certificate": False,
                          "pending_update_count": len(self._updates)}  # fmt: skip
        if self.webhook.allowed_updates is not None:
            info["allowed_updates"] = self.webhook.allowed_updates
        return info

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    async def _fake_message(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        update = self.user_message(int(params["user_id"]), str(params["text"]))
        return web.json_response({"update_id": self.push_update(update)})

    async def _get_updates(self, p: JSONDict) -> list[JSONDict]:
        offset, limit = int(p.get("offset", 0)), min(max(int(p.get("limit", 100)), 1), 100)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        deadline = time.monotonic() + min(float(p.get("timeout", 0)), self.max_poll_timeout)
        while not self._updates and not self._closing and time.monotonic() < deadline:
            event = self._new_update
            try:
                await asyncio.wait_for(event.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        return self._updates[:limit]


async def _serve(port: int, token: str) -> None:
    async with FakeBotAPI(token=token, port=port, max_poll_timeout=25.0) as api:
        print(f"Fake Telegram Bot API on {api.url} (token {token})", flush=True)  # noqa: T201
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake Telegram Bot API server.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
