"""A NUL character in what a customer sends costs nothing: the message is stored and relayed
on both databases (PostgreSQL refuses NUL in text; storage replaces it with U+FFFD)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.methods import CopyMessage
from sqlalchemy import select

from faq import KnowledgeBase, Matcher
from storage.models import TicketMessage, User
from tests.conftest import Clock, _reset_postgres
from tests.handlers.test_support_desk import CUSTOMER, SUPPORT, Desk, build_desk
from views.texts import Catalogue

R = "\ufffd"


@pytest.fixture
async def desk_on(
    db_url: str,
    tmp_path: Path,
    kb: KnowledgeBase,
    matcher: Matcher,
    catalogue: Catalogue,
    clock: Clock,
) -> AsyncIterator[Desk]:
    overrides: dict[str, str] = {}
    if db_url != "sqlite":
        await _reset_postgres(db_url)
        overrides["database_url"] = db_url
    async for d in build_desk(tmp_path, kb, matcher, catalogue, clock, **overrides):
        yield d


async def test_a_customer_message_with_nul_is_stored_and_relayed(desk_on: Desk) -> None:
    desk = desk_on
    desk.customer.user = desk.customer.user.model_copy(update={"first_name": "Li\x00n"})
    await desk.customer.send("/human")
    await desk.flush()

    assert await desk.customer.send("尺码\x00偏大吗") == []
    sent = await desk.flush()
    copies = [o.request for o in sent if isinstance(o.request, CopyMessage)]
    assert len(copies) == 1 and copies[0].chat_id == SUPPORT
    assert copies[0].from_chat_id == CUSTOMER

    async with desk.app.session_factory() as s:
        texts = (await s.scalars(select(TicketMessage.text))).all()
        user = await s.get(User, CUSTOMER)
    assert f"尺码{R}偏大吗" in texts
    assert user is not None and user.first_name == f"Li{R}n"
