"""POST /api/orders through a real HTTP server: the token, the checks before any write, the
counts, idempotent re-posts, the body limit, and the start in `run`'s way (start_http)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientConnectionError, ClientSession
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App, start_http
from bot.config import ConfigError, Settings, load_settings
from bot.http import MAX_BODY, OrdersApi, add_orders_api, create_http_app
from storage.models import Order, OutboxMessage
from tests.conftest import T0
from tests.db_helpers import count, rows
from tests.fake_bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parent.parent

TOKEN = "s3cret-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def order(order_id: str = "W1", **fields: Any) -> dict[str, Any]:
    return {"order_id": order_id, "status": "paid", "amount": "199.00", "currency": "CNY",
            "telegram_id": 42, **fields}  # fmt: skip


class Wakes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


@pytest.fixture
def wakes() -> Wakes:
    return Wakes()


@pytest.fixture
async def client(
    session_factory: async_sessionmaker[AsyncSession], wakes: Wakes
) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_http_app()
    api = OrdersApi(session_factory, TOKEN, ZoneInfo("Asia/Shanghai"), lambda: T0, wakes)
    add_orders_api(app, api)
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_a_posted_order_is_created_then_unchanged_then_updated(
    client: TestClient[Any, Any], session: AsyncSession, wakes: Wakes
) -> None:
    first = await client.post("/api/orders", json=order(), headers=AUTH)
    assert first.status == 200
    assert await first.json() == {"created": 1, "updated": 0, "unchanged": 0}
    again = await client.post("/api/orders", json=[order()], headers=AUTH)
    assert await again.json() == {"created": 0, "updated": 0, "unchanged": 1}
    shipped = order(status="shipped", shipped_at="2026-11-20T09:00:00", tracking_number="SF9")
    moved = await client.post("/api/orders", json=[shipped, order("W2")], headers=AUTH)
    assert await moved.json() == {"created": 1, "updated": 1, "unchanged": 0}
    (w1, w2) = await rows(session, Order)
    assert (w1.status, w1.tracking_number, w1.shipped_at) == (
        "shipped",
        "SF9",
        T0 - timedelta(hours=1),
    )
    assert w2.order_id == "W2"
    (notice,) = await rows(session, OutboxMessage)
    assert (notice.chat_id, notice.payload) == (42, {"order_id": "W1", "event": "shipped"})
    assert wakes.count == 1  # only the post that queued something woke the sender
    for _ in range(2):  # posted again: nothing new, nobody told twice
        r = await client.post("/api/orders", json=[shipped, order("W2")], headers=AUTH)
        assert await r.json() == {"created": 0, "updated": 0, "unchanged": 2}
    assert await count(session, OutboxMessage) == 1 and wakes.count == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-of-the-same-kind"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
    ],
)
async def test_a_missing_or_wrong_token_is_401_and_changes_nothing(
    client: TestClient[Any, Any], session: AsyncSession, headers: dict[str, str]
) -> None:
    r = await client.post("/api/orders", json=order(status="shipped"), headers=headers)
    assert r.status == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert "token" in (await r.json())["error"]
    assert await count(session, Order) == 0 and await count(session, OutboxMessage) == 0


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "the body is not valid JSON"),
        (b"", "the body is not valid JSON"),
        (b'{"order_id": "W1", "amount": NaN}', "the body is not valid JSON (NaN is not a JSON"),
        (b'"W1"', "the body must be an order object or a list of them"),
        (b"42", "the body must be an order object or a list of them"),
        (b"\xff\xfe{", "the body is not valid JSON"),
    ],
)
async def test_a_malformed_body_is_400_and_changes_nothing(
    client: TestClient[Any, Any], session: AsyncSession, body: bytes, error: str
) -> None:
    r = await client.post("/api/orders", data=body, headers=AUTH)
    assert r.status == 400
    assert (await r.json())["error"].startswith(error)
    assert await count(session, Order) == 0


async def test_a_bad_order_is_400_naming_its_fields(
    client: TestClient[Any, Any], session: AsyncSession
) -> None:
    r = await client.post("/api/orders", json=order(status="sent", amount=-1), headers=AUTH)
    assert r.status == 400
    assert await r.json() == {
        "error": "the order has bad fields; nothing was written",
        "errors": [
            {
                "field": "status",
                "message": "'sent' is not one of pending, paid, shipped, in_transit, "
                "delivered, cancelled, returned, refunded",
            },
            {"field": "amount", "message": "'-1' is negative"},
        ],
    }
    assert await count(session, Order) == 0


async def test_a_list_with_one_bad_order_is_refused_whole(
    client: TestClient[Any, Any], session: AsyncSession
) -> None:
    good = [order(f"L{i}", status="shipped") for i in range(3)]
    bad = order("L9", currency="yuan", colour="red")
    r = await client.post("/api/orders", json=[*good, bad, "L10"], headers=AUTH)
    assert r.status == 400
    assert await r.json() == {
        "error": "2 of 5 orders have bad fields; nothing was written",
        "errors": [
            {"index": 3, "field": "colour", "message": "unknown field"},
            {"index": 3, "field": "currency",
             "message": "'yuan' is not a currency code (three letters, e.g. CNY)"},
            {"index": 4, "field": "order", "message": "must be an object, not text"},
        ],
    }  # fmt: skip
    assert await count(session, Order) == 0 and await count(session, OutboxMessage) == 0


async def test_a_long_list_of_bad_orders_lists_the_first_errors(
    client: TestClient[Any, Any], session: AsyncSession
) -> None:
    r = await client.post("/api/orders", json=[order(f"E{i}", status="?") for i in range(150)]
                          + [order("OK")], headers=AUTH)  # fmt: skip
    assert r.status == 400
    said = await r.json()
    assert said["error"] == (
        "150 of 151 orders have bad fields; nothing was written (the first 100 errors listed)"
    )
    assert [e["index"] for e in said["errors"]] == list(range(100))
    assert await count(session, Order) == 0


async def test_a_body_over_the_limit_is_413(
    client: TestClient[Any, Any], session: AsyncSession
) -> None:
    filler = "x" * 1000
    many = [order(f"B{i}", items=filler) for i in range(MAX_BODY // 1000 + 10)]
    body = json.dumps(many).encode()
    assert len(body) > MAX_BODY
    r = await client.post("/api/orders", data=io.BytesIO(body), headers=AUTH)
    assert r.status == 413
    assert "larger than 5 MB" in (await r.json())["error"]
    assert await count(session, Order) == 0
    # Just under the limit is fine.
    fits = json.dumps([order(f"B{i}", items=filler) for i in range(4000)]).encode()
    assert len(fits) < MAX_BODY
    ok = await client.post("/api/orders", data=io.BytesIO(fits), headers=AUTH)
    assert await ok.json() == {"created": 4000, "updated": 0, "unchanged": 0}


def test_token_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="ORDERS_API_TOKEN: too short .7 characters"):
        load_settings(orders_api_token="short12")
    with pytest.raises(ConfigError, match="ORDERS_API_TOKEN: must be printable ASCII"):
        load_settings(orders_api_token="a token with spaces in it")
    with pytest.raises(ConfigError, match="HTTP_PORT"):
        load_settings(http_port=70000)
    assert load_settings(orders_api_token="  ").orders_api_token is None
    s = load_settings(orders_api_token=f" {TOKEN} ")
    assert s.orders_api_token is not None and s.orders_api_token.get_secret_value() == TOKEN
    assert (s.http_host, s.http_port) == ("127.0.0.1", 8080)
    assert TOKEN not in repr(s)


def _app(settings: Settings, session_factory: async_sessionmaker[AsyncSession]) -> App:
    """An App with what start_http reads (settings, sessions, clock); no FAQ, no engine."""
    unused: Any = None
    return App(
        settings=settings, engine=unused, session_factory=session_factory, kb=unused,
        matcher=unused, catalogue=unused, desk=unused, community=unused, campaigns=unused,
        clock=lambda: T0,
    )  # fmt: skip


async def test_run_serves_the_api_only_with_a_token(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    plain = await start_http(_app(load_settings(http_port=0), session_factory))
    assert plain is not None
    try:
        async with ClientSession() as http:
            r = await http.post(f"{plain.url}/api/orders", json=order(), headers=AUTH)
            assert r.status == 404  # the probes and metrics only (tests/test_ops.py)
            assert (await http.get(f"{plain.url}/healthz")).status == 200
    finally:
        await plain.stop()
    settings = load_settings(orders_api_token=TOKEN, http_port=0)
    server = await start_http(_app(settings, session_factory))
    assert server is not None
    try:
        async with ClientSession() as http:
            r = await http.post(f"{server.url}/api/orders", json=order(), headers=AUTH)
            assert r.status == 200
        busy = load_settings(orders_api_token=TOKEN, http_port=server.port)
        with pytest.raises(ConfigError, match="HTTP_HOST / HTTP_PORT: cannot listen on"):
            await start_http(_app(busy, session_factory))
    finally:
        await server.stop()
    assert await count(session, Order) == 1
    async with ClientSession() as http:
        with pytest.raises(ClientConnectionError):  # stopped: the port is closed
            await http.post(f"{server.url}/api/orders", json=order(), headers=AUTH)


async def test_run_serves_the_api_with_the_bot_and_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    db = tmp_path / "bot.db"
    async with FakeBotAPI(token="123456:TEST") as telegram:
        env.update(
            BOT_TOKEN="123456:TEST",
            TELEGRAM_API_URL=telegram.url,
            DATABASE_URL=f"sqlite+aiosqlite:///{db}",
            FAQ_SEMANTIC="off",
            ORDERS_API_TOKEN=TOKEN,
            HTTP_PORT=str(port),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "main.py"), "run", cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        log: list[str] = []
        try:
            async with asyncio.timeout(60):
                while "orders API: POST" not in "".join(log):
                    line = (await proc.stderr.readline()).decode()
                    assert line, "".join(log)  # the process ended before serving
                    log.append(line)
            assert f"orders API: POST http://127.0.0.1:{port}/api/orders" in log[-1]
            async with ClientSession() as http:
                r = await http.post(
                    f"http://127.0.0.1:{port}/api/orders", json=order(), headers=AUTH
                )
                assert await r.json() == {"created": 1, "updated": 0, "unchanged": 0}
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, "".join(log) + err.decode()
        assert "Traceback" not in err.decode()
    with sqlite3.connect(db) as conn:
        assert list(conn.execute("SELECT order_id FROM orders")) == [("W1",)]
    with contextlib.closing(socket.socket()) as s:  # the port was let go
        s.bind(("127.0.0.1", port))


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
