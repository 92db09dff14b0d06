"""End to end: orders and after-sales through `python main.py run`, against the fake Bot API.

Orders come in with `python main.py orders import` (a separate process, the same database);
the bot then answers "where is my order" to the customer and to nobody else, takes a
delivery from `POST /api/orders` (its HTTP server, an ephemeral port) and tells the customer
once, and turns a `/return` dialogue into a case card in the support group. Runs on SQLite,
and on PostgreSQL too with --postgres / TEST_POSTGRES_URL.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orders import notices
from tests.e2e import test_support_desk as desk_e2e
from tests.e2e.test_support_desk import (
    GROUP,
    ROOT,
    STEP,
    BotProcess,
    _ok,
    _text_to,
)
from tests.e2e.test_support_desk import api as api  # the fixtures
from tests.e2e.test_support_desk import bot as bot
from tests.e2e.test_support_desk import database_url as database_url
from tests.fake_bot_api import Call, FakeBotAPI

CUSTOMER = 555_000_333
STRANGER = 555_000_444
NEIGHBOUR = 555_000_555  # has an order of their own in the file
ORDER = "880123"
TRACKING = "SF7700880123"
API_TOKEN = "e2e-orders-api-token-0123456789"
HEADER = (
    "order_id,telegram_id,phone,status,carrier,tracking_number,items,amount,currency,"
    "paid_at,shipped_at,delivered_at,eta"
)


@pytest.fixture(autouse=True)
def _orders_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot serves the orders API on a free port of this machine (HTTP_PORT=0: the OS
    picks one, and the log says which)."""
    monkeypatch.setenv("ORDERS_API_TOKEN", API_TOKEN)
    monkeypatch.setenv("HTTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HTTP_PORT", "0")
    monkeypatch.setenv("TIMEZONE", "Asia/Shanghai")


def _orders_csv(now: datetime) -> str:
    day = timedelta(days=1)
    paid, eta = (now - 2 * day).strftime("%Y-%m-%d %H:%M"), (now + 3 * day).date().isoformat()
    long_ago = (now - 40 * day).date().isoformat()
    rows = [
        # shipped without a time: shipping counts as now, so the customer is told
        f'{ORDER},{CUSTOMER},,shipped,SF Express,{TRACKING},"T-shirt x2; Mug x1",199.00,CNY,'
        f"{paid},,,{eta}",
        f"880124,{CUSTOMER},,paid,,,Hoodie x1,299,CNY,{paid},,,",
        f"770001,{NEIGHBOUR},,delivered,ZTO,7312004455,保温杯 x1,89.90,CNY,"
        f"{long_ago},{long_ago},{long_ago},",
        f"SO-1002,,+86 138 0013 8000,paid,,,Socks x3,39,CNY,{paid},,,",
    ]
    return "\n".join([HEADER, *rows]) + "\n"


async def _import(csv_file: Path, api: FakeBotAPI, database_url: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "main.py"),
        "orders",
        "import",
        str(csv_file),
        cwd=csv_file.parent,
        env=desk_e2e._env(api.url, database_url),  # noqa: SLF001 - the bot's own settings
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return int(proc.returncode or 0), out.decode(), err.decode()


def _api_url(bot: BotProcess) -> str:
    """Where the bot says it serves the orders API (logged before it starts polling)."""
    found = re.search(r"orders API: POST (http://\S+)", bot.logs())
    assert found is not None, bot.logs()
    return found.group(1)


def _button(call: Call, label: str) -> str:
    """The callback data of the inline button whose text holds ``label``."""
    markup = call.params.get("reply_markup") or {}
    buttons = [b for row in markup.get("inline_keyboard", []) for b in row]
    for button in buttons:
        if label in button["text"]:
            return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {buttons}")


def _texts_after(api: FakeBotAPI, chat_id: int, mark: int) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in api.calls[mark:]
        if c.method == "sendMessage" and c.status == 200 and c.params.get("chat_id") == chat_id
    ]


async def _ask(api: FakeBotAPI, user_id: int, words: str, answer: str) -> Call:
    """``user_id`` writes ``words``; the bot's reply holding ``answer``."""
    mark = len(api.calls)
    api.push_update(api.user_message(user_id, words, first_name="Ann"))
    return await api.wait_for(
        "sendMessage", _ok(_text_to(user_id, answer)), timeout=STEP, after=mark
    )


