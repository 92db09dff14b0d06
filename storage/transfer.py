"""Copy a whole database to another, empty one: how a shop moves from SQLite to PostgreSQL
(`python main.py db copy --to URL`, docs/deploy.md).

- The source must be at the latest migration (`db upgrade` first); the target is migrated
  to it here, then must hold no rows at all: a copy never merges into live data.
- Tables go parents before children (the metadata's foreign-key order), each read in
  primary-key order in chunks and written through the same table definitions, so values
  convert as the app itself would write them (UTC times, JSON, 64-bit ids).
- Everything is written in one transaction on the target: a failed copy leaves it empty.
- On PostgreSQL the id sequences are moved past the copied ids, or the next insert would
  collide with a copied row.
- Row counts are compared at the end; the source is only read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Integer, Table, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage import models  # noqa: F401  (registers every table on Base.metadata)
from storage.base import Base
from storage.migrate import alembic_config, upgrade

CHUNK = 1000


class CopyRefused(Exception):
    """The copy cannot start (or did not add up); the message says why, for a person."""


@dataclass(frozen=True, slots=True)
class Copied:
    table: str
    rows: int


def tables() -> list[Table]:
    """Every table the app owns, parents before children."""
    return list(Base.metadata.sorted_tables)


async def _count(conn: AsyncConnection, table: Table) -> int:
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def _copy_table(src: AsyncConnection, dst: AsyncConnection, table: Table, chunk: int) -> int:
    order = list(table.primary_key.columns)
    copied = 0
    result = await src.stream(select(table).order_by(*order))
    async for rows in result.partitions(chunk):
        await dst.execute(table.insert(), [dict(row._mapping) for row in rows])
        copied += len(rows)
    return copied


async def _advance_sequences(dst: AsyncConnection) -> None:
    """PostgreSQL: each serial/identity id continues after the largest copied id."""
    for table in tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        seq = (
            await dst.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": table.name, "c": pk[0].name},
            )
        ).scalar_one()
        if seq is None:
            continue
        top = select(func.max(pk[0])).scalar_subquery()
        await dst.execute(select(func.setval(seq, func.coalesce(top, 0) + 1, False)))


async def copy_database(
    source: AsyncEngine,
    target: AsyncEngine,
    *,
    chunk: int = CHUNK,
    progress: Callable[[Copied], None] | None = None,
) -> list[Copied]:
    """Copy every row of `source` into the empty `target`; see the module's rules."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with source.connect() as src:
        at = await src.run_sync(_current)
    if at != head:
        raise CopyRefused(
            f"the source database is at migration {at or 'none'}, not the latest ({head}): "
            "run `python main.py db upgrade` on it first"
        )
    await upgrade(target)
    async with target.connect() as dst:
        for table in tables():
            if await _count(dst, table):
                raise CopyRefused(
                    f"the target database already has rows (table {table.name}): "
                    "copy only into an empty database"
                )
    done: list[Copied] = []
    async with source.connect() as src, target.begin() as dst:
        for table in tables():
            copied = Copied(table.name, await _copy_table(src, dst, table, chunk))
            done.append(copied)
            if progress is not None:
                progress(copied)
        if dst.dialect.name == "postgresql":
            await _advance_sequences(dst)
        for table, item in zip(tables(), done, strict=True):
            if await _count(dst, table) != item.rows or await _count(src, table) != item.rows:
                raise CopyRefused(f"table {table.name}: row counts differ after the copy")
    return done


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()
