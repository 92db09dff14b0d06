"""Logs carry ids, not what customers wrote or who they are: not when an update fails,
and not from the database drivers at DEBUG unless LOG_SQL asks for SQL."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import ClientDecodeError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Message
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import main
from bot.app import App, create_bot, create_sender
from bot.config import Settings
from bot.local import LocalSession
from bot.logs import JsonFormatter
from bot.polling import InboxPoller
from storage import outbox
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import OutboxMessage, User
from storage.outbox import Claimed
from support import assistant
from tests.conftest import T0, MakeClient

NAME = "Meihua"
WORDS = "please send it to 7 Rose Lane"


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(r) for r in caplog.records)


async def test_an_update_that_cannot_be_read_is_logged_without_its_content(
    app: App, caplog: pytest.LogCaptureFixture, restore_logging: None
) -> None:
    payload = {"message": {"text": WORDS, "from": {"id": 4242, "first_name": NAME}}}
    poller = InboxPoller(
        Dispatcher(),
        create_bot(app.settings, session=LocalSession()),
        app.session_factory,
        clock=app.clock,
    )
    main.configure_logging(app.settings.model_copy(update={"log_level": "DEBUG"}))
    caplog.set_level(logging.DEBUG)
    await poller.handle(31, payload)

    logged = _everything_logged(caplog)
    assert "update 31 failed" in logged and "message.chat" in logged
    assert NAME not in logged and WORDS not in logged


@pytest.fixture
def restore_logging() -> Iterator[None]:
    names = ("", "aiosqlite", "sqlalchemy", "sqlalchemy.engine", "alembic.runtime.plugins")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_a_failed_update_is_logged_with_ids_not_the_customers_name_or_words(
    make_client: MakeClient,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    restore_logging: None,
) -> None:
    async def failing(session: AsyncSession, *, user_id: int, text: str, **_: Any) -> None:
        # A database error: SQLAlchemy would quote the statement's parameters in it.
        session.add(User(id=user_id, first_name=text, first_seen=T0, last_seen=T0))
        await session.flush()

    monkeypatch.setattr(assistant, "ask", failing)
    client = make_client(user_id=4242, first_name=NAME)
    main.configure_logging(settings.model_copy(update={"log_level": "DEBUG"}))
    caplog.set_level(logging.DEBUG)
    replies = await client.send(WORDS)
    assert replies and replies[0].text  # the customer is told something went wrong

    logged = _everything_logged(caplog)
    assert "IntegrityError" in logged  # the failure itself is there, with its traceback
    assert "update 1000000 " in logged and "4242" in logged  # update id, user id
    assert NAME not in logged
    assert WORDS not in logged


async def test_debug_logging_leaves_sql_parameters_out_unless_log_sql(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, restore_logging: None
) -> None:
    async def query_with(settings: Settings) -> str:
        main.configure_logging(settings)
        caplog.clear()
        engine = create_engine(settings.database_url)
        await upgrade(engine)
        async with create_session_factory(engine)() as session:
            await session.scalar(select(User.id).where(User.first_name == WORDS))
        await engine.dispose()
        return _everything_logged(caplog)

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    base = Settings(_env_file=None, bot_token="123456:T", database_url=url, log_level="DEBUG")
    caplog.set_level(logging.DEBUG)
    assert WORDS not in await query_with(base)
    asked = await query_with(base.model_copy(update={"log_sql": True}))
    assert "SELECT users.id" in asked


def test_json_log_lines_hold_one_record_each_with_its_traceback() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logging.LogRecord(
            "bot.sender", logging.ERROR, __file__, 1, "row %s failed", (7,), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bot.sender"
    assert entry["message"] == "row 7 failed"
    assert entry["time"].endswith("+00:00")
    assert (
        entry["exc_info"].startswith("Traceback") and "ValueError: bad\nthing" in entry["exc_info"]
    )
    plain = json.loads(JsonFormatter().format(logging.LogRecord("x", 20, "", 1, "ok", (), None)))
    assert set(plain) == {"time", "level", "logger", "message"}


def test_log_format_json_makes_every_line_of_a_command_json(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env = {
        **clean,
        "LOG_FORMAT": "json",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
    }
    done = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(Path(main.__file__)), "db", "upgrade"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines, "db upgrade logs the migrations it runs"
    entries = [json.loads(line) for line in lines]
    assert any(e["logger"] == "alembic.runtime.migration" for e in entries)


class GarbledUpdates(LocalSession):
    """getUpdates answers a batch aiogram cannot read (a message without its chat)."""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's BaseSession signature)
    ) -> Any:
        if isinstance(method, GetUpdates):
            message = {"message_id": 1, "date": 1, "text": WORDS,
                       "from": {"id": 4242, "is_bot": False, "first_name": NAME}}  # fmt: skip
            body = {"ok": True, "result": [{"update_id": 5, "message": message}]}
            return self.check_response(bot, method, 200, json.dumps(body)).result
        return await super().make_request(bot, method, timeout)


async def test_a_batch_that_cannot_be_read_is_logged_without_its_content(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """aiogram's decode error quotes the whole getUpdates answer: every customer's name and
    words in the batch."""
    bot = create_bot(app.settings, session=GarbledUpdates())
    poller = InboxPoller(Dispatcher(), bot, app.session_factory, clock=app.clock)
    caplog.set_level(logging.ERROR)
    polling = asyncio.create_task(poller.run())
    try:
        for _ in range(200):
            if "getUpdates failed" in caplog.text:
                break
            await asyncio.sleep(0.01)
    finally:
        polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)
        await bot.session.close()
    logged = _everything_logged(caplog)
    assert "getUpdates failed" in logged and "message.chat" in logged
    assert NAME not in logged and WORDS not in logged


async def test_a_send_whose_answer_cannot_be_read_is_logged_without_the_message(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """The answer to a relay holds the customer's words; aiogram's decode error quotes it."""
    answer = {"ok": True, "result": {"message_id": 1, "text": WORDS, "date": "soon"}}
    try:
        Message.model_validate(answer["result"])
    except ValidationError as exc:
        unreadable = ClientDecodeError("Failed to deserialize object", exc, answer)
    bot = create_bot(app.settings, session=LocalSession())
    sender = create_sender(app, bot, topics=False)

    async def deliver(row: Claimed) -> None:
        raise unreadable

    sender.route("t", deliver)
    async with app.session_factory() as session:
        await outbox.enqueue(session, kind="t", lane="u:1", chat_id=1, now=app.clock())
        await session.commit()
    caplog.set_level(logging.INFO)  # aiosqlite's DEBUG lines are LOG_SQL's business
    assert await sender.run_once() == 1
    await bot.session.close()
    logged = _everything_logged(caplog)
    assert "ClientDecodeError" in logged and "date" in logged
    assert WORDS not in logged
    async with app.session_factory() as session:
        [error] = (await session.scalars(select(OutboxMessage.last_error))).all()
    assert error is not None and "ClientDecodeError" in error and WORDS not in error
