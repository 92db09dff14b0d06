"""`python main.py db copy --to URL`: a SQLite shop moves to PostgreSQL (or another file)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import outbox
from storage.engine import create_engine, create_session_factory
from storage.migrate import downgrade, upgrade
from storage.models import Order, OutboxMessage, User
from storage.transfer import CopyRefused, copy_database, tables

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)


async def shop(path: Path, *, users: int = 5, messages: int = 2_500) -> AsyncEngine:
    """A small shop's SQLite database: users, an order with events, an outbox of messages
    (more than one chunk)."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    async with create_session_factory(engine)() as s:
        for i in range(users):
            s.add(User(id=10_000_000_000 + i, first_name=f"客户{i}", first_seen=T0, last_seen=T0))
        s.add(
            Order(
                order_id="A-1001",
                telegram_id=10_000_000_000,
                phone="8613800000000",
                status="shipped",
                items="T恤 x1",
                amount_minor=12_900,
                currency="CNY",
                paid_at=T0,
                events=[{"at": "2026-11-30T08:30:00+00:00", "text": "已揽收"}],
                created_at=T0,
                updated_at=T0,
            )
        )
        await s.flush()
        for i in range(messages):
            await outbox.enqueue(
                s, kind="t", lane=f"u:{i % 50}", chat_id=i % 50, now=T0, payload={"n": i}
            )
        await s.commit()
    return engine


async def counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            t.name: int((await conn.execute(select(func.count()).select_from(t))).scalar_one())
            for t in tables()
        }


async def test_a_copy_carries_every_row_and_value_and_new_ids_follow_on(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    source = await shop(tmp_path / "shop.db")
    seen: list[str] = []
    done = await copy_database(source, engine, chunk=1000, progress=lambda c: seen.append(c.table))
    assert await counts(engine) == await counts(source)
    assert {c.table: c.rows for c in done}["outbox"] == 2_500
    assert seen == [t.name for t in tables()]
    async with create_session_factory(engine)() as s:
        order = await s.get(Order, "A-1001")
        assert order is not None and order.paid_at == T0 and order.items == "T恤 x1"
        assert order.events == [{"at": "2026-11-30T08:30:00+00:00", "text": "已揽收"}]
        user = await s.get(User, 10_000_000_004)  # a 64-bit Telegram id
        assert user is not None and user.first_name == "客户4"
        # The next message gets a fresh id: the id sequence continued past the copied ones.
        new_id = await outbox.enqueue(s, kind="t", lane="u:new", chat_id=1, now=T0)
        await s.commit()
        assert (await s.scalar(select(func.max(OutboxMessage.id)))) == 2_501
        assert new_id is not None
    await source.dispose()


async def test_a_copy_refuses_a_target_that_has_data(engine: AsyncEngine, tmp_path: Path) -> None:
    source = await shop(tmp_path / "shop.db", messages=3)
    async with create_session_factory(engine)() as s:
        s.add(User(id=1, first_name="live", first_seen=T0, last_seen=T0))
        await s.commit()
    with pytest.raises(CopyRefused, match="table users"):
        await copy_database(source, engine)
    assert (await counts(engine))["outbox"] == 0  # nothing written
    await source.dispose()


async def test_a_copy_refuses_a_source_behind_the_latest_migration(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    source = await shop(tmp_path / "shop.db", messages=0)
    await downgrade(source, "-1")
    with pytest.raises(CopyRefused, match="db upgrade"):
        await copy_database(source, engine)
    await source.dispose()


@pytest.mark.timeout(300)  # three processes; each imports the whole app
async def test_db_copy_from_the_command_line(tmp_path: Path) -> None:
    source = await shop(tmp_path / "shop.db", messages=10)
    await source.dispose()
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    target = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"

    def copy(to: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 (our own command line)
            [sys.executable, str(ROOT / "main.py"), "db", "copy", "--to", to],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    ok = copy(target)
    assert ok.returncode == 0, ok.stderr
    assert "outbox: 10" in ok.stdout and "copied 16 rows" in ok.stdout
    again = copy(target)  # the target now has data
    assert again.returncode == 2
    assert "copy only into an empty database" in again.stderr
    assert "Traceback" not in again.stderr
    bad = copy("postgresql+asyncpg://shop:secret@127.0.0.1:1/none")
    assert bad.returncode == 2 and "--to" in bad.stderr
    assert "secret" not in bad.stderr and "Traceback" not in bad.stderr
