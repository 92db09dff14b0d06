"""Async engine and session factory. SQLite runs in WAL mode with a busy timeout.

No NUL character reaches the database: PostgreSQL's text types cannot hold one ("invalid
byte sequence for encoding UTF8: 0x00") and would lose the whole row, e.g. a customer's
message. Every engine replaces NUL with U+FFFD, in every string parameter of every statement
and inside every JSON value, on both databases alike. The replacement is one UTF-16 code
unit, as NUL is, so Telegram's entity offsets into a stored text stay right.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 5000
SQLITE_POOL_TIMEOUT_S = 30
NUL = "\x00"
NUL_REPLACEMENT = "\ufffd"


def without_nul(value: Any) -> Any:
    """`value` with NUL replaced in every string, also inside dicts, lists and tuples."""
    if isinstance(value, str):
        return value.replace(NUL, NUL_REPLACEMENT) if NUL in value else value
    if isinstance(value, Mapping):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, tuple):
        return tuple(without_nul(v) for v in value)
    return value


def _json_serializer(value: Any) -> str:
    encoded = json.dumps(value)
    if "\\u0000" not in encoded:  # the common case: nothing to clean, encode once
        return encoded
    return json.dumps(without_nul(value))


def _strip_nul_parameters(
    _conn: Any,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    _executemany: bool,
) -> tuple[str, Any]:
    return statement, without_nul(parameters)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable with WAL except on power loss
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def create_engine(url: str, *, echo: bool = False, hide_parameters: bool = True) -> AsyncEngine:
    """Create the engine; for a SQLite file, create its folder first.

    Statement parameters are what customers wrote: by default they stay out of SQLAlchemy's
    log and out of its error messages (which end up in the logs when an update fails).
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {
        "echo": echo,
        "hide_parameters": hide_parameters,
        "json_serializer": _json_serializer,
    }
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer at a time. One connection serialises work in the pool's
        # queue instead of in lock retries across many aiosqlite threads (measured: 2.3x
        # the throughput under 50 concurrent updates, see docs/BENCHMARKS.md). The price:
        # code must never hold a transaction open while it waits on Telegram; the domain
        # functions commit or roll back before they return, and a test checks it.
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=SQLITE_POOL_TIMEOUT_S)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "before_cursor_execute", _strip_nul_parameters, retval=True)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
