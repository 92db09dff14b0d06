"""Migrations: the stairway (up, down, up) works, and the models match the migrations."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.base import Base
from storage.migrate import alembic_config, downgrade, upgrade

ROOT = Path(__file__).resolve().parents[2]


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_stairway_up_down_up_every_revision(engine: AsyncEngine) -> None:
    revisions = _revisions()
    assert revisions, "no migrations found"
    await downgrade(engine, "base")
    assert await _tables(engine) <= {"alembic_version"}
    previous = "base"
    for rev in revisions:
        await upgrade(engine, rev)
        await downgrade(engine, previous)
        await upgrade(engine, rev)
        previous = rev
    assert set(Base.metadata.tables) <= await _tables(engine)


async def test_models_and_migrations_do_not_drift(engine: AsyncEngine) -> None:
    def diff(conn: Connection) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


async def test_orders_stored_with_json_null_events_become_sql_null(engine: AsyncEngine) -> None:
    # Before 3c8d5a1f7e42, an order without events was stored as the JSON text 'null'.
    await downgrade(engine, "9a4e2c7b5d13")
    async with engine.begin() as conn:
        for order_id, events in (("N1", "null"), ("N2", "[]"), ("N3", None)):
            await conn.execute(
                text(
                    "INSERT INTO orders (order_id, status, items, amount_minor, currency, "
                    "events, created_at, updated_at) VALUES (:id, 'paid', '', 1, 'CNY', "
                    ":events, :at, :at)"
                ),
                {"id": order_id, "events": events, "at": datetime(2026, 12, 1, tzinfo=UTC)},
            )
    await upgrade(engine, "3c8d5a1f7e42")
    async with engine.connect() as conn:
        missing = await conn.scalars(
            text("SELECT order_id FROM orders WHERE events IS NULL ORDER BY order_id")
        )
        assert list(missing) == ["N1", "N3"]
        indexes = await conn.run_sync(lambda c: inspect(c).get_indexes("order_links"))
    by_name = {i["name"]: i["column_names"] for i in indexes}
    assert by_name["ix_order_links_user_id"] == ["user_id"]


async def test_replicas_migrating_at_once_on_an_empty_database_all_succeed(
    engine: AsyncEngine, db_url: str
) -> None:
    # Replicas started together each migrate on start (as `db upgrade` does): the others
    # must wait for the first and find the schema at head, not die on a duplicate
    # alembic_version row. Real processes, as Alembic's context is one per process.
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite is used by one process: nothing to race")
    await downgrade(engine, "base")
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE alembic_version"))
    assert await _tables(engine) == set()
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"} | {"DATABASE_URL": db_url}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "main.py"),
            "db",
            "upgrade",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = await asyncio.gather(*(p.communicate() for p in procs))
    for proc, (out, _) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out.decode()
    async with engine.connect() as conn:
        versions = list(await conn.scalars(text("SELECT version_num FROM alembic_version")))
    assert versions == [_revisions()[-1]]
    assert set(Base.metadata.tables) <= await _tables(engine)
