"""Webhook mode: the secret, the checks, the update stored before the 200, retried deliveries
handled once, claims that keep two replicas off the same update, the settings, and
`python main.py run` in webhook mode against the HTTP fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.app import create_bot, serve_webhook
from bot.config import ConfigError, load_settings
from bot.http import HttpServer, create_http_app
from bot.local import LocalSession
from bot.polling import InboxPoller
from bot.webhook import SECRET_HEADER, Webhook, add_webhook
from storage import inbox
from storage.models import InboxUpdate
from tests.conftest import T0, Clock
from tests.db_helpers import count, rows
from tests.fake_bot_api import FakeBotAPI, WebhookInfo

ROOT = Path(__file__).resolve().parent.parent
SECRET = "w3bh00k_secret-for-tests"
PATH = "/tg/hook"
LEASE = timedelta(minutes=2)


def update(update_id: int, chat: int = 10, text: str = "hi") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "C"},
            "text": text,
        },
    }


class Handled:
    """A dispatcher whose one handler records texts; `gate` holds it until set."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.dp = Dispatcher()
        router = Router()
        router.message()(self._record)
        self.dp.include_router(router)

    async def _record(self, message: Message) -> None:
        await self.gate.wait()
        self.texts.append(message.text or "")


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    b = create_bot(load_settings(_env_file=None, bot_token="123456:TEST"), LocalSession())
    yield b
    await b.session.close()


def poller(
    handled: Handled, bot: Bot, sf: async_sessionmaker[AsyncSession], clock: Clock
) -> InboxPoller:
    return InboxPoller(handled.dp, bot, sf, clock=clock, lease=LEASE)


