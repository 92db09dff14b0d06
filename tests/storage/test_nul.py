"""NUL characters never cost a row: every engine replaces them with U+FFFD before storage.

PostgreSQL's text types cannot hold NUL at all (the INSERT fails and the customer's message
would be lost); SQLite could, but both databases store the same thing.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import inbox, outbox
from storage.models import OutboxMessage, Ticket, TicketMessage, User
from tests.conftest import T0

R = "\ufffd"  # U+FFFD REPLACEMENT CHARACTER


def test_without_nul_cleans_nested_values_and_keeps_others() -> None:
    from storage.engine import without_nul

    value = {"a\x00": ["b\x00c", ("\x00",), 1, None, 2.5, True], "n": b"\x00"}
    assert without_nul(value) == {f"a{R}": [f"b{R}c", (R,), 1, None, 2.5, True], "n": b"\x00"}
    assert without_nul("plain") == "plain"


async def test_orm_rows_with_nul_are_stored_with_a_replacement(session: AsyncSession) -> None:
    session.add(User(id=5_000_000_001, first_name="Li\x00n", first_seen=T0, last_seen=T0))
    await session.flush()
    ticket = Ticket(
        user_id=5_000_000_001, reason="ask", lang="zh", opened_at=T0, question="q\x00?"
    )
    session.add(ticket)
    await session.flush()
    entities = [{"type": "bold", "offset": 2, "length": 3, "note\x00": "x\x00"}]
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            direction="in",
            kind="text",
            text="ab\x00cd",
            entities=entities,
            created_at=T0,
        )
    )
    await session.commit()
    session.expunge_all()

    user = await session.get(User, 5_000_000_001)
    assert user is not None and user.first_name == f"Li{R}n"
    row = await session.scalar(select(TicketMessage))
    assert row is not None
    # One UTF-16 unit for one: Telegram's entity offsets still point at the same text.
    assert row.text == f"ab{R}cd" and len(row.text) == 5
    assert row.entities == [{"type": "bold", "offset": 2, "length": 3, f"note{R}": f"x{R}"}]
    stored = await session.scalar(select(Ticket.question))
    assert stored == f"q{R}?"


async def test_raw_updates_and_outbox_payloads_with_nul_are_stored(
    session: AsyncSession,
) -> None:
    update = {"update_id": 1, "message": {"text": "hi\x00", "from": {"first_name": "\x00"}}}
    assert await inbox.store(session, [(1, update)], now=T0) == [1]
    [(uid, payload)] = await inbox.pending(session)
    assert uid == 1 and payload["message"] == {"text": f"hi{R}", "from": {"first_name": R}}

    row_id = await outbox.enqueue(session, kind="text", lane="l", now=T0, payload={"t": "\x00"})
    await session.commit()
    stored = await session.scalar(select(OutboxMessage.payload).where(OutboxMessage.id == row_id))
    assert stored == {"t": R}
    # The stored JSON is usable by the database itself (PostgreSQL refuses to turn a
    # \u0000 escape into text).
    dialect = session.get_bind().dialect.name
    extract = "payload->>'t'" if dialect == "postgresql" else "json_extract(payload, '$.t')"
    assert await session.scalar(text(f"SELECT {extract} FROM outbox")) == R  # noqa: S608


async def test_plain_sql_parameters_with_nul_are_cleaned_too(session: AsyncSession) -> None:
    session.add(User(id=7, first_name="x", first_seen=T0, last_seen=T0))
    await session.commit()
    stmt = text("UPDATE users SET first_name = :name WHERE id = 7").bindparams(
        bindparam("name", "A\x00B")
    )
    await session.execute(stmt)
    await session.commit()
    assert await session.scalar(select(User.first_name).where(User.id == 7)) == f"A{R}B"
