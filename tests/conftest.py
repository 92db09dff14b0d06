"""Fixtures: databases (SQLite always, PostgreSQL when TEST_POSTGRES_URL or --postgres is
given), the shipped FAQ, and the production Dispatcher driven through a local session."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.app import (
    App,
    campaign_policy,
    community_policy,
    create_bot,
    create_dispatcher,
    desk_policy,
)
from bot.config import DEFAULT_FAQ_PATH, Settings
from bot.local import ChatClient, LocalSession
from faq import KnowledgeBase, LiveMatcher, Matcher, load_kb
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade
from views.texts import Catalogue

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai

# Processes the tests start (the bot, `faq eval`) share one embedding cache, so the shipped
# FAQ is embedded once per machine, not once per test.
os.environ.setdefault(
    "FAQ_EMBEDDING_CACHE", str(Path(tempfile.gettempdir()) / "shopbot-test-embeddings")
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        default=os.environ.get("TEST_POSTGRES_URL"),
        help="postgresql+asyncpg://… URL: also run the storage and domain tests there",
    )
    parser.addoption(
        "--redis",
        default=os.environ.get("TEST_REDIS_URL"),
        help="redis://… URL of a throwaway server (flushed by the tests): run the Redis tests",
    )


def _postgres_url(config: pytest.Config) -> str | None:
    """The PostgreSQL database of this test process: under pytest-xdist (`-n`) each worker
    has its own (`<name>_gw0`, ...), as tests drop and recreate the schema."""
    url: str | None = config.getoption("--postgres")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base = make_url(url)
    return base.set(database=f"{base.database or 'postgres'}_{worker}").render_as_string(
        hide_password=False
    )


async def _create_database(url: str) -> None:
    target = make_url(url)
    engine = create_async_engine(
        target.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with engine.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        await engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    url = _postgres_url(config)
    if url and os.environ.get("PYTEST_XDIST_WORKER"):
        asyncio.run(_create_database(url))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # `db_url` runs a test on SQLite and, when a server is given, on PostgreSQL too.
    if "db_url" in metafunc.fixturenames:
        params = [pytest.param("sqlite", id="sqlite")]
        pg = _postgres_url(metafunc.config)
        params.append(
            pytest.param(pg, id="postgres")
            if pg
            else pytest.param(
                None,
                id="postgres",
                marks=pytest.mark.skip(reason="no --postgres / TEST_POSTGRES_URL"),
            )
        )
        metafunc.parametrize("db_url", params)


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def _redis_url(config: pytest.Config) -> str | None:
    """The Redis database of this test process: under pytest-xdist each worker flushes its
    own (gw0 -> /1, gw1 -> /2, ...), not the others'."""
    url: str | None = config.getoption("--redis")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker.startswith("gw"):
        return url
    base, _, _ = url.partition("?")
    head, _, last = base.rstrip("/").rpartition("/")
    prefix = head if last.isdigit() and head.count("/") >= 2 else base.rstrip("/")
    return f"{prefix}/{int(worker[2:]) + 1}"


@pytest.fixture
async def redis_url(pytestconfig: pytest.Config) -> AsyncIterator[str]:
    """A throwaway Redis (CI always starts one: .ci/redis.sh), emptied before and after."""
    url = _redis_url(pytestconfig)
    if not url:
        pytest.skip("no --redis / TEST_REDIS_URL")
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.flushdb()
        yield url
        await client.flushdb()
    finally:
        await client.aclose()


@pytest.fixture
async def engine(db_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if db_url == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    else:
        await _reset_postgres(db_url)
        url = db_url
    eng = create_engine(url)
    await upgrade(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_kb(DEFAULT_FAQ_PATH)


@pytest.fixture(scope="session")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


def live(kb: KnowledgeBase, matcher: Matcher) -> LiveMatcher:
    """A live matcher over the session's shared one; what it learns builds a new one."""
    return LiveMatcher(kb, lambda merged: matcher if merged is kb else Matcher(merged))


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue()


class Clock:
    """A settable clock: tests move time explicitly."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        bot_token="123456:TEST",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        admin_ids=(900,),
        flood_max_messages=1000,
    )


@pytest.fixture
async def app(
    settings: Settings, kb: KnowledgeBase, matcher: Matcher, catalogue: Catalogue, clock: Clock
) -> AsyncIterator[App]:
    eng = create_engine(settings.database_url)
    await upgrade(eng)
    application = App(
        settings=settings,
        engine=eng,
        session_factory=create_session_factory(eng),
        kb=kb,
        matcher=live(kb, matcher),
        catalogue=catalogue,
        desk=desk_policy(settings),
        community=community_policy(settings),
        campaigns=campaign_policy(settings),
        clock=clock,
    )
    yield application
    await application.close()


MakeClient = Callable[..., ChatClient]


@pytest.fixture
async def make_client(app: App) -> AsyncIterator[MakeClient]:
    """Build customers chatting with one production Dispatcher."""
    # SQLite runs on one pooled connection: holding a transaction while waiting on Telegram
    # would stall every other update. Every request the bot makes is checked for that.
    held: list[str] = []
    pool = app.engine.sync_engine.pool

    def no_transaction_held(method: object) -> None:
        if pool.checkedout():  # type: ignore[attr-defined]
            held.append(type(method).__name__)

    local = LocalSession(on_request=no_transaction_held)
    bot = create_bot(app.settings, session=local)
    dp = create_dispatcher(app)
    # Distinct update ids per client, as Telegram's are unique per bot.
    starts = iter(range(1_000_000, 100_000_000, 100_000))

    def make(**kwargs: object) -> ChatClient:
        return ChatClient(dp, bot, local, first_update_id=next(starts), **kwargs)  # type: ignore[arg-type]

    yield make
    await bot.session.close()
    assert held == [], f"Telegram called while a DB connection was held: {held}"


@pytest.fixture
def client(make_client: MakeClient) -> ChatClient:
    return make_client()