async def serve(sf: async_sessionmaker[AsyncSession], schedule: Any) -> TestClient[Any, Any]:
    app = create_http_app()
    add_webhook(
        app, PATH, Webhook(sessions=sf, secret=SECRET, clock=lambda: T0, schedule=schedule)
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_a_request_without_the_right_secret_is_refused_and_not_stored(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    scheduled: list[int] = []
    client = await serve(session_factory, lambda uid, _: scheduled.append(uid))
    try:
        for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"},
                        {SECRET_HEADER: ""}):  # fmt: skip
            r = await client.post(PATH, json=update(1), headers=headers)
            assert r.status == 401
        assert (await client.get(PATH)).status == 405
    finally:
        await client.close()
    assert scheduled == []
    assert await count(session, InboxUpdate) == 0


async def test_a_body_that_is_not_an_update_is_400(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    scheduled: list[int] = []
    client = await serve(session_factory, lambda uid, _: scheduled.append(uid))
    ok = {SECRET_HEADER: SECRET}
    try:
        for body in (b"not json", b"[1, 2]", b"{}", b'{"update_id": "7"}',
                     b'{"update_id": true}', b'{"update_id": 1.5}', b'"x"'):  # fmt: skip
            r = await client.post(PATH, data=body, headers=ok)
            assert r.status == 400, body
            assert "error" in await r.json()
    finally:
        await client.close()
    assert scheduled == []
    assert await count(session, InboxUpdate) == 0


async def test_an_update_is_stored_before_the_200_and_a_retry_is_handled_once(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession, bot: Bot
) -> None:
    handled = Handled()
    handled.gate.clear()  # handling is slow: it has not even started when the 200 comes
    p = poller(handled, bot, session_factory, Clock())
    client = await serve(session_factory, p.schedule)
    ok = {SECRET_HEADER: SECRET}
    try:
        r = await client.post(PATH, json=update(5, text="运费多少"), headers=ok)
        assert r.status == 200
        (row,) = await rows(session, InboxUpdate)
        assert row.update_id == 5
        assert row.status in ("pending", "handling")
        assert row.payload is not None
        assert row.payload["message"]["text"] == "运费多少"
        assert handled.texts == []
        again = await client.post(PATH, json=update(5, text="运费多少"), headers=ok)
        assert again.status == 200  # Telegram's retry: stored already, not handled again
        handled.gate.set()
        await p.drain()
        third = await client.post(PATH, json=update(5, text="运费多少"), headers=ok)
        assert third.status == 200
        await p.drain()
    finally:
        await client.close()
    assert handled.texts == ["运费多少"]
    (row,) = await rows(session, InboxUpdate)
    assert (row.status, row.payload) == ("done", None)


async def test_a_database_that_fails_is_500_so_telegram_retries(tmp_path: Path) -> None:
    broken: AsyncEngine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    scheduled: list[int] = []
    client = await serve(async_sessionmaker(broken), lambda uid, _: scheduled.append(uid))
    try:
        r = await client.post(PATH, json=update(1), headers={SECRET_HEADER: SECRET})
        assert r.status == 500
    finally:
        await client.close()
        await broken.dispose()
    assert scheduled == []


async def test_only_one_of_two_claims_on_an_update_wins(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as s:
        await inbox.store(s, [(1, update(1)["message"])], now=T0)

    async def claim(at: timedelta) -> bool:
        async with session_factory() as s:
            return await inbox.claim(s, 1, now=T0 + at, claimed_before=T0 + at - LEASE)

    assert sorted(await asyncio.gather(claim(timedelta()), claim(timedelta()))) == [False, True]
    assert not await claim(timedelta(minutes=1))  # its owner may still be at it
    async with session_factory() as s:
        assert await inbox.pending(s, claimed_before=T0 + timedelta(minutes=1) - LEASE) == []
        assert [u for u, _ in await inbox.pending(s, claimed_before=T0 + LEASE)] == [1]
    assert await claim(LEASE * 2)  # a claim past the lease: its owner died
    async with session_factory() as s:
        assert await inbox.finish(s, 1, now=T0 + LEASE * 2, ok=True) == "done"
    assert not await claim(LEASE * 10)  # finished: never again


async def test_two_replicas_replaying_the_same_inbox_handle_each_update_once(
    session_factory: async_sessionmaker[AsyncSession], bot: Bot
) -> None:
    """A replica stored updates and died; two replicas start at once and both replay them."""
    async with session_factory() as s:
        batch = [(i, update(i, chat=10 + i % 4, text=f"m{i}")) for i in range(1, 41)]
        await inbox.store(s, [(u, {"message": b["message"]}) for u, b in batch], now=T0)
    clock = Clock(T0 + timedelta(seconds=1))
    one, two = Handled(), Handled()
    first, second = (
        poller(one, bot, session_factory, clock),
        poller(two, bot, session_factory, clock),
    )
    assert list(await asyncio.gather(first.replay(), second.replay())) == [40, 40]
    assert sorted(one.texts + two.texts, key=lambda t: int(t[1:])) == [
        f"m{i}" for i in range(1, 41)
    ]
    async with session_factory() as s:
        assert {r.status for r in await rows(s, InboxUpdate)} == {"done"}


async def test_a_sweep_handles_what_a_dead_replica_left(
    session_factory: async_sessionmaker[AsyncSession], bot: Bot
) -> None:
    """Stored (200 sent) then the replica died: pending, or claimed and never finished."""
    async with session_factory() as s:
        left = [(i, {"message": update(i, text=t)["message"]}) for i, t in ((1, "a"), (2, "b"))]
        await inbox.store(s, left, now=T0)
        assert await inbox.claim(s, 2, now=T0, claimed_before=T0 - LEASE)
    clock = Clock(T0 + timedelta(seconds=30))
    handled = Handled()
    p = poller(handled, bot, session_factory, clock)
    stop = asyncio.Event()
    sweeping = asyncio.create_task(p.sweep_until(stop, 0.05))
    await asyncio.sleep(0.2)
    assert handled.texts == []  # still within the lease: the owner may be alive
    clock.advance(minutes=3)
    for _ in range(100):
        if len(handled.texts) == 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await sweeping
    await p.drain()
    assert sorted(handled.texts) == ["a", "b"]


async def test_a_webhook_telegram_refuses_is_a_config_error_naming_the_url(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with FakeBotAPI(token="123456:TEST") as telegram:
        telegram.fail_next("setWebhook", error_code=400, description="Bad Request: bad webhook")
        settings = load_settings(
            _env_file=None,
            bot_token="123456:TEST",
            telegram_api_url=telegram.url,
            webhook_url="https://shop.example/tg",
            webhook_secret=SECRET,
        )
        bot = create_bot(settings)
        handled = Handled()
        p = poller(handled, bot, session_factory, Clock())
        http = HttpServer(create_http_app(), "127.0.0.1", 0)
        await http.start()
        try:
            refused = r"WEBHOOK_URL=https://shop.example/tg: Telegram refused the webhook \(Bad"
            with pytest.raises(ConfigError, match=refused):
                await serve_webhook(settings, bot, handled.dp, p, http, asyncio.Event())
        finally:
            await http.stop()
            await bot.session.close()


def test_webhook_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET: required with WEBHOOK_URL"):
        load_settings(_env_file=None, webhook_url="https://shop.example/tg/webhook")
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET: must be 1 to 256 characters"):
        load_settings(
            _env_file=None, webhook_url="https://shop.example/tg", webhook_secret="no spaces!"
        )
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        load_settings(_env_file=None, webhook_secret="x" * 257)
    with pytest.raises(ConfigError, match="WEBHOOK_URL: 'http://shop.example/tg' is not an https"):
        load_settings(_env_file=None, webhook_url="http://shop.example/tg", webhook_secret=SECRET)
    with pytest.raises(ConfigError, match="WEBHOOK_URL: .* is not an https"):
        load_settings(_env_file=None, webhook_url="shop.example/tg", webhook_secret=SECRET)
    with pytest.raises(ConfigError, match="WEBHOOK_URL: must not have a"):
        load_settings(_env_file=None, webhook_url="https://a.example/x?y=1", webhook_secret=SECRET)
    s = load_settings(
        _env_file=None, webhook_url=" https://shop.example/tg/webhook ", webhook_secret=SECRET
    )
    assert (s.webhook_url, s.webhook_path) == ("https://shop.example/tg/webhook", "/tg/webhook")
    assert SECRET not in repr(s)
    local = load_settings(_env_file=None, webhook_url="http://127.0.0.1:9/h", webhook_secret="a")
    assert local.webhook_path == "/h"
    assert (
        load_settings(
            _env_file=None, webhook_url="https://shop.example", webhook_secret="a"
        ).webhook_path
        == "/"
    )
    assert load_settings(_env_file=None, webhook_url=" ").webhook_url is None


async def test_run_in_webhook_mode_answers_through_the_webhook_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("BOT_TOKEN", "DATABASE_URL", "ORDERS_API_TOKEN")}  # fmt: skip
    url = f"http://127.0.0.1:{port}{PATH}"
    async with FakeBotAPI(token="123456:TEST") as telegram:
        env.update(
            BOT_TOKEN="123456:TEST",
            TELEGRAM_API_URL=telegram.url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            FAQ_SEMANTIC="off",
            HTTP_PORT=str(port),
            WEBHOOK_URL=url,
            WEBHOOK_SECRET=SECRET,
        )
        slow = telegram.hold("sendMessage", chat_id=43)  # a slow Telegram for customer 43
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "main.py"), "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        log: list[str] = []
        try:
            async with asyncio.timeout(60):
                while "webhook set" not in "".join(log):
                    line = (await proc.stderr.readline()).decode()
                    assert line, "".join(log)  # the process ended before serving
                    log.append(line)
            assert f"webhook: POST {url}" in "".join(log)
            assert telegram.calls_of("deleteWebhook") == []
            assert telegram.calls_of("getUpdates") == []
            assert telegram.webhook.url == url
            assert telegram.webhook.secret == SECRET
            assert telegram.webhook.allowed_updates is not None
            assert "message" in telegram.webhook.allowed_updates
            assert "callback_query" in telegram.webhook.allowed_updates
            assert not telegram.webhook.drop_pending_updates
            question = telegram.user_message(42, "运费多少", language_code="zh-hans")
            assert await telegram.post_webhook(dict(question), secret="wrong") == 401
            assert await telegram.post_webhook(dict(question), secret="") == 401
            await telegram.deliver(question)
            answer = await telegram.wait_for("sendMessage", lambda c: c.params["chat_id"] == 42)
            assert "运费" in str(answer.params["text"]) or "包邮" in str(answer.params["text"])
            await telegram.deliver(question)  # delivered again: stored already, answered once
            async with ClientSession() as http:  # no ORDERS_API_TOKEN: no orders API
                r = await http.post(f"http://127.0.0.1:{port}/api/orders", json={})
                assert r.status in (404, 405)
            # SIGTERM with an update in hand: its answer is on its way to a slow Telegram.
            await telegram.deliver(telegram.user_message(43, "运费多少", language_code="zh-hans"))
            await asyncio.wait_for(slow.arrived.wait(), 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            slow.release()
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, "".join(log) + err.decode()
        assert "Traceback" not in err.decode(), err.decode()
        assert len(telegram.sent_texts(42)) == 1
        assert len(telegram.sent_texts(43)) == 1  # the update in hand was finished
    with sqlite3.connect(tmp_path / "bot.db") as conn:
        statuses = conn.execute("SELECT update_id, status FROM inbox_updates").fetchall()
    assert len(statuses) == 2
    assert {status for _, status in statuses} == {"done"}
    with contextlib.closing(socket.socket()) as s:  # nobody listens there any more
        # (SO_REUSEADDR: the server closed the fake's kept-alive connections, which wait
        # in TIME_WAIT; a listener would still refuse the bind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


async def test_deliver_retries_on_the_next_target_until_a_200() -> None:
    """The fake as a load balancer: round-robin over the replicas, a failed post tried again."""
    got: list[tuple[str, int, str]] = []

    def replica(name: str, status: int) -> web.Application:
        async def take(request: web.Request) -> web.Response:
            body = await request.json()
            got.append((name, body["update_id"], request.headers.get(SECRET_HEADER, "")))
            return web.Response(status=status)

        app = web.Application()
        app.router.add_post(PATH, take)
        return app

    async with (
        FakeBotAPI(token="123456:TEST") as telegram,
        TestServer(replica("a", 200)) as a,
        TestServer(replica("down", 503)) as down,
    ):
        telegram.webhook = WebhookInfo(url="https://shop.example/tg/hook", secret=SECRET)
        telegram.webhook_targets = [str(a.make_url(PATH)), str(down.make_url(PATH))]
        first = await telegram.deliver({"message": {"text": "x"}}, retry_every=0.01)
        second = await telegram.deliver({"message": {"text": "y"}}, retry_every=0.01)
    assert got == [("a", first, SECRET), ("down", second, SECRET), ("a", second, SECRET)]
    assert telegram.deliveries == 3


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
