"""Apply Alembic migrations from inside the app (on start and `python main.py db upgrade`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Replicas started together on one empty PostgreSQL database each migrate on start: the
# first to take this advisory lock migrates, the others wait for its commit and then find
# the schema at head (without it, one dies on a duplicate alembic_version row). SQLite is
# used by one process, so there is nothing to lock there.
MIGRATION_LOCK = 0x73686F706D6967  # "shopmig"


def take_migration_lock(conn: Connection) -> None:
    """Hold the migration lock until `conn`'s transaction ends (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def _run(engine: AsyncEngine, command_fn: Callable[[Config, str], None], rev: str) -> None:
    def on_connection(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command_fn(cfg, rev)

    async with engine.begin() as conn:
        # Taken before Alembic starts: it reads the current revision only once it holds it.
        await conn.run_sync(take_migration_lock)
        await conn.run_sync(on_connection)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to `revision` on the engine's database."""
    await _run(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Step the schema back to `revision` (the stairway test uses it)."""
    await _run(engine, command.downgrade, revision)
