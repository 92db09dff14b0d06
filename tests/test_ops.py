"""Operations: /healthz, /readyz and /metrics through a real HTTP server, and the counters
moving when the production Dispatcher handles updates and the sender sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import GetMe, SendMessage
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import bot.app
from bot.app import App, create_bot, create_sender, ops_routes, start_http
from bot.config import ConfigError, load_settings
from bot.http import create_http_app
from bot.local import LocalSession
from bot.ops import (
    Backlog,
    Readiness,
    TelegramCheck,
    add_ops_routes,
    count_backlog,
    database_check,
)
from storage import outbox
from storage.engine import create_engine, create_session_factory
from storage.models import InboxUpdate, Ticket, User
from storage.outbox import Claimed
from support import assistant
from tests.conftest import T0, MakeClient

Client = TestClient[Any, Any]


@pytest.fixture
def local() -> LocalSession:
    return LocalSession()


@pytest.fixture
async def http(app: App, local: LocalSession) -> AsyncIterator[Client]:
    bot = create_bot(app.settings, session=local)
    web_app = create_http_app()
    add_ops_routes(web_app, ops_routes(app, bot))
    async with TestClient(TestServer(web_app)) as c:
        yield c
    await bot.session.close()


def sample(app: App, name: str, **labels: str) -> float:
    value = app.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_healthz_answers_while_the_process_serves(http: Client) -> None:
    r = await http.get("/healthz")
    assert r.status == 200
    assert await r.json() == {"status": "ok"}


async def test_readyz_checks_the_database_and_the_bot_api_and_caches_a_success(
    http: Client, local: LocalSession
) -> None:
    r = await http.get("/readyz")
    assert r.status == 200
    assert await r.json() == {"database": "ok", "telegram": "ok"}
    # A probe every few seconds is not a getMe every few seconds.
    await http.get("/readyz")
    assert len(local.sent(GetMe)) == 1


async def test_readyz_is_503_naming_the_bot_api_when_telegram_fails(
    app: App, local: LocalSession
) -> None:
    bot = create_bot(app.settings, session=local)
    local.fail_next("getMe", TelegramNetworkError(GetMe(), "ClientConnectorError: secret-host"))
    web_app = create_http_app()
    add_ops_routes(web_app, ops_routes(app, bot))
    async with TestClient(TestServer(web_app)) as c:
        r = await c.get("/readyz")
        assert r.status == 503
        assert await r.json() == {"database": "ok", "telegram": "failed"}
        assert "secret-host" not in await r.text()
        again = await c.get("/readyz")  # a failure is not cached: the next probe asks again
        assert again.status == 200
    assert len(local.sent(GetMe)) == 2
    await bot.session.close()


async def test_readyz_and_metrics_when_the_database_is_gone(
    app: App, tmp_path: Path, local: LocalSession
) -> None:
    folder = tmp_path / "missing.db"  # a folder where the database file should be
    folder.mkdir()
    gone = create_engine(f"sqlite+aiosqlite:///{folder}")
    ops = ops_routes(app, create_bot(app.settings, session=local))
    ops.readiness.add("database", database_check(gone))
    ops.sessions = create_session_factory(gone)
    web_app = create_http_app()
    add_ops_routes(web_app, ops)
    async with TestClient(TestServer(web_app)) as c:
        r = await c.get("/readyz")
        assert r.status == 503
        assert await r.json() == {"database": "failed", "telegram": "ok"}
        assert "missing" not in await r.text()
        m = await c.get("/metrics")
        assert m.status == 200
        text = await m.text()
        assert "shopbot_database_up 0.0" in text
        assert "shopbot_outbox_depth" not in text  # not counted: absent, not a false 0
        assert "shopbot_sends_total" in text  # the process's own counters still there
    await gone.dispose()


async def test_a_slow_check_is_a_timeout_not_a_hung_probe() -> None:
    async def never() -> None:
        import asyncio

        await asyncio.sleep(60)

    readiness = Readiness(timeout=0.05)
    readiness.add("redis", never)
    assert await readiness.run() == {"redis": "timeout"}


async def test_the_bot_api_check_asks_again_once_its_success_is_old(local: LocalSession) -> None:
    now = [0.0]
    bot = create_bot(load_settings(_env_file=None, bot_token="123456:TEST"), session=local)
    check = TelegramCheck(bot, ttl=30, clock=lambda: now[0])
    await check()
    now[0] = 29
    await check()
    assert len(local.sent(GetMe)) == 1
    now[0] = 31
    await check()
    assert len(local.sent(GetMe)) == 2
    await bot.session.close()


async def test_metrics_show_the_backlog_counted_in_the_database(app: App, http: Client) -> None:
    async with app.session_factory() as session:
        await _backlog(session)
    r = await http.get("/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = await r.text()
    for family in (
        "shopbot_updates_total",
        "shopbot_update_handling_seconds",
        "shopbot_sends_total",
        "shopbot_faq_outcomes_total",
        "shopbot_inbox_depth",
        "shopbot_outbox_depth",
        "shopbot_tickets_open",
        "shopbot_tickets_past_sla",
    ):
        assert f"# TYPE {family.removesuffix('_total')}" in text, family
    assert 'shopbot_inbox_depth{status="pending"} 1.0' in text
    assert 'shopbot_outbox_depth{status="pending"} 2.0' in text
    assert "shopbot_tickets_open 2.0" in text
    assert "shopbot_tickets_past_sla 1.0" in text
    assert "shopbot_database_up 1.0" in text
    assert 'shopbot_sends_total{result="429"} 0.0' in text


async def _backlog(session: AsyncSession) -> None:
    """One update pending, two rows to send, two tickets open of which one waits past its
    first-response target (the App's clock says T0), one closed."""
    session.add(InboxUpdate(update_id=1, payload={}, status="pending", received_at=T0))
    session.add(InboxUpdate(update_id=2, payload=None, status="done", received_at=T0))
    tickets = {5: ("waiting", T0 - timedelta(minutes=5)), 6: ("new", T0 + timedelta(hours=1)),
               7: ("closed", T0 - timedelta(hours=1))}  # fmt: skip
    for user_id, (state, due) in tickets.items():
        session.add(User(id=user_id, first_name="A", first_seen=T0, last_seen=T0))
        await session.flush()
        session.add(Ticket(user_id=user_id, reason="button", lang="en", state=state,
                           opened_at=T0, sla_due_at=due))  # fmt: skip
    await outbox.enqueue(session, kind="t", lane="u:1", chat_id=1, now=T0)
    await outbox.enqueue(session, kind="t", lane="u:2", chat_id=2, now=T0)
    await session.commit()


async def test_updates_and_faq_outcomes_are_counted_by_the_production_dispatcher(
    app: App, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(user_id=4242)
    await client.send("how do I return this")
    assert sample(app, "shopbot_updates_total", update_type="message", outcome="ok") == 1
    assert sample(app, "shopbot_faq_outcomes_total", outcome="answer") == 1

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the matcher broke")

    monkeypatch.setattr(assistant, "ask", broken)
    await client.send("and the shipping?")  # the errors router apologises; it still failed
    assert sample(app, "shopbot_updates_total", update_type="message", outcome="failed") == 1
    assert sample(app, "shopbot_update_handling_seconds_count", update_type="message") == 2
    assert sample(app, "shopbot_faq_outcomes_total", outcome="answer") == 1


async def test_sends_are_counted_by_result(app: App, local: LocalSession) -> None:
    bot = create_bot(app.settings, session=local)
    sender = create_sender(app, bot, topics=False)

    async def deliver(row: Claimed) -> None:
        assert row.chat_id is not None
        await bot.send_message(row.chat_id, "hello")

    sender.route("t", deliver)
    method = SendMessage(chat_id=1, text="hello")
    local.fail_next("sendMessage", TelegramRetryAfter(method, "Too Many Requests", 1))
    local.fail_next("sendMessage", TelegramForbiddenError(method, "bot was blocked by the user"))
    async with app.session_factory() as session:
        for chat in (1, 2, 3):
            await outbox.enqueue(session, kind="t", lane=f"u:{chat}", chat_id=chat, now=T0)
        await session.commit()
    assert await sender.run_once() == 3
    counts = {r: sample(app, "shopbot_sends_total", result=r) for r in ("ok", "429", "403")}
    assert counts == {"ok": 1, "429": 1, "403": 1}
    assert sample(app, "shopbot_sends_total", result="error") == 0
    await bot.session.close()


async def test_a_taken_default_port_is_a_warning_a_chosen_one_an_error(
    app: App, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two bots on one machine: the second runs without probes rather than not at all,
    unless HTTP_PORT was set on purpose or the orders API needs the server."""
    first = await start_http(replace(app, settings=load_settings(_env_file=None, http_port=0)))
    assert first is not None
    try:
        # The default port (8080) taken: here, the first server's port stands for it.
        monkeypatch.setattr(bot.app, "HTTP_DEFAULTS", ("127.0.0.1", first.port))
        default = load_settings(_env_file=None, http_port=first.port)  # as .env.example says
        with caplog.at_level("WARNING"):
            assert await start_http(replace(app, settings=default)) is None
        assert "running without /healthz, /readyz and /metrics" in caplog.text
        monkeypatch.undo()
        chosen = load_settings(_env_file=None, http_port=first.port)
        with pytest.raises(ConfigError, match="HTTP_HOST / HTTP_PORT: cannot listen on"):
            await start_http(replace(app, settings=chosen))
    finally:
        await first.stop()


async def test_the_backlog_is_counted_on_every_database(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await _backlog(session)
    counted = await count_backlog(session_factory, T0, seconds=2)
    assert counted == Backlog(
        inbox_pending=1, outbox={"pending": 2, "sending": 0}, tickets_open=2, tickets_past_sla=1
    )
