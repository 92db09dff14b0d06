"""Migrations: the stairway (up, down, up) works, and the models match the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.base import Base
from storage.migrate import alembic_config, downgrade, upgrade


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
