"""End to end: `python main.py run` as a real process, long-polling a local fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fake_bot_api import Call, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]
USER = 555_000_111


def _env(api_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(
        BOT_TOKEN="123456:TEST",
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token="123456:TEST") as fake:
        yield fake


async def _run_bot(api: FakeBotAPI, tmp_path: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "main.py"),
        "run",
        cwd=tmp_path,  # no stray .env; the SQLite file lands in tmp_path
        env=_env(api.url, tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _to(chat_id: int, needle: str) -> object:
    return lambda c: c.params.get("chat_id") == chat_id and needle in str(c.params.get("text"))


async def test_a_customer_dialogue_over_http(api: FakeBotAPI, tmp_path: Path) -> None:
    bot = await _run_bot(api, tmp_path)
    try:
        await api.wait_for("getUpdates", timeout=60)
        api.push_update(api.user_message(USER, "/start", first_name="Ann"))
        await api.wait_for("sendMessage", _to(USER, "Hi Ann"))  # type: ignore[arg-type]

        api.push_update(api.user_message(USER, "how do I return this"))
        answer: Call = await api.wait_for("sendMessage", _to(USER, "Return"))  # type: ignore[arg-type]
        buttons = answer.params["reply_markup"]["inline_keyboard"][0]
        assert [b["text"] for b in buttons] == ["👍 Helpful", "👎 Not helpful"]

        api.push_update(api.callback_query(USER, buttons[0]["callback_data"], answer.result))
        toast = await api.wait_for("answerCallbackQuery")
        assert toast.params["text"] == "Thanks for the feedback! 🙏"

        api.push_update(api.user_message(USER, "170cm 65kg what size?"))
        await api.wait_for("sendMessage", _to(USER, "we suggest size"))  # type: ignore[arg-type]

        api.push_update(api.user_message(USER, "转人工", language_code="zh"))
        await api.wait_for("sendMessage", _to(USER, "#1"))  # type: ignore[arg-type]
        assert {"getMe", "setMyCommands"} <= {c.method for c in api.calls}
    finally:
        bot.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(bot.communicate(), timeout=30)
    log = stderr.decode()
    assert "Traceback" not in log, log
    assert bot.returncode == 0, log


async def test_run_without_a_token_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "main.py"),
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1
    assert "BOT_TOKEN is not set" in lines[0] and "python main.py shell" in lines[0]