async def _tap(api: FakeBotAPI, on: Call, label: str, answer: str) -> Call:
    """The customer taps the button ``label`` of ``on``; the bot's next message, holding
    ``answer``."""
    mark = len(api.calls)
    api.push_update(api.callback_query(CUSTOMER, _button(on, label), on.result))
    await api.wait_for("answerCallbackQuery", timeout=STEP, after=mark)
    return await api.wait_for(
        "sendMessage", _ok(_text_to(CUSTOMER, answer)), timeout=STEP, after=mark
    )


async def _settled(bot: BotProcess) -> list[tuple[str, int]]:
    """(status, attempts) of the order updates in the outbox, once none is on its way."""
    for _ in range(300):
        rows = await bot.outbox(notices.KIND)
        if not any(status in ("pending", "sending") for status, _ in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"order updates still on their way: {rows}")


async def _post(
    http: aiohttp.ClientSession, url: str, body: Any, token: str = API_TOKEN
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(url, json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_orders_from_import_to_a_return_case(
    api: FakeBotAPI, bot: BotProcess, database_url: str, tmp_path: Path
) -> None:
    # 1. The shop's export, imported by the CLI into the bot's database.
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text(_orders_csv(datetime.now(UTC)), encoding="utf-8")
    code, out, err = await _import(csv_file, api, database_url)
    assert code == 0, (out, err)
    assert "4 orders loaded: 4 created, 0 updated, 0 unchanged" in out, out
    assert "1 customer updates queued" in out, out

    # 2. The bot runs: the imported shipment goes out; "where is my order" for its owner only.
    await bot.start()
    url = _api_url(bot)
    # (in the shop's default language: the customer has not written yet)
    shipped = await api.wait_for("sendMessage", _ok(_text_to(CUSTOMER, TRACKING)), timeout=STEP)
    assert ORDER in shipped.params["text"]

    card = await _ask(api, CUSTOMER, f"where is my order {ORDER}", TRACKING)
    assert "SF Express" in card.params["text"]

    mark = len(api.calls)
    await _ask(api, STRANGER, f"where is my order {ORDER}", "can't find")
    replies = _texts_after(api, STRANGER, mark)
    assert replies and not [r for r in replies if TRACKING in r or "SF Express" in r], replies

    # 3. The shop's platform reports the delivery: one message, however often it is posted.
    delivered = {
        "order_id": ORDER,
        "telegram_id": CUSTOMER,
        "status": "delivered",
        "carrier": "SF Express",
        "tracking_number": TRACKING,
        "items": "T-shirt x2; Mug x1",
        "amount": "199.00",
        "currency": "CNY",
        "delivered_at": datetime.now(UTC).isoformat(),
    }
    mark = len(api.calls)
    async with aiohttp.ClientSession() as http:
        status, body = await _post(http, url, delivered, token=API_TOKEN[:-1] + "x")
        assert status == 401, body
        assert await _post(http, url, delivered) == (
            200,
            {"created": 0, "updated": 1, "unchanged": 0},
        )
        notice = await api.wait_for(
            "sendMessage", _ok(_text_to(CUSTOMER, "has been delivered")), timeout=STEP
        )
        assert _button(notice, "Return / exchange") == f"rs:{ORDER}"
        assert await _post(http, url, delivered) == (
            200,
            {"created": 0, "updated": 0, "unchanged": 1},
        )
    # shipped (from the import) and delivered, each sent once
    assert await _settled(bot) == [("sent", 1), ("sent", 1)]
    told = _texts_after(api, CUSTOMER, mark)
    assert len(told) == 1 and "has been delivered" in told[0], told

    # 4. The customer returns the T-shirts: a size problem, money back.
    mark = len(api.calls)
    orders = await _ask(api, CUSTOMER, "/return", "Which order")
    items = await _tap(api, orders, ORDER, "What are you returning?")
    reason = await _tap(api, items, "All items of the order", "Why are you returning it?")
    resolution = await _tap(api, reason, "Wrong size", "money back, or an exchange?")
    summary = await _tap(api, resolution, "Refund", "Please check your request")
    assert ORDER in summary.params["text"]
    await _tap(api, summary, "Send the request", "Your return request #")

    case = await api.wait_for("sendMessage", _ok(_text_to(GROUP, ORDER)), timeout=STEP, after=mark)
    actions = [
        b["callback_data"] for row in case.params["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert actions and all(a.startswith("rc:") for a in actions), actions
    assert case.params.get("message_thread_id")  # the customer's topic at the desk
    assert api.topic(GROUP, case.params["message_thread_id"]).name == "Ann"

    await bot.stop(signal.SIGTERM)
